package image_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/image"
	"github.com/podkit/podkit/image/imagetest"
	"github.com/podkit/podkit/pod"
)

// push writes img (a v1.Image or v1.ImageIndex) to ref.
func push(t *testing.T, reg *imagetest.Registry, ref string, img any, auth authn.Authenticator) {
	t.Helper()
	r, err := name.ParseReference(ref)
	require.NoError(t, err)
	opts := []remote.Option{remote.WithTransport(reg.Transport), remote.WithAuth(auth)}
	switch v := img.(type) {
	case v1.Image:
		err = remote.Write(r, v, opts...)
	case v1.ImageIndex:
		err = remote.WriteIndex(r, v, opts...)
	}
	require.NoError(t, err)
}

// counter counts the blob downloads made through it and can slow them.
type counter struct {
	base  http.RoundTripper
	blobs atomic.Int64
	delay time.Duration // per read of a blob's body
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err == nil && req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/") {
		c.blobs.Add(1)
		if c.delay > 0 {
			resp.Body = &slowBody{ReadCloser: resp.Body, delay: c.delay}
		}
	}
	return resp, err
}

type slowBody struct {
	io.ReadCloser
	delay time.Duration
}

func (b *slowBody) Read(p []byte) (int, error) {
	time.Sleep(b.delay)
	return b.ReadCloser.Read(p[:min(len(p), 4096)])
}

func TestPullPlain(t *testing.T) {
	ctx := context.Background()
	reg := imagetest.StartRegistry(t, imagetest.RegistryOptions{})
	bb := imagetest.Busybox(t)
	push(t, reg, reg.Ref("busybox:1"), bb, authn.Anonymous)
	c := &counter{base: reg.Transport}
	var events atomic.Int64
	s := open(t, image.WithTransport(c), image.WithKeychain(authn.NewMultiKeychain()),
		image.WithProgress(func(image.Progress) { events.Add(1) }))

	_, err := s.Lookup(ctx, reg.Ref("busybox:1"))
	require.ErrorIs(t, err, pod.ErrImageNotPresent)
	img, err := s.Pull(ctx, reg.Ref("busybox:1"))
	require.NoError(t, err)
	defer img.Release()
	want, _ := bb.Digest()
	assert.Equal(t, want.String(), img.Digest)
	assert.Equal(t, reg.Ref("busybox:1"), img.Name)
	assert.FileExists(t, filepath.Join(img.Layers[0], "bin/busybox"))
	assert.Equal(t, int64(2), c.blobs.Load(), "the configuration and the layer")
	assert.Positive(t, events.Load())

	// The same manifest again downloads nothing.
	img2, err := s.Pull(ctx, reg.Ref("busybox:1"))
	require.NoError(t, err)
	img2.Release()
	assert.Equal(t, int64(2), c.blobs.Load())

	// By digest too.
	img3, err := s.Pull(ctx, reg.Host+"/busybox@"+want.String())
	require.NoError(t, err)
	img3.Release()
	assert.Equal(t, int64(2), c.blobs.Load())
}

func TestPullTLSAuth(t *testing.T) {
	ctx := context.Background()
	reg := imagetest.StartRegistry(t, imagetest.RegistryOptions{TLS: true, User: "alice", Password: "s3cret"})
	push(t, reg, reg.Ref("busybox:1"), imagetest.Busybox(t), &authn.Basic{Username: "alice", Password: "s3cret"})

	t.Setenv("DOCKER_CONFIG", t.TempDir())
	s := open(t, image.WithTransport(reg.Transport))
	_, err := s.Pull(ctx, reg.Ref("busybox:1"))
	require.Error(t, err, "no credentials")
	assert.Contains(t, err.Error(), "401")

	t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t, "alice", "s3cret"))
	img, err := s.Pull(ctx, reg.Ref("busybox:1"))
	require.NoError(t, err)
	img.Release()
}

func TestPullIndex(t *testing.T) {
	reg := imagetest.StartRegistry(t, imagetest.RegistryOptions{})
	bb := imagetest.Busybox(t)
	foreign := "arm64"
	if runtime.GOARCH == "arm64" {
		foreign = "amd64"
	}
	other := imagetest.Image(t, foreign, v1.Config{}, imagetest.Layer(t, imagetest.File{Name: "other", Content: []byte("o")}))
	idx := imagetest.Index(t, other, bb)
	push(t, reg, reg.Ref("multi:1"), idx, authn.Anonymous)
	c := &counter{base: reg.Transport}
	s := open(t, image.WithTransport(c))
	img, err := s.Pull(context.Background(), reg.Ref("multi:1"))
	require.NoError(t, err)
	img.Release()
	want, _ := bb.Digest()
	assert.Equal(t, want.String(), img.Digest)
	assert.Equal(t, int64(2), c.blobs.Load(), "only the chosen platform's blobs")
	img, err = s.Pull(context.Background(), reg.Ref("multi:1"))
	require.NoError(t, err)
	img.Release()
	assert.Equal(t, int64(2), c.blobs.Load(), "the index is known: nothing downloaded")
}

