package image_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/image"
	"github.com/podkit/podkit/image/imagetest"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
)

func open(t *testing.T, opts ...image.Option) *image.Store {
	t.Helper()
	s, err := image.Open(filepath.Join(t.TempDir(), "images"), opts...)
	require.NoError(t, err)
	return s
}

func lookup(t *testing.T, s *image.Store, ref string) *pod.Image {
	t.Helper()
	img, err := s.Lookup(context.Background(), ref)
	require.NoError(t, err)
	t.Cleanup(img.Release)
	return img
}

func rootfs(t *testing.T) []byte {
	return imagetest.Tar(t,
		imagetest.File{Name: "etc/hello", Content: []byte("hello\n")},
		imagetest.File{Name: "bin/true", Content: []byte("#!/bin/sh\n"), Mode: 0o755},
		imagetest.File{Name: "bin/link", Link: "true"})
}

// The store's directory is closed to other users and is an OCI layout.
func TestOpenLayout(t *testing.T) {
	s := open(t)
	info, err := os.Stat(s.Dir())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	_, err = layout.ImageIndexFromPath(filepath.Join(s.Dir(), "oci"))
	require.NoError(t, err)
	_, err = image.Open("")
	require.ErrorContains(t, err, "image: dir: empty")
}

// Import gives the same digest for the same tarball, and Lookup unpacks
// it with its configuration.
func TestImport(t *testing.T) {
	ctx := context.Background()
	cfg := image.ImportConfig{Cmd: []string{"/bin/true"}, Env: []string{"A=1"}, WorkingDir: "/etc", User: "1:1"}
	var digests []string
	for range 2 {
		s := open(t)
		li, err := s.Import(ctx, bytes.NewReader(rootfs(t)), "example.com/rootfs:1", cfg)
		require.NoError(t, err)
		assert.Equal(t, []string{"example.com/rootfs:1"}, li.Names)
		digests = append(digests, li.Digest)
		img := lookup(t, s, "example.com/rootfs:1")
		assert.Equal(t, li.Digest, img.Digest)
		assert.Equal(t, li.ID, img.ID)
		assert.Equal(t, pod.ImageConfig{Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: "/etc", User: "1:1"}, img.Config)
		require.Len(t, img.Layers, 1)
		b, err := os.ReadFile(filepath.Join(img.Layers[0], "etc/hello"))
		require.NoError(t, err)
		assert.Equal(t, "hello\n", string(b))
		l, err := os.Readlink(filepath.Join(img.Layers[0], "bin/link"))
		require.NoError(t, err)
		assert.Equal(t, "true", l)
	}
	assert.Equal(t, digests[0], digests[1])

	// A gzip-compressed tarball is the same image.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(rootfs(t))
	require.NoError(t, zw.Close())
	li, err := open(t).Import(ctx, &gz, "example.com/rootfs:1", cfg)
	require.NoError(t, err)
	assert.Equal(t, digests[0], li.Digest)
}

// Lookup accepts a tag, a digest reference and an ID prefix, and says
// which images are not there.
func TestLookupRefs(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	li, err := s.Import(ctx, bytes.NewReader(rootfs(t)), "rootfs", image.ImportConfig{})
	require.NoError(t, err)
	assert.Equal(t, []string{"index.docker.io/library/rootfs:latest"}, li.Names)
	id := strings.TrimPrefix(li.ID, "sha256:")
	for _, ref := range []string{"rootfs", "docker.io/library/rootfs:latest", "rootfs@" + li.Digest, id, id[:12], li.ID} {
		img := lookup(t, s, ref)
		assert.Equal(t, li.Digest, img.Digest, ref)
	}
	// A hex name that is no image's ID is a repository name.
	hex, err := s.Import(ctx, bytes.NewReader(rootfs(t)), "deadbeefcafe1", image.ImportConfig{Cmd: []string{"x"}})
	require.NoError(t, err)
	assert.Equal(t, hex.Digest, lookup(t, s, "deadbeefcafe1").Digest)

	for ref, want := range map[string]error{
		"rootfs:2":         pod.ErrImageNotPresent,
		"other":            pod.ErrImageNotPresent,
		"abcdefabcdef":     pod.ErrImageNotPresent,
		"UPPER/case":       pod.ErrInvalidImageName,
		"rootfs@sha256:xy": pod.ErrInvalidImageName,
	} {
		_, err := s.Lookup(ctx, ref)
		assert.ErrorIs(t, err, want, ref)
	}
}

