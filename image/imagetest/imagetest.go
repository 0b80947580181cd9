package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/podkit/podkit/internal/testenv"
)

// File is one entry of a layer built by Layer.
type File struct {
	// Name is the path inside the image, such as "bin/sh".
	Name string
	// Content is a regular file's content.
	Content []byte
	// Link, when set, makes the entry a symbolic link to Link.
	Link string
	// Mode is the permission bits; 0 means 0644 (0755 for a directory
	// created on the way).
	Mode os.FileMode
}

// Tar returns an uncompressed tar stream of files, in the order given,
// with zero times and root ownership, so the same files give the same
// bytes.
func Tar(t testing.TB, files ...File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: int64(f.Mode), Format: tar.FormatPAX}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if f.Link != "" {
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.Link, 0o777
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Content))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("imagetest: tar %s: %v", f.Name, err)
		}
		if _, err := tw.Write(f.Content); err != nil {
			t.Fatalf("imagetest: tar %s: %v", f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("imagetest: tar: %v", err)
	}
	return buf.Bytes()
}

// Layer returns a gzip-compressed layer of files.
func Layer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	b := Tar(t, files...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatalf("imagetest: layer: %v", err)
	}
	return l
}

// Image returns an OCI image of layers (bottom first) for linux on
// arch, with the given run configuration and a zero created time, so the
// same input gives the same digest.
func Image(t testing.TB, arch string, cfg v1.Config, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1)
	var adds []mutate.Addendum
	for _, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "imagetest"}})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		t.Fatalf("imagetest: image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("imagetest: image: %v", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", arch, cfg
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatalf("imagetest: image: %v", err)
	}
	return img
}

// Busybox returns a one-layer image for linux on runtime.GOARCH holding /bin/busybox, the host's static
// busybox, with /bin/sh linked to it, and Cmd ["/bin/sh"]. It needs the
// busybox command (package busybox-static); without it the test is
// skipped, or fails under CI=true.
func Busybox(t testing.TB) v1.Image {
	t.Helper()
	testenv.RequireTool(t, "busybox")
	p, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	l := Layer(t, File{Name: "bin/busybox", Content: b, Mode: 0o755}, File{Name: "bin/sh", Link: "busybox"})
	return Image(t, runtime.GOARCH, v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}}, l)
}

// Index returns a multi-platform index of imgs, each described with the
// OS and architecture of its configuration.
func Index(t testing.TB, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatalf("imagetest: index: %v", err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: cf.Platform()}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

// WriteDockerArchive writes images as a docker-archive (docker save's
// format) to path; each image is tagged with its key, a reference such as
// "example.com/busybox:1".
func WriteDockerArchive(t testing.TB, path string, images map[string]v1.Image) {
	t.Helper()
	refs := map[name.Reference]v1.Image{}
	for ref, img := range images {
		tag, err := name.NewTag(ref)
		if err != nil {
			t.Fatalf("imagetest: %v", err)
		}
		refs[tag] = img
	}
	if err := tarball.MultiRefWriteToFile(path, refs); err != nil {
		t.Fatalf("imagetest: docker archive %s: %v", path, err)
	}
}

// WriteLayout writes images as an OCI image layout in dir, each
// annotated with its key as org.opencontainers.image.ref.name; a value
// may be a v1.Image or a v1.ImageIndex.
func WriteLayout(t testing.TB, dir string, images map[string]any) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatalf("imagetest: layout %s: %v", dir, err)
	}
	refs := make([]string, 0, len(images))
	for ref := range images {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		opt := layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})
		switch v := images[ref].(type) {
		case v1.Image:
			err = p.AppendImage(v, opt)
		case v1.ImageIndex:
			err = p.AppendIndex(v, opt)
		default:
			t.Fatalf("imagetest: layout: %s: %T is neither an image nor an index", ref, v)
		}
		if err != nil {
			t.Fatalf("imagetest: layout %s: %v", dir, err)
		}
	}
}

// WriteOCIArchive writes images as WriteLayout does, as a tar of the
// layout at path (an OCI archive, as skopeo's oci-archive: writes).
func WriteOCIArchive(t testing.TB, path string, images map[string]any) {
	t.Helper()
	dir := t.TempDir()
	WriteLayout(t, dir, images)
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatalf("imagetest: oci archive %s: %v", path, err)
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("imagetest: oci archive %s: %v", path, err)
	}
}
