package image

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// ImportConfig is what Import records about running an imported root
// filesystem; the zero value records nothing (a container then needs its
// own command).
type ImportConfig struct {
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	// Env holds "KEY=value" entries.
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	User       string   `json:"user,omitempty"`
}

// Import stores the root filesystem tarball read from r (docker export,
// mmdebstrap's tar output; gzip-compressed or not) as a one-layer image
// for linux on the store's architecture, tagged ref. The image's created
// time is zero, so the same tarball and configuration always give the
// same digest. Import reads r to its end and blocks until the image is
// stored or ctx is done.
func (s *Store) Import(ctx context.Context, r io.Reader, ref string, cfg ImportConfig) (LoadedImage, error) {
	tag, err := parseRemote(ref)
	if err != nil {
		return LoadedImage{}, err
	}
	t := s.track(tag.Name())
	layer, err := s.importLayer(ctx, r, t)
	if err != nil {
		return LoadedImage{}, fmt.Errorf("image: import %s: %w", tag.Name(), err)
	}
	img, err := mutate.Append(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1),
		mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: "podkit image import"}})
	if err != nil {
		return LoadedImage{}, fmt.Errorf("image: import %s: %w", tag.Name(), err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return LoadedImage{}, fmt.Errorf("image: import %s: %w", tag.Name(), err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = s.platform.OS, s.platform.Architecture, s.platform.Variant
	cf.Config = v1.Config{Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return LoadedImage{}, fmt.Errorf("image: import %s: %w", tag.Name(), err)
	}
	src, err := sourceOf(img)
	if err != nil {
		return LoadedImage{}, fmt.Errorf("image: import %s: %w", tag.Name(), err)
	}
	src.names = []string{tag.Name()}
	d, err := s.store(ctx, src, t)
	if err != nil {
		return LoadedImage{}, fmt.Errorf("image: import %s: %w", tag.Name(), err)
	}
	return LoadedImage{Names: src.names, Digest: d.String(), ID: src.configD.Digest.String()}, nil
}

// importLayer writes the tar stream r, decompressed, as an uncompressed
// layer blob named by its digest.
func (s *Store) importLayer(ctx context.Context, r io.Reader, t *tracker) (v1.Layer, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		in = zr
	}
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	f, err := os.CreateTemp(s.blobDir(), tempPrefix+"import-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	d := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, d), &ctxReader{ctx: ctx, r: in, count: t.add})
	if err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(d.Sum(nil))}
	if err := os.Rename(f.Name(), s.blobPath(h)); err != nil {
		return nil, err
	}
	return &blobLayer{s: s, h: h, size: n}, nil
}

// blobLayer is an uncompressed layer blob of the store.
type blobLayer struct {
	s    *Store
	h    v1.Hash
	size int64
}

func (l *blobLayer) Digest() (v1.Hash, error)             { return l.h, nil }
func (l *blobLayer) DiffID() (v1.Hash, error)             { return l.h, nil }
func (l *blobLayer) Size() (int64, error)                 { return l.size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error)  { return types.OCIUncompressedLayer, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error)   { return os.Open(l.s.blobPath(l.h)) }
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) { return os.Open(l.s.blobPath(l.h)) }
