package image

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
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
	t.start(1, -1)
	dir, release, err := s.tempDir("import")
	if err != nil {
		return LoadedImage{}, err
	}
	defer release()
	layer, err := s.importLayer(ctx, dir, r, t)
	if err != nil {
		return LoadedImage{}, fmt.Errorf("image: import %s: %w", tag.Name(), err)
	}
	t.layer(layer.h.String(), false, 0)
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
	src.layers[0].file = layer.file
	d, err := s.store(ctx, src, t)
	if err != nil {
		return LoadedImage{}, fmt.Errorf("image: import %s: %w", tag.Name(), err)
	}
	return LoadedImage{Names: src.names, Digest: d.String(), ID: src.configD.Digest.String()}, nil
}

// importLayer writes the tar stream r, decompressed, into dir as an
// uncompressed layer.
func (s *Store) importLayer(ctx context.Context, dir string, r io.Reader, t *tracker) (*blobLayer, error) {
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
	file, h, n, err := stage(ctx, dir, in, v1.Hash{}, t.add)
	if err != nil {
		return nil, err
	}
	return &blobLayer{file: file, h: h, size: n}, nil
}

// blobLayer is an uncompressed layer in a staged file.
type blobLayer struct {
	file string
	h    v1.Hash
	size int64
}

func (l *blobLayer) Digest() (v1.Hash, error)             { return l.h, nil }
func (l *blobLayer) DiffID() (v1.Hash, error)             { return l.h, nil }
func (l *blobLayer) Size() (int64, error)                 { return l.size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error)  { return types.OCIUncompressedLayer, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error)   { return os.Open(l.file) }
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) { return os.Open(l.file) }
