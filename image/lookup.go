package image

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/unpack"

	"github.com/podkit/podkit/pod"
)

// Lookup returns the image ref names if the store holds it, unpacking
// the layers not yet unpacked, without asking a registry. ref is a tag,
// a digest reference (name@sha256:...), or an image ID or ID prefix of
// at least 12 hex digits. It blocks while unpacking and while another
// process holds the store's exclusive lock. The image's layers are kept
// from removal until its Release is called; callers must call it.
func (s *Store) Lookup(ctx context.Context, ref string) (*pod.Image, error) {
	q, err := parseQuery(ref)
	if err != nil {
		return nil, err
	}
	for {
		img, err := s.lookup(ctx, q)
		if !errors.Is(err, errRemovedMeanwhile) {
			return img, err
		}
	}
}

// errRemovedMeanwhile says a layer unpacked for an image was removed
// before the image's locks were taken; the lookup starts again.
var errRemovedMeanwhile = errors.New("image: layer removed meanwhile")

func (s *Store) lookup(ctx context.Context, q query) (*pod.Image, error) {
	e, name, m, cfg, err := s.resolve(q)
	if err != nil {
		return nil, err
	}
	if len(m.Layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image: %s: %d layers but %d diffIDs in the configuration", name, len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	for i, l := range m.Layers {
		if err := s.unpack(ctx, e.digest, l, cfg.RootFS.DiffIDs[i]); err != nil {
			return nil, err
		}
	}
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	img := &pod.Image{
		Name:   name,
		Digest: e.digest.String(),
		ID:     m.Config.Digest.String(),
		Config: pod.ImageConfig{
			Entrypoint: cfg.Config.Entrypoint,
			Cmd:        cfg.Config.Cmd,
			Env:        cfg.Config.Env,
			WorkingDir: cfg.Config.WorkingDir,
			User:       cfg.Config.User,
			StopSignal: cfg.Config.StopSignal,
		},
	}
	var held []*os.File
	release := func() {
		for _, f := range held {
			f.Close()
		}
	}
	for i, l := range m.Layers {
		img.Size += l.Size
		p := s.layerPath(cfg.RootFS.DiffIDs[i])
		f, err := os.OpenFile(p, os.O_RDONLY|unix.O_DIRECTORY, 0)
		if errors.Is(err, fs.ErrNotExist) {
			release()
			return nil, errRemovedMeanwhile
		}
		if err == nil {
			err = unix.Flock(int(f.Fd()), unix.LOCK_SH)
		}
		if err != nil {
			release()
			return nil, fmt.Errorf("image: layer %s: %w", cfg.RootFS.DiffIDs[i], err)
		}
		held = append(held, f)
		img.Layers = append(img.Layers, p)
	}
	img.Release = sync.OnceFunc(release)
	return img, nil
}

// resolve finds q in the store and reads its manifest and configuration
// under the shared lock.
func (s *Store) resolve(q query) (*entry, string, *v1.Manifest, *v1.ConfigFile, error) {
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return nil, "", nil, nil, err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return nil, "", nil, nil, err
	}
	e, name, err := find(idx, q, s.configDigest)
	if err != nil {
		return nil, "", nil, nil, err
	}
	m, cfg, err := s.manifestAndConfig(e.digest)
	if err != nil {
		return nil, "", nil, nil, err
	}
	return e, name, m, cfg, nil
}

func (s *Store) manifest(h v1.Hash) (*v1.Manifest, error) {
	b, err := s.readBlob(h)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytesReader(b))
	if err != nil {
		return nil, fmt.Errorf("image: manifest %s: %w", h, err)
	}
	return m, nil
}

func (s *Store) configDigest(h v1.Hash) (v1.Hash, error) {
	m, err := s.manifest(h)
	if err != nil {
		return v1.Hash{}, err
	}
	return m.Config.Digest, nil
}

func (s *Store) manifestAndConfig(h v1.Hash) (*v1.Manifest, *v1.ConfigFile, error) {
	m, err := s.manifest(h)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.readBlob(m.Config.Digest)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := v1.ParseConfigFile(bytesReader(b))
	if err != nil {
		return nil, nil, fmt.Errorf("image: config %s: %w", m.Config.Digest, err)
	}
	return m, cfg, nil
}

// unpack unpacks the layer l of the manifest into DIR/layers unless it
// is there, once per diffID however many lookups ask at once. The layer
// is unpacked into a temporary directory under the shared lock, its
// uncompressed stream checked against diffID, and renamed into place
// only when complete and verified.
func (s *Store) unpack(ctx context.Context, manifest v1.Hash, l v1.Descriptor, diffID v1.Hash) error {
	if _, err := os.Stat(s.layerPath(diffID)); err == nil {
		return nil
	}
	for {
		_, err, _ := s.unpacks.Do(diffID.String(), func() (any, error) {
			return nil, s.unpackOnce(ctx, manifest, l, diffID)
		})
		// The caller whose ctx ran the shared unpack gave up; unpack
		// again for this one.
		if err != nil && ctx.Err() == nil && errors.Is(err, context.Canceled) {
			continue
		}
		return err
	}
}

func (s *Store) unpackOnce(ctx context.Context, manifest v1.Hash, l v1.Descriptor, diffID v1.Hash) error {
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return err
	}
	defer unlock()
	final := s.layerPath(diffID)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	img, err := layout.Path(s.ociPath()).Image(manifest)
	if err != nil {
		return fmt.Errorf("image: manifest %s: %w", manifest, err)
	}
	layer, err := img.LayerByDigest(l.Digest)
	if err != nil {
		return fmt.Errorf("image: layer %s: %w", l.Digest, err)
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		return fmt.Errorf("image: layer %s: %w", l.Digest, err)
	}
	defer rc.Close()
	tmp, err := os.MkdirTemp(filepath.Join(s.dir, "layers"), tempPrefix+diffID.Hex[:12]+"-*")
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("image: %w", err)
	}
	d := sha256.New()
	tee := io.TeeReader(&ctxReader{ctx: ctx, r: rc}, d)
	stats, err := unpack.Layer(ctx, tee, tmp)
	if err != nil {
		return fmt.Errorf("image: layer %s: %w", diffID, err)
	}
	// Whatever the unpacker left unread still counts towards the digest.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("image: layer %s: %w", diffID, err)
	}
	if err := verify(diffID, -1, d, 0); err != nil {
		return err
	}
	s.log.Debug("unpacked layer", zap.Stringer("diffID", diffID), zap.Int("files", stats.Files), zap.Int("dirs", stats.Dirs))
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(final); serr == nil {
			return nil // another process unpacked it first
		}
		return fmt.Errorf("image: layer %s: %w", diffID, err)
	}
	return nil
}