func TestListInspectTagRemovePrune(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	li, err := s.Import(ctx, bytes.NewReader(rootfs(t)), "a:1", image.ImportConfig{})
	require.NoError(t, err)
	require.NoError(t, s.Tag(ctx, "a:1", "b:2"))
	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, []string{"index.docker.io/library/a:1", "index.docker.io/library/b:2"}, list[0].Names)
	assert.Equal(t, li.ID, list[0].ID)

	img := lookup(t, s, "b:2")
	d, err := s.Inspect(ctx, "a:1")
	require.NoError(t, err)
	require.Len(t, d.Layers, 1)
	assert.Equal(t, img.Layers[0], d.Layers[0].Unpacked)
	assert.Equal(t, d.Layers[0].Digest, d.Layers[0].DiffID, "an imported layer is stored uncompressed")

	require.NoError(t, s.Remove(ctx, "a:1"))
	_, err = s.Lookup(ctx, "a:1")
	require.ErrorIs(t, err, pod.ErrImageNotPresent)
	lookup(t, s, "b:2").Release()

	// Removing the last name removes the blobs; the layer an unreleased
	// Image holds stays until it is released and pruned.
	require.NoError(t, s.Remove(ctx, "b:2"))
	list, err = s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	assert.DirExists(t, img.Layers[0])
	rep, err := s.Prune(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Busy)
	img.Release()
	rep, err = s.Prune(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Layers)
	assert.Positive(t, rep.Freed)
	assert.NoDirExists(t, img.Layers[0])
	blobs, err := os.ReadDir(filepath.Join(s.Dir(), "oci/blobs/sha256"))
	require.NoError(t, err)
	assert.Empty(t, blobs)
}

func TestLoadDockerArchive(t *testing.T) {
	ctx := context.Background()
	bb := imagetest.Busybox(t)
	other := imagetest.Image(t, runtime.GOARCH, v1.Config{Cmd: []string{"x"}}, imagetest.Layer(t, imagetest.File{Name: "x", Content: []byte("x")}))
	path := filepath.Join(t.TempDir(), "a.tar")
	imagetest.WriteDockerArchive(t, path, map[string]v1.Image{"example.com/busybox:1": bb, "example.com/other:1": other})
	s := open(t)
	loaded, err := s.Load(ctx, path)
	require.NoError(t, err)
	require.Len(t, loaded, 2)
	img := lookup(t, s, "example.com/busybox:1")
	wantID, err := bb.ConfigName()
	require.NoError(t, err)
	assert.Equal(t, wantID.String(), img.ID, "the image ID is the archive's configuration digest")
	assert.Equal(t, []string{"/bin/sh"}, img.Config.Cmd)
	assert.FileExists(t, filepath.Join(img.Layers[0], "bin/busybox"))
	lookup(t, s, "example.com/other:1")
}

func TestLoadOCILayoutAndArchive(t *testing.T) {
	ctx := context.Background()
	bb := imagetest.Busybox(t)
	want, err := bb.Digest()
	require.NoError(t, err)
	images := map[string]any{"example.com/busybox:1": bb}
	dir := filepath.Join(t.TempDir(), "layout")
	imagetest.WriteLayout(t, dir, images)
	arch := filepath.Join(t.TempDir(), "oci.tar")
	imagetest.WriteOCIArchive(t, arch, images)
	for _, path := range []string{dir, arch} {
		s := open(t)
		loaded, err := s.Load(ctx, path)
		require.NoError(t, err)
		require.Equal(t, []image.LoadedImage{{Names: []string{"example.com/busybox:1"}, Digest: want.String(), ID: loaded[0].ID}}, loaded)
		img := lookup(t, s, "example.com/busybox:1")
		assert.Equal(t, want.String(), img.Digest, "the manifest is stored as it was")
		ents, err := os.ReadDir(s.Dir())
		require.NoError(t, err)
		for _, e := range ents {
			assert.False(t, strings.HasPrefix(e.Name(), "tmp-"), e.Name())
		}
	}
}

