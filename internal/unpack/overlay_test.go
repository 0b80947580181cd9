package unpack_test

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/internal/unpack"
)

// Two unpacked layers mount as an overlay: the upper layer's whiteout
// deletes a lower file, its opaque directory hides the lower directory's
// contents.
func TestLayerOverlay(t *testing.T) {
	requireRoot(t)
	testenv.RequireTool(t, "unshare")
	testenv.RequireTool(t, "mount")
	top := t.TempDir()
	lower, upper, merged := filepath.Join(top, "lower"), filepath.Join(top, "upper"), filepath.Join(top, "merged")
	for _, d := range []string{lower, upper, merged} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	_, err := unpack.Layer(context.Background(), bytes.NewReader(layer(t,
		dirEntry("etc/"), file("etc/keep", "keep"), file("etc/gone", "gone"),
		dirEntry("cache/"), file("cache/old", "old"), dirEntry("cache/sub/"), file("cache/sub/older", "older"),
	)), lower)
	require.NoError(t, err)
	_, err = unpack.Layer(context.Background(), bytes.NewReader(layer(t,
		entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "etc/.wh.gone"}},
		file("etc/new", "new"),
		dirEntry("cache/"),
		entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "cache/.wh..wh..opq"}},
		file("cache/fresh", "fresh"),
	)), upper)
	require.NoError(t, err)

	// A private mount namespace keeps the mount from the host's and
	// takes it away when the shell exits.
	out, err := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t overlay overlay -o "lowerdir=$1:$2" "$3" && cd "$3" && ls -A etc cache && cat etc/keep`,
		"sh", upper, lower, merged).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, strings.Join([]string{
		"cache:", "fresh", "",
		"etc:", "keep", "new", "keep",
	}, "\n"), strings.TrimSpace(string(out)))
}

// A layer made of busybox and its links runs as a root filesystem.
func TestLayerBusybox(t *testing.T) {
	requireRoot(t)
	testenv.RequireTool(t, "busybox")
	testenv.RequireTool(t, "chroot")
	bb, err := exec.LookPath("busybox")
	require.NoError(t, err)
	b, err := os.ReadFile(bb)
	require.NoError(t, err)
	busybox := file("bin/busybox", string(b))
	busybox.Mode = 0o755
	entries := []entry{dirEntry("./"), dirEntry("bin/"), busybox}
	for _, applet := range []string{"sh", "ls", "cat", "echo", "id"} {
		entries = append(entries, symlink("bin/"+applet, "busybox"))
	}
	entries = append(entries, hardlink("bin/true", "bin/busybox"), dirEntry("etc/"), file("etc/hostname", "layer\n"))

	s := newSandbox(t)
	stats, err := unpack.Layer(context.Background(), bytes.NewReader(layer(t, entries...)), s.dir)
	require.NoError(t, err)
	assert.Equal(t, int64(len(b)+len("layer\n")), stats.Bytes)
	out, err := exec.Command("chroot", s.dir, "/bin/sh", "-c", "cat /etc/hostname && /bin/true && ls /bin").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "layer\nbusybox\ncat\necho\nid\nls\nsh\ntrue\n", string(out))
}