// Concurrent pulls of one reference make one download.
func TestPullConcurrent(t *testing.T) {
	reg := imagetest.StartRegistry(t, imagetest.RegistryOptions{})
	push(t, reg, reg.Ref("busybox:1"), imagetest.Busybox(t), authn.Anonymous)
	c := &counter{base: reg.Transport, delay: time.Millisecond}
	s := open(t, image.WithTransport(c))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			img, err := s.Pull(context.Background(), reg.Ref("busybox:1"))
			if assert.NoError(t, err) {
				img.Release()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(2), c.blobs.Load())
}

// A pull cancelled mid-download leaves nothing a later pull trusts, and
// the later pull succeeds.
func TestPullInterrupted(t *testing.T) {
	reg := imagetest.StartRegistry(t, imagetest.RegistryOptions{})
	push(t, reg, reg.Ref("busybox:1"), imagetest.Busybox(t), authn.Anonymous)
	c := &counter{base: reg.Transport, delay: 2 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := filepath.Join(t.TempDir(), "images")
	s, err := image.Open(dir, image.WithTransport(c), image.WithProgress(func(p image.Progress) {
		if p.Event == image.EventBytes && p.BytesDone > 64<<10 {
			cancel()
		}
	}))
	require.NoError(t, err)
	_, err = s.Pull(ctx, reg.Ref("busybox:1"))
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Lookup(context.Background(), reg.Ref("busybox:1"))
	require.ErrorIs(t, err, pod.ErrImageNotPresent)

	blobs, err := os.ReadDir(filepath.Join(dir, "oci/blobs/sha256"))
	require.NoError(t, err)
	for _, b := range blobs {
		assert.False(t, strings.HasPrefix(b.Name(), "tmp-"), "temporary blob %s left", b.Name())
	}

	c.delay = 0
	s2, err := image.Open(dir, image.WithTransport(c))
	require.NoError(t, err)
	img, err := s2.Pull(context.Background(), reg.Ref("busybox:1"))
	require.NoError(t, err)
	img.Release()
	assert.FileExists(t, filepath.Join(img.Layers[0], "bin/busybox"))
}

func TestPullInvalidName(t *testing.T) {
	s := open(t)
	_, err := s.Pull(context.Background(), "UPPER")
	require.ErrorIs(t, err, pod.ErrInvalidImageName)
	_, err = s.Pull(context.Background(), "sha256:"+strings.Repeat("a", 64))
	require.ErrorIs(t, err, pod.ErrInvalidImageName)
}

// A pull whose caller gives up hands the shared download to another
// caller waiting for it.
func TestPullWaiterContinues(t *testing.T) {
	reg := imagetest.StartRegistry(t, imagetest.RegistryOptions{})
	push(t, reg, reg.Ref("busybox:1"), imagetest.Busybox(t), authn.Anonymous)
	c := &counter{base: reg.Transport, delay: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	s := open(t, image.WithTransport(c), image.WithProgress(func(p image.Progress) {
		if p.Event == image.EventBytes {
			cancel()
		}
	}))
	first := make(chan error, 1)
	go func() {
		_, err := s.Pull(ctx, reg.Ref("busybox:1"))
		first <- err
	}()
	for c.blobs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	img, err := s.Pull(context.Background(), reg.Ref("busybox:1"))
	require.NoError(t, err)
	img.Release()
	require.ErrorIs(t, <-first, context.Canceled)
}

// recorder fails every request and records its URL.
type recorder struct {
	mu   sync.Mutex
	urls []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.urls = append(r.urls, req.URL.Scheme+"://"+req.URL.Host)
	return nil, errors.New("unreachable")
}

// Plain HTTP goes only to loopback registries and to those named
// insecure, though go-containerregistry would also try it for private
// addresses.
func TestPullPlainHTTPOnlyWhenAllowed(t *testing.T) {
	rec := &recorder{}
	s := open(t, image.WithTransport(rec), image.WithKeychain(authn.NewMultiKeychain()))
	_, err := s.Pull(context.Background(), "10.0.0.1:5000/x:1")
	require.ErrorContains(t, err, "plain HTTP refused")
	assert.NotContains(t, rec.urls, "http://10.0.0.1:5000")

	rec = &recorder{}
	s = open(t, image.WithTransport(rec), image.WithKeychain(authn.NewMultiKeychain()), image.WithInsecureRegistries("10.0.0.1:5000"))
	_, err = s.Pull(context.Background(), "10.0.0.1:5000/x:1")
	require.Error(t, err)
	assert.Contains(t, rec.urls, "http://10.0.0.1:5000")
}
