package image

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/pod"
)

// Pull fetches ref (a tag or a digest reference) from its registry into
// the store, downloading only the blobs the store lacks, unpacks its
// layers and returns it as Lookup does. A multi-platform image resolves
// to the store's platform. Concurrent pulls of one reference in one
// Store share one download, which goes on while any of them waits for it
// and stops when all have given up. Pull blocks until the image is
// stored and unpacked, or ctx is done; a download that stops leaves no
// file behind it (an interrupted process leaves only temporary names,
// which no pull trusts and Open and Prune remove).
func (s *Store) Pull(ctx context.Context, ref string) (*pod.Image, error) {
	r, err := s.parseRemote(ref)
	if err != nil {
		return nil, err
	}
	key := r.Name()
	for {
		f := s.join(ctx, key)
		ch := s.pulls.DoChan(key, func() (any, error) { return s.pull(f.ctx, r) })
		select {
		case <-ctx.Done():
			if s.leave(key, f) {
				<-ch // the download stops; wait until it has cleaned up
			}
			return nil, fmt.Errorf("image: pull %s: %w", key, context.Cause(ctx))
		case out := <-ch:
			s.leave(key, f)
			if out.Err != nil {
				// A download every earlier caller left was cancelled
				// as this one joined it: start another.
				if ctx.Err() == nil && errors.Is(out.Err, context.Canceled) {
					continue
				}
				return nil, out.Err
			}
			return s.Lookup(ctx, out.Val.(string))
		}
	}
}

// flight is the context a shared download runs under: cancelled when
// every caller waiting for it has given up.
type flight struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int
}

// join counts a caller in the flight of key, making it if needed.
func (s *Store) join(ctx context.Context, key string) *flight {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flights[key]
	if f == nil {
		f = &flight{}
		f.ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
		s.flights[key] = f
	}
	f.waiters++
	return f
}

// leave counts a caller out of f and reports whether it was the last, so
// the download was cancelled.
func (s *Store) leave(key string, f *flight) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.waiters--
	if f.waiters > 0 {
		return false
	}
	f.cancel()
	if s.flights[key] == f {
		delete(s.flights, key)
	}
	return true
}

func (s *Store) parseRemote(ref string) (name.Reference, error) {
	r, err := parseRemote(ref)
	if err != nil {
		return nil, err
	}
	if s.insecure[r.Context().RegistryStr()] {
		return name.ParseReference(r.Name(), name.Insecure)
	}
	return r, nil
}

// pull stores r and returns the reference to look it up by.
func (s *Store) pull(ctx context.Context, r name.Reference) (string, error) {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(s.keychain),
		remote.WithTransport(&guard{base: s.base, insecure: s.insecure}),
		remote.WithPlatform(s.platform),
	}
	names := []string{r.Name()}
	head, err := remote.Head(r, opts...)
	if err != nil {
		return "", fmt.Errorf("image: pull %s: %w", r.Name(), err)
	}
	if ok, err := s.retag(head.Digest, names); err != nil || ok {
		return r.Name(), err
	}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return "", fmt.Errorf("image: pull %s: %w", r.Name(), err)
	}
	var index v1.Hash
	if desc.MediaType.IsIndex() {
		index = desc.Digest
	}
	img, err := desc.Image()
	if err != nil {
		return "", fmt.Errorf("image: pull %s: %w", r.Name(), err)
	}
	src, err := sourceOf(img)
	if err != nil {
		return "", fmt.Errorf("image: pull %s: %w", r.Name(), err)
	}
	src.names, src.index = names, index
	if _, err := s.store(ctx, src, s.track(r.Name())); err != nil {
		return "", fmt.Errorf("image: pull %s: %w", r.Name(), err)
	}
	return r.Name(), nil
}

// retag points names at the stored image whose manifest, or whose
// multi-platform index, has digest d, and reports whether there is one.
func (s *Store) retag(d v1.Hash, names []string) (bool, error) {
	unlock, err := s.lock(unix.LOCK_EX)
	if err != nil {
		return false, err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(idx.Manifests, func(m v1.Descriptor) bool {
		return m.Digest == d || m.Annotations[annotationIndex] == d.String()
	})
	if i < 0 {
		return false, nil
	}
	desc := idx.Manifests[i]
	var index v1.Hash
	if h, err := v1.NewHash(desc.Annotations[annotationIndex]); err == nil {
		index = h
	}
	addNames(idx, desc, names, index)
	return true, s.writeIndex(idx)
}

// sourceOf reads img's manifest and configuration and opens its layers
// lazily, as stored (compressed).
func sourceOf(img v1.Image) (*source, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	src := &source{manifest: raw, mediaType: m.MediaType, config: cfg, configD: m.Config}
	if src.mediaType == "" {
		if src.mediaType, err = img.MediaType(); err != nil {
			return nil, err
		}
	}
	for _, l := range m.Layers {
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			return nil, err
		}
		src.layers = append(src.layers, layerSource{desc: l, open: layer.Compressed})
	}
	return src, nil
}

// guard refuses plain HTTP to registries other than the loopback ones
// and those named insecure: go-containerregistry falls back to HTTP for
// private (RFC 1918) addresses too.
type guard struct {
	base     http.RoundTripper
	insecure map[string]bool
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.insecure[req.URL.Host] && !isLoopback(req.URL.Hostname()) {
		return nil, fmt.Errorf("image: %s: plain HTTP refused (name the registry with WithInsecureRegistries)", req.URL.Host)
	}
	return g.base.RoundTrip(req)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
