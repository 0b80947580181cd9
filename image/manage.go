package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// Summary is one image of List.
type Summary struct {
	// Names are the image's full references (tags and digest
	// references); none for an untagged image.
	Names   []string  `json:"names"`
	ID      string    `json:"id"`
	Digest  string    `json:"digest"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
}

// List returns the store's images in the order they were stored. It
// holds the shared lock while it reads.
func (s *Store) List(ctx context.Context) ([]Summary, error) {
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	out := []Summary{}
	for _, e := range entries(idx) {
		m, cfg, err := s.manifestAndConfig(e.digest)
		if err != nil {
			return nil, err
		}
		sum := Summary{Names: e.names, ID: m.Config.Digest.String(), Digest: e.digest.String(), Created: cfg.Created.Time}
		for _, l := range m.Layers {
			sum.Size += l.Size
		}
		out = append(out, sum)
	}
	return out, nil
}

// Details is what Inspect tells of an image.
type Details struct {
	Names  []string `json:"names"`
	ID     string   `json:"id"`
	Digest string   `json:"digest"`
	// Index is the digest of the multi-platform index the image was
	// chosen from, or "".
	Index    string          `json:"index,omitempty"`
	Size     int64           `json:"size"`
	Manifest json.RawMessage `json:"manifest"`
	Config   json.RawMessage `json:"config"`
	Layers   []LayerDetails  `json:"layers"`
}

// LayerDetails describes one layer of an image, bottom first.
type LayerDetails struct {
	Digest    string `json:"digest"`
	DiffID    string `json:"diffID"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
	// Unpacked is the layer's unpacked directory, or "" when it is not
	// unpacked yet.
	Unpacked string `json:"unpacked,omitempty"`
}

// Inspect returns the manifest, configuration and layers of the image
// ref names (as Lookup accepts it), without unpacking anything.
func (s *Store) Inspect(ctx context.Context, ref string) (Details, error) {
	q, err := parseQuery(ref)
	if err != nil {
		return Details{}, err
	}
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return Details{}, err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return Details{}, err
	}
	e, _, err := find(idx, q, s.configDigest)
	if err != nil {
		return Details{}, err
	}
	mb, err := s.readBlob(e.digest)
	if err != nil {
		return Details{}, err
	}
	m, cfg, err := s.manifestAndConfig(e.digest)
	if err != nil {
		return Details{}, err
	}
	cb, err := s.readBlob(m.Config.Digest)
	if err != nil {
		return Details{}, err
	}
	d := Details{Names: e.names, ID: m.Config.Digest.String(), Digest: e.digest.String(), Index: e.desc.Annotations[annotationIndex],
		Manifest: mb, Config: cb, Layers: []LayerDetails{}}
	for i, l := range m.Layers {
		ld := LayerDetails{Digest: l.Digest.String(), MediaType: string(l.MediaType), Size: l.Size}
		if i < len(cfg.RootFS.DiffIDs) {
			ld.DiffID = cfg.RootFS.DiffIDs[i].String()
			if p := s.layerPath(cfg.RootFS.DiffIDs[i]); exists(p) {
				ld.Unpacked = p
			}
		}
		d.Size += l.Size
		d.Layers = append(d.Layers, ld)
	}
	return d, nil
}