// Archives compressed with gzip (docker save | gzip) or zstd load as the
// plain ones do, and leave no decompressed copy behind; a truncated one is
// refused with the archive's name.
func TestLoadCompressedArchives(t *testing.T) {
	ctx := context.Background()
	bb := imagetest.Busybox(t)
	want, err := bb.Digest()
	require.NoError(t, err)
	dir := t.TempDir()
	docker := filepath.Join(dir, "docker.tar")
	imagetest.WriteDockerArchive(t, docker, map[string]v1.Image{"example.com/busybox:1": bb})
	oci := filepath.Join(dir, "oci.tar")
	imagetest.WriteOCIArchive(t, oci, map[string]any{"example.com/busybox:1": bb})
	compress := func(src, dst string, newWriter func(io.Writer) io.WriteCloser) string {
		data, err := os.ReadFile(src)
		require.NoError(t, err)
		var buf bytes.Buffer
		w := newWriter(&buf)
		_, err = w.Write(data)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		require.NoError(t, os.WriteFile(dst, buf.Bytes(), 0o644))
		return dst
	}
	gz := func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) }
	zst := func(w io.Writer) io.WriteCloser {
		z, err := zstd.NewWriter(w)
		require.NoError(t, err)
		return z
	}
	for _, path := range []string{
		compress(docker, filepath.Join(dir, "docker.tar.gz"), gz),
		compress(oci, filepath.Join(dir, "oci.tar.zst"), zst),
	} {
		s := open(t)
		loaded, err := s.Load(ctx, path)
		require.NoError(t, err, path)
		require.Len(t, loaded, 1)
		assert.Equal(t, []string{"example.com/busybox:1"}, loaded[0].Names, path)
		img := lookup(t, s, "example.com/busybox:1")
		assert.FileExists(t, filepath.Join(img.Layers[0], "bin/busybox"))
		if strings.Contains(path, "oci") {
			assert.Equal(t, want.String(), img.Digest, path)
		}
		ents, err := os.ReadDir(s.Dir())
		require.NoError(t, err)
		for _, e := range ents {
			assert.False(t, strings.HasPrefix(e.Name(), "tmp-"), e.Name())
		}
	}
	whole, err := os.ReadFile(filepath.Join(dir, "docker.tar.gz"))
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.tar.gz")
	require.NoError(t, os.WriteFile(cut, whole[:len(whole)/2], 0o644))
	s := open(t)
	_, err = s.Load(ctx, cut)
	require.ErrorContains(t, err, "image: load "+cut+": decompressing: ")
	ents, err := os.ReadDir(s.Dir())
	require.NoError(t, err)
	for _, e := range ents {
		assert.False(t, strings.HasPrefix(e.Name(), "tmp-"), e.Name())
	}
}

// A multi-platform image resolves to the store's platform; only that
// manifest is stored.
func TestLoadIndex(t *testing.T) {
	bb := imagetest.Busybox(t)
	foreign := "arm64"
	if runtime.GOARCH == "arm64" {
		foreign = "amd64"
	}
	other := imagetest.Image(t, foreign, v1.Config{}, imagetest.Layer(t, imagetest.File{Name: "other", Content: []byte("o")}))
	idx := imagetest.Index(t, other, bb)
	dir := t.TempDir()
	imagetest.WriteLayout(t, dir, map[string]any{"example.com/multi:1": idx})
	s := open(t)
	loaded, err := s.Load(context.Background(), dir)
	require.NoError(t, err)
	want, _ := bb.Digest()
	require.Len(t, loaded, 1)
	assert.Equal(t, want.String(), loaded[0].Digest)
	d, err := s.Inspect(context.Background(), "example.com/multi:1")
	require.NoError(t, err)
	idxDigest, _ := idx.Digest()
	assert.Equal(t, idxDigest.String(), d.Index)
}

