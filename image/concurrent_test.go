package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/image"
)

const concurrentImages = 8

// rootfsN returns a small distinct root filesystem per prefix and i.
func rootfsN(prefix string, i int) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	content := fmt.Appendf(nil, "%s %d\n", prefix, i)
	tw.WriteHeader(&tar.Header{Name: "id", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	tw.Write(content)
	tw.Close()
	return buf.Bytes()
}

// Two Stores on one directory in this process, and a second process,
// import, look up and prune at once; every image each stored is there
// at the end, and unpacked.
func TestSharedStore(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "images")
	a, err := image.Open(dir)
	require.NoError(t, err)
	b, err := image.Open(dir)
	require.NoError(t, err)

	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())

	var wg sync.WaitGroup
	for _, w := range []struct {
		s      *image.Store
		prefix string
	}{{a, "a"}, {b, "b"}} {
		wg.Go(func() {
			for i := range concurrentImages {
				ref := fmt.Sprintf("%s:%d", w.prefix, i)
				_, err := w.s.Import(ctx, bytes.NewReader(rootfsN(w.prefix, i)), ref, image.ImportConfig{})
				if !assert.NoError(t, err) {
					return
				}
				img, err := w.s.Lookup(ctx, ref)
				if !assert.NoError(t, err) {
					return
				}
				img.Release()
				_, err = w.s.Prune(ctx)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	require.NoError(t, cmd.Wait(), "%s", out.String())

	list, err := b.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 3*concurrentImages)
	for _, prefix := range []string{"a", "b", "child"} {
		for i := range concurrentImages {
			img, err := a.Lookup(ctx, fmt.Sprintf("%s:%d", prefix, i))
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(img.Layers[0], "id"))
			img.Release()
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("%s %d\n", prefix, i), string(got))
		}
	}
}
