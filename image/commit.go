package image

import (
	"context"
	"fmt"
	"io"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// source is one image on its way into the store: its manifest and
// configuration as bytes, and its layers to be read.
type source struct {
	manifest  []byte
	mediaType types.MediaType
	config    []byte
	configD   v1.Descriptor
	layers    []layerSource
	// names are the full references to tag the image with; an image
	// without names is stored untagged (until the next Prune).
	names []string
	// index is the digest of the multi-platform index the manifest was
	// chosen from, or zero.
	index v1.Hash
}

// layerSource is a layer to store: read through open, or already
// written and verified in file (a temporary file under the store's
// directory, which the store links into place).
type layerSource struct {
	desc v1.Descriptor
	open func() (io.ReadCloser, error)
	file string
}

// parallelLayers bounds the layers written at once.
const parallelLayers = 3

// store writes src's blobs, verifying each, then tags it. Blobs are
// written under the shared lock; the index update takes the exclusive
// one and checks that no prune removed a blob in between (then the
// blobs are written again).
func (s *Store) store(ctx context.Context, src *source, t *tracker) (v1.Hash, error) {
	digest, _, err := v1.SHA256(bytesReader(src.manifest))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image: %w", err)
	}
	var total int64
	for _, l := range src.layers {
		total += l.desc.Size
	}
	if !t.started {
		t.start(len(src.layers), total)
	}
	for attempt := 0; ; attempt++ {
		if err := s.writeBlobs(ctx, src, digest, t); err != nil {
			return v1.Hash{}, err
		}
		ok, err := s.tag(v1.Descriptor{MediaType: src.mediaType, Digest: digest, Size: int64(len(src.manifest))}, src)
		if err != nil {
			return v1.Hash{}, err
		}
		if ok {
			break
		}
		if attempt == 2 {
			return v1.Hash{}, fmt.Errorf("image: %s: blobs removed while storing the image", digest)
		}
	}
	t.done()
	return digest, nil
}

// writeBlobs writes src's layers, configuration and manifest (whose
// digest is digest) under the shared lock.
func (s *Store) writeBlobs(ctx context.Context, src *source, digest v1.Hash, t *tracker) error {
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.writeLayers(ctx, src, t); err != nil {
		return err
	}
	if err := s.writeBlob(ctx, src.configD.Digest, src.configD.Size, bytesReader(src.config), nil); err != nil {
		return err
	}
	return s.writeBlob(ctx, digest, int64(len(src.manifest)), bytesReader(src.manifest), nil)
}

func (s *Store) writeLayers(ctx context.Context, src *source, t *tracker) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelLayers)
	for _, l := range src.layers {
		g.Go(func() error {
			if l.file != "" {
				return s.linkBlob(l.desc.Digest, l.file)
			}
			if s.hasBlob(l.desc.Digest) {
				t.layer(l.desc.Digest.String(), true, l.desc.Size)
				return nil
			}
			rc, err := l.open()
			if err != nil {
				return fmt.Errorf("image: layer %s: %w", l.desc.Digest, err)
			}
			defer rc.Close()
			if err := s.writeBlob(ctx, l.desc.Digest, l.desc.Size, rc, t.add); err != nil {
				return err
			}
			t.layer(l.desc.Digest.String(), false, 0)
			return nil
		})
	}
	return g.Wait()
}

// tag adds desc to index.json under src's names, replacing what those
// names named, under the exclusive lock. It reports false, changing
// nothing, when a layer blob it cannot write again is missing.
func (s *Store) tag(desc v1.Descriptor, src *source) (bool, error) {
	unlock, err := s.lock(unix.LOCK_EX)
	if err != nil {
		return false, err
	}
	defer unlock()
	// A prune between writeBlobs and here may have removed blobs. Those
	// at hand (manifest, configuration, staged layers) are written again
	// here; a layer that would have to be read again from its source
	// sends the caller back to writeBlobs.
	if err := s.writeBlob(context.Background(), src.configD.Digest, src.configD.Size, bytesReader(src.config), nil); err != nil {
		return false, err
	}
	if err := s.writeBlob(context.Background(), desc.Digest, desc.Size, bytesReader(src.manifest), nil); err != nil {
		return false, err
	}
	for _, l := range src.layers {
		if l.file != "" {
			if err := s.linkBlob(l.desc.Digest, l.file); err != nil {
				return false, err
			}
		}
		if !s.hasBlob(l.desc.Digest) {
			return false, nil
		}
	}
	idx, err := s.readIndex()
	if err != nil {
		return false, err
	}
	addNames(idx, desc, src.names, src.index)
	return true, s.writeIndex(idx)
}

// addNames points names at desc in idx. Without names, desc is added
// untagged unless idx already holds it.
func addNames(idx *v1.IndexManifest, desc v1.Descriptor, names []string, index v1.Hash) {
	idx.Manifests = slices.DeleteFunc(idx.Manifests, func(d v1.Descriptor) bool {
		n := d.Annotations[annotationRefName]
		return slices.Contains(names, n) || (d.Digest == desc.Digest && n == "")
	})
	add := func(n string) {
		d := desc
		d.Annotations = map[string]string{}
		if n != "" {
			d.Annotations[annotationRefName] = n
		}
		if index != (v1.Hash{}) {
			d.Annotations[annotationIndex] = index.String()
		}
		if len(d.Annotations) == 0 {
			d.Annotations = nil
		}
		idx.Manifests = append(idx.Manifests, d)
	}
	for _, n := range names {
		add(n)
	}
	if len(names) == 0 && !slices.ContainsFunc(idx.Manifests, func(d v1.Descriptor) bool { return d.Digest == desc.Digest }) {
		add("")
	}
}
