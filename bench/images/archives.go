package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fileLayer is a layer whose blob is a file: an uncompressed tar (digest
// and diffID are its SHA-256), or a gzip-compressed one.
type fileLayer struct {
	path   string
	digest v1.Hash
	diffID v1.Hash
	size   int64
	media  types.MediaType
	raw    string // the uncompressed tar, for Uncompressed
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.media, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	return os.Open(l.raw)
}

// hashFile returns the SHA-256 and size of a file.
func hashFile(p string) (v1.Hash, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	defer f.Close()
	d := sha256.New()
	n, err := io.Copy(d, f)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(d.Sum(nil))}, n, nil
}

// rawLayer is the uncompressed tar at p as a layer.
func rawLayer(p string) (*fileLayer, error) {
	h, n, err := hashFile(p)
	if err != nil {
		return nil, err
	}
	return &fileLayer{path: p, raw: p, digest: h, diffID: h, size: n, media: types.OCIUncompressedLayer}, nil
}

// gzipLayer writes the tar raw gzip-compressed to gz, and returns it as a
// layer whose diffID is raw's.
func gzipLayer(raw *fileLayer, gz string) (*fileLayer, error) {
	in, err := os.Open(raw.path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	f, err := os.Create(gz)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := gzip.NewWriter(bw)
	_, err = io.Copy(zw, in)
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("gzip %s: %w", raw.path, err)
	}
	h, n, err := hashFile(gz)
	if err != nil {
		return nil, err
	}
	return &fileLayer{path: gz, raw: raw.path, digest: h, diffID: raw.diffID, size: n, media: types.OCILayer}, nil
}

// ociImage returns an OCI image of layers (bottom first) for linux on
// this architecture with cfg, and a zero created time.
func ociImage(cfg v1.Config, layers ...v1.Layer) (v1.Image, error) {
	img := mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1)
	var adds []mutate.Addendum
	for _, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "bench/images"}})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", runtime.GOARCH, cfg
	return mutate.ConfigFile(img, cf)
}

// writeDockerArchive writes img tagged ref as a docker-archive.
func writeDockerArchive(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	return tarball.MultiRefWriteToFile(path, map[name.Reference]v1.Image{tag: img})
}

// writeOCIArchive writes img annotated with ref as an OCI image layout in
// a tar at path, as skopeo's and podman's oci-archive.
func writeOCIArchive(path, ref string, img v1.Image) error {
	dir, err := os.MkdirTemp(filepath.Dir(path), "layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = tw.AddFS(os.DirFS(dir))
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// tarEntry is a file, directory or symbolic link of a generated tar.
type tarEntry struct {
	name    string
	mode    int64
	dir     bool
	link    string
	content []byte
}

// writeTar writes entries as a tar file at path.
func writeTar(path string, entries ...tarEntry) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.content)), Typeflag: tar.TypeReg}
		switch {
		case e.dir:
			h.Typeflag, h.Size = tar.TypeDir, 0
		case e.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		}
		if err = tw.WriteHeader(h); err != nil {
			break
		}
		if _, err = tw.Write(e.content); err != nil {
			break
		}
	}
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// tinyRootfs writes a root filesystem tarball holding the host's static
// busybox as /bin/busybox and /bin/sh, and empty /etc and /tmp.
func tinyRootfs(path, busybox string) error {
	b, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	return writeTar(path,
		tarEntry{name: "bin/", mode: 0o755, dir: true},
		tarEntry{name: "bin/busybox", mode: 0o755, content: b},
		tarEntry{name: "bin/sh", mode: 0o777, link: "busybox"},
		tarEntry{name: "etc/", mode: 0o755, dir: true},
		tarEntry{name: "tmp/", mode: 0o1777, dir: true},
	)
}