// A blob whose content does not match its digest is refused, and nothing
// of the image enters the store.
func TestLoadCorruptBlob(t *testing.T) {
	bb := imagetest.Busybox(t)
	dir := t.TempDir()
	imagetest.WriteLayout(t, dir, map[string]any{"example.com/busybox:1": bb})
	layers, err := bb.Layers()
	require.NoError(t, err)
	d, err := layers[0].Digest()
	require.NoError(t, err)
	p := filepath.Join(dir, "blobs/sha256", d.Hex)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(p, b, 0o644))

	s := open(t)
	_, err = s.Load(context.Background(), dir)
	require.ErrorIs(t, err, image.ErrDigestMismatch)
	_, err = s.Lookup(context.Background(), "example.com/busybox:1")
	require.ErrorIs(t, err, pod.ErrImageNotPresent)
	_, err = os.Stat(filepath.Join(s.Dir(), "oci/blobs/sha256", d.Hex))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// A docker-archive whose layer differs from the configuration's diffID is
// refused.
func TestLoadDockerArchiveCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.tar")
	imagetest.WriteDockerArchive(t, path, map[string]v1.Image{"example.com/busybox:1": imagetest.Busybox(t)})
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	// Corrupt a byte of busybox's content, the bulk of the archive.
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(path, b, 0o644))
	s := open(t)
	_, err = s.Load(context.Background(), path)
	require.Error(t, err)
	list, err := s.List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, list)
}

// skopeo reads the store's layout by the full reference.
func TestSkopeoReadsStore(t *testing.T) {
	testenv.RequireTool(t, "skopeo")
	s := open(t)
	_, err := s.Import(context.Background(), bytes.NewReader(rootfs(t)), "example.com/rootfs:1", image.ImportConfig{})
	require.NoError(t, err)
	out, err := exec.Command("skopeo", "inspect", "--raw", "oci:"+filepath.Join(s.Dir(), "oci")+":example.com/rootfs:1").CombinedOutput()
	require.NoError(t, err, "%s", out)
	m, err := v1.ParseManifest(bytes.NewReader(out))
	require.NoError(t, err)
	require.Len(t, m.Layers, 1)
}

func TestLoadNotAnArchive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	require.NoError(t, os.WriteFile(p, []byte("not a tar"), 0o644))
	_, err := open(t).Load(context.Background(), p)
	require.ErrorContains(t, err, "not a docker-archive")
	_, err = open(t).Load(context.Background(), filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// A layer blob whose uncompressed stream does not match the
// configuration's diffID is refused at unpacking, and no layer directory
// is left.
func TestUnpackVerifiesDiffID(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	li, err := s.Import(ctx, bytes.NewReader(rootfs(t)), "a:1", image.ImportConfig{})
	require.NoError(t, err)
	d, err := s.Inspect(ctx, li.ID)
	require.NoError(t, err)
	h, err := v1.NewHash(d.Layers[0].Digest)
	require.NoError(t, err)
	p := filepath.Join(s.Dir(), "oci/blobs/sha256", h.Hex)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "hello\n", string(b[512:518]), "etc/hello's content follows its header")
	b[512] = 'j'
	require.NoError(t, os.WriteFile(p, b, 0o600))

	_, err = s.Lookup(ctx, "a:1")
	require.ErrorIs(t, err, image.ErrDigestMismatch)
	ents, err := os.ReadDir(filepath.Join(s.Dir(), "layers"))
	require.NoError(t, err)
	require.Len(t, ents, 1, "only layers/sha256")
	ents, err = os.ReadDir(filepath.Join(s.Dir(), "layers/sha256"))
	require.NoError(t, err)
	assert.Empty(t, ents)
}
