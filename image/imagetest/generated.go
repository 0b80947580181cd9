package imagetest

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Generated returns an image of layers layers, each one file of size
// pseudo-random (incompressible, always the same) bytes, for linux on
// runtime.GOARCH. Its layers are uncompressed tar files in a temporary
// directory, so written as a docker-archive it has docker save's form
// (uncompressed layers), and large images cost disk, not memory.
func Generated(t testing.TB, layers int, size int64) v1.Image {
	t.Helper()
	dir := t.TempDir()
	var ls []v1.Layer
	for i := range layers {
		p := filepath.Join(dir, fmt.Sprintf("layer-%d.tar", i))
		f, err := os.Create(p)
		if err != nil {
			t.Fatalf("imagetest: %v", err)
		}
		d := sha256.New()
		tw := tar.NewWriter(io.MultiWriter(f, d))
		err = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/%d", i), Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
		if err == nil {
			r := rand.NewChaCha8([32]byte{byte(i)})
			_, err = io.CopyN(tw, r, size)
		}
		if err == nil {
			err = tw.Close()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("imagetest: generated layer: %v", err)
		}
		info, err := os.Stat(p)
		if err != nil {
			t.Fatalf("imagetest: %v", err)
		}
		ls = append(ls, &fileLayer{path: p, h: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(d.Sum(nil))}, size: info.Size()})
	}
	return Image(t, runtime.GOARCH, v1.Config{Cmd: []string{"/bin/sh"}}, ls...)
}

// fileLayer is an uncompressed layer in a file.
type fileLayer struct {
	path string
	h    v1.Hash
	size int64
}

func (l *fileLayer) Digest() (v1.Hash, error)             { return l.h, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)             { return l.h, nil }
func (l *fileLayer) Size() (int64, error)                 { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error)  { return types.OCIUncompressedLayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)   { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) { return os.Open(l.path) }
