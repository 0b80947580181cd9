package image

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// LoadedImage is an image Load or Import stored.
type LoadedImage struct {
	// Names are the full references the image was tagged with; none for
	// an untagged image, which Prune removes.
	Names []string `json:"names"`
	// Digest is the manifest's digest.
	Digest string `json:"digest"`
	// ID is the configuration's digest.
	ID string `json:"id"`
}

// Load stores the images of path: a docker-archive (docker save, podman
// save), an OCI archive (podman save --format oci-archive, skopeo copy
// to oci-archive:) or an OCI image layout directory; an archive may be
// compressed with gzip or zstd (docker save | gzip), and is then
// decompressed into the store's temporary directory first. The form comes
// from the content, not the name. Every blob is verified against its digest
// before the store trusts it; an archive with a corrupt blob stores
// nothing of that image. Layers are unpacked later, by Lookup or Pull.
// Load blocks until every image is stored or ctx is done.
func (s *Store) Load(ctx context.Context, path string) ([]LoadedImage, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("image: load: %w", err)
	}
	if info.IsDir() {
		return s.loadLayout(ctx, path, path)
	}
	what := path
	plain, release, err := s.decompressed(ctx, path)
	if err != nil {
		return nil, err
	}
	defer release()
	form, err := archiveForm(plain, what)
	if err != nil {
		return nil, err
	}
	if form == "docker" {
		return s.loadDocker(ctx, plain, what)
	}
	tmp, releaseTmp, err := s.tempDir("load")
	if err != nil {
		return nil, err
	}
	defer releaseTmp()
	if err := extract(ctx, plain, tmp); err != nil {
		return nil, fmt.Errorf("image: load %s: %w", what, err)
	}
	return s.loadLayout(ctx, tmp, what)
}

// decompressed returns path itself when it is not compressed, or the path
// of a decompressed copy in the store's temporary directory for a gzip or
// zstd archive (docker save | gzip, as docker load takes it), and a
// function that removes the copy.
func (s *Store) decompressed(ctx context.Context, path string) (string, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, fmt.Errorf("image: load: %w", err)
	}
	defer f.Close()
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	var open func(io.Reader) (io.ReadCloser, error)
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		open = func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) }
	case n == 4 && magic == [4]byte{0x28, 0xb5, 0x2f, 0xfd}:
		open = func(r io.Reader) (io.ReadCloser, error) {
			d, err := zstd.NewReader(r)
			if err != nil {
				return nil, err
			}
			return d.IOReadCloser(), nil
		}
	default:
		return path, func() {}, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", nil, fmt.Errorf("image: load %s: %w", path, err)
	}
	dir, release, err := s.tempDir("load")
	if err != nil {
		return "", nil, err
	}
	plain := filepath.Join(dir, "archive.tar")
	err = func() error {
		r, err := open(f)
		if err != nil {
			return err
		}
		defer r.Close()
		w, err := os.OpenFile(plain, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, &ctxReader{ctx: ctx, r: r})
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		return err
	}()
	if err != nil {
		release()
		return "", nil, fmt.Errorf("image: load %s: decompressing: %w", path, err)
	}
	return plain, release, nil
}

// archiveForm tells a docker-archive (manifest.json) from an OCI archive
// (oci-layout) by their entries; an archive with both, as docker save
// writes since Docker 25, loads as a docker-archive for its RepoTags.
func archiveForm(path, what string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("image: load: %w", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	oci := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("image: load %s: not a docker-archive, OCI archive or OCI layout directory: %w", what, err)
		}
		switch filepath.Clean(h.Name) {
		case "manifest.json":
			return "docker", nil
		case "oci-layout":
			oci = true
		}
	}
	if !oci {
		return "", fmt.Errorf("image: load %s: a tar archive with neither manifest.json nor oci-layout", what)
	}
	return "oci", nil
}

// extract unpacks the regular files and directories of the tar archive
// path into dir.
func extract(ctx context.Context, path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p, err := securejoin.SecureJoin(dir, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o700)
		case tar.TypeReg:
			if err = os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return err
			}
			var w *os.File
			if w, err = os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err != nil {
				return err
			}
			_, err = io.Copy(w, &ctxReader{ctx: ctx, r: tr})
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return err
		}
	}
}