// Tag gives the image src names (as Lookup accepts it) the name dst, a
// tag or digest reference, taking dst from whatever image had it.
func (s *Store) Tag(ctx context.Context, src, dst string) error {
	q, err := parseQuery(src)
	if err != nil {
		return err
	}
	r, err := parseRemote(dst)
	if err != nil {
		return err
	}
	unlock, err := s.lock(unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	e, _, err := find(idx, q, s.configDigest)
	if err != nil {
		return err
	}
	var index v1.Hash
	if h, err := v1.NewHash(e.desc.Annotations[annotationIndex]); err == nil {
		index = h
	}
	desc := e.desc
	desc.Annotations = nil
	addNames(idx, desc, []string{r.Name()}, index)
	return s.writeIndex(idx)
}

// Remove removes the name ref from the store; for an image ID or a
// digest reference, every name of that image. An image left without
// names leaves the index at once, and the blobs and unpacked layers that
// no other image uses are removed with it, except layers an unreleased
// Image holds (Prune removes those later). Remove holds the exclusive
// lock, so it waits for running pulls and lookups.
func (s *Store) Remove(ctx context.Context, ref string) error {
	q, err := parseQuery(ref)
	if err != nil {
		return err
	}
	unlock, err := s.lock(unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	e, n, err := find(idx, q, s.configDigest)
	if err != nil {
		return err
	}
	_, byTag := q.ref.(name.Tag)
	idx.Manifests = slices.DeleteFunc(idx.Manifests, func(d v1.Descriptor) bool {
		return d.Digest == e.digest && (!byTag || d.Annotations[annotationRefName] == n)
	})
	if err := s.writeIndex(idx); err != nil {
		return err
	}
	_, err = s.collect(idx)
	return err
}

// PruneReport is what Prune removed.
type PruneReport struct {
	// Images are the digests of untagged images removed.
	Images []string `json:"images"`
	// Blobs and Layers count removed blobs and unpacked layers.
	Blobs  int `json:"blobs"`
	Layers int `json:"layers"`
	// Busy counts unused layers kept because an unreleased Image holds
	// them.
	Busy int `json:"busy"`
	// Freed is the bytes of the files removed, temporary ones included.
	Freed int64 `json:"freed"`
}

// Prune removes untagged images, the blobs and unpacked layers no image
// uses (except layers an unreleased Image holds), and what interrupted
// pulls, loads and imports left. It holds the exclusive lock, so it
// waits for running pulls, loads and lookups.
func (s *Store) Prune(ctx context.Context) (PruneReport, error) {
	unlock, err := s.lock(unix.LOCK_EX)
	if err != nil {
		return PruneReport{}, err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return PruneReport{}, err
	}
	var rep PruneReport
	idx.Manifests = slices.DeleteFunc(idx.Manifests, func(d v1.Descriptor) bool {
		if d.Annotations[annotationRefName] == "" {
			rep.Images = append(rep.Images, d.Digest.String())
			return true
		}
		return false
	})
	if len(rep.Images) > 0 {
		if err := s.writeIndex(idx); err != nil {
			return rep, err
		}
	}
	c, err := s.collect(idx)
	rep.Blobs, rep.Layers, rep.Busy, rep.Freed = c.Blobs, c.Layers, c.Busy, c.Freed
	if err != nil {
		return rep, err
	}
	freed, err := s.cleanTemp()
	rep.Freed += freed
	return rep, err
}

// collect removes the blobs and unpacked layers idx's images do not use,
// skipping busy layers. The caller holds the exclusive lock.
func (s *Store) collect(idx *v1.IndexManifest) (PruneReport, error) {
	var rep PruneReport
	blobs, layers := map[string]bool{}, map[string]bool{}
	for _, e := range entries(idx) {
		blobs[e.digest.Hex] = true
		m, cfg, err := s.manifestAndConfig(e.digest)
		if err != nil {
			return rep, err
		}
		blobs[m.Config.Digest.Hex] = true
		for _, l := range m.Layers {
			blobs[l.Digest.Hex] = true
		}
		for _, d := range cfg.RootFS.DiffIDs {
			layers[d.Hex] = true
		}
	}
	ents, err := os.ReadDir(s.blobDir())
	if err != nil {
		return rep, fmt.Errorf("image: %w", err)
	}
	for _, de := range ents {
		if blobs[de.Name()] || strings.HasPrefix(de.Name(), tempPrefix) {
			continue
		}
		p := filepath.Join(s.blobDir(), de.Name())
		n := diskUsage(p)
		if err := os.Remove(p); err != nil {
			return rep, fmt.Errorf("image: %w", err)
		}
		rep.Blobs++
		rep.Freed += n
	}
	ents, err = os.ReadDir(s.layerDir())
	if err != nil {
		return rep, fmt.Errorf("image: %w", err)
	}
	for _, de := range ents {
		if layers[de.Name()] || strings.HasPrefix(de.Name(), tempPrefix) {
			continue
		}
		n, err := s.removeLayer(de.Name())
		if errors.Is(err, errBusy) {
			rep.Busy++
			continue
		}
		if err != nil {
			return rep, err
		}
		rep.Layers++
		rep.Freed += n
	}
	return rep, nil
}

var errBusy = errors.New("image: layer in use")

// removeLayer removes an unpacked layer unless an Image holds its flock.
// The layer is first renamed to a temporary name, so a removal cut short
// leaves nothing a lookup would trust.
func (s *Store) removeLayer(hex string) (int64, error) {
	p := filepath.Join(s.layerDir(), hex)
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return 0, fmt.Errorf("image: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return 0, errBusy
		}
		return 0, fmt.Errorf("image: layer %s: %w", hex, err)
	}
	tmp := filepath.Join(s.dir, "layers", tempPrefix+"rm-"+hex)
	if err := os.Rename(p, tmp); err != nil {
		return 0, fmt.Errorf("image: %w", err)
	}
	n := diskUsage(tmp)
	if err := os.RemoveAll(tmp); err != nil {
		return 0, fmt.Errorf("image: %w", err)
	}
	return n, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