// loadLayout stores the images of the OCI layout dir, each resolved to
// the store's platform and tagged with its ref.name annotation.
func (s *Store) loadLayout(ctx context.Context, dir, what string) ([]LoadedImage, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("image: load %s: %w", what, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("image: load %s: %w", what, err)
	}
	var out []LoadedImage
	for _, d := range im.Manifests {
		var img v1.Image
		var index v1.Hash
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return out, fmt.Errorf("image: load %s: %w", what, err)
			}
			if img, err = s.platformImage(child); err != nil {
				return out, fmt.Errorf("image: load %s: index %s: %w", what, d.Digest, err)
			}
			index = d.Digest
		case d.MediaType.IsImage():
			if img, err = idx.Image(d.Digest); err != nil {
				return out, fmt.Errorf("image: load %s: %w", what, err)
			}
		default:
			continue
		}
		src, err := sourceOf(img)
		if err != nil {
			return out, fmt.Errorf("image: load %s: %w", what, err)
		}
		src.index = index
		if n := d.Annotations[annotationRefName]; n != "" {
			if r, err := name.ParseReference(n); err == nil {
				src.names = []string{r.Name()}
			}
		}
		li, err := s.storeLoaded(ctx, src, what)
		if err != nil {
			return out, err
		}
		out = append(out, li)
	}
	return out, nil
}

// platformImage picks the store's platform from a multi-platform index.
func (s *Store) platformImage(idx v1.ImageIndex) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.Satisfies(s.platform) && m.MediaType.IsImage() {
			return idx.Image(m.Digest)
		}
	}
	return nil, fmt.Errorf("no image for platform %s", s.platform)
}

func (s *Store) storeLoaded(ctx context.Context, src *source, what string) (LoadedImage, error) {
	d, err := s.store(ctx, src, s.track(what))
	if err != nil {
		return LoadedImage{}, fmt.Errorf("image: load %s: %w", what, err)
	}
	return LoadedImage{Names: src.names, Digest: d.String(), ID: src.configD.Digest.String()}, nil
}

// loadDocker stores the images of the docker-archive at path, named what
// in errors and progress. Their layers are
// stored uncompressed, as the archive holds them, with the OCI media type
// for uncompressed layers: each layer's digest is then its diffID from
// the image's configuration, verified as it is written.
func (s *Store) loadDocker(ctx context.Context, path, what string) ([]LoadedImage, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("image: load %s: %w", what, err)
	}
	var out []LoadedImage
	for i, d := range m {
		var tag *name.Tag
		var names []string
		for _, t := range d.RepoTags {
			nt, err := name.NewTag(t)
			if err != nil {
				return out, fmt.Errorf("image: load %s: RepoTags %q: %w", what, t, err)
			}
			names = append(names, nt.Name())
			if tag == nil {
				tag = &nt
			}
		}
		if tag == nil && len(m) > 1 {
			return out, fmt.Errorf("image: load %s: image %d (%s): untagged in an archive of several images", what, i, d.Config)
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return out, fmt.Errorf("image: load %s: %w", what, err)
		}
		li, err := s.loadDockerImage(ctx, img, names, what)
		if err != nil {
			return out, err
		}
		out = append(out, li)
	}
	return out, nil
}

// dockerSource stages img's layers uncompressed in dir, verified
// against their diffIDs, and returns the image with a manifest built for
// them.
func (s *Store) dockerSource(ctx context.Context, dir string, img v1.Image, t *tracker) (*source, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(bytesReader(raw))
	if err != nil {
		return nil, err
	}
	cd, n, err := v1.SHA256(bytesReader(raw))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cd, Size: n},
		Layers:        []v1.Descriptor{},
	}
	t.start(len(cfg.RootFS.DiffIDs), -1)
	var files []string
	for _, diffID := range cfg.RootFS.DiffIDs {
		l, err := img.LayerByDiffID(diffID)
		if err != nil {
			return nil, err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, err
		}
		file, _, size, err := stage(ctx, dir, rc, diffID, t.add)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", diffID, err)
		}
		t.layer(diffID.String(), false, 0)
		files = append(files, file)
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.OCIUncompressedLayer, Digest: diffID, Size: size})
	}
	b, err := jsonMarshal(m)
	if err != nil {
		return nil, err
	}
	src := &source{manifest: b, mediaType: m.MediaType, config: raw, configD: m.Config}
	for i, l := range m.Layers {
		src.layers = append(src.layers, layerSource{desc: l, file: files[i]})
	}
	return src, nil
}

func (s *Store) loadDockerImage(ctx context.Context, img v1.Image, names []string, path string) (LoadedImage, error) {
	dir, release, err := s.tempDir("load")
	if err != nil {
		return LoadedImage{}, err
	}
	defer release()
	t := s.track(path)
	src, err := s.dockerSource(ctx, dir, img, t)
	if err != nil {
		return LoadedImage{}, fmt.Errorf("image: load %s: %w", path, err)
	}
	src.names = names
	d, err := s.store(ctx, src, t)
	if err != nil {
		return LoadedImage{}, fmt.Errorf("image: load %s: %w", path, err)
	}
	return LoadedImage{Names: names, Digest: d.String(), ID: src.configD.Digest.String()}, nil
}
