package unpack_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// entry is a tar entry for a test layer: a header and, for regular
// files, contents.
type entry struct {
	tar.Header
	body string
}

var epoch = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func file(name, body string) entry {
	return entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, ModTime: epoch}, body: body}
}

func dirEntry(name string) entry {
	return entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch}}
}

func symlink(name, target string) entry {
	return entry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch}}
}

func hardlink(name, target string) entry {
	return entry{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644, ModTime: epoch}}
}

// layer builds a tar stream of entries, in PAX format so that xattrs and
// long names are kept.
func layer(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.Header
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		h.Format = tar.FormatPAX
		require.NoError(t, tw.WriteHeader(&h))
		if e.body != "" {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

// sandbox is a TempDir holding the layer's directory and, next to it, a
// sentinel directory that no layer may change.
type sandbox struct {
	top, dir, sentinel string
}

func newSandbox(t testing.TB) sandbox {
	t.Helper()
	top := t.TempDir()
	s := sandbox{top: top, dir: filepath.Join(top, "layer"), sentinel: filepath.Join(top, "sentinel")}
	require.NoError(t, os.Mkdir(s.dir, 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(s.sentinel, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(s.sentinel, "keep"), []byte("keep"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(s.sentinel, "sub", "keep"), []byte("keep"), 0o600))
	require.NoError(t, os.Symlink("keep", filepath.Join(s.sentinel, "link")))
	return s
}

// outside describes everything under top but the layer's directory:
// path, type, mode, owner, size, mtime and contents of each file.
func (s sandbox) outside(t testing.TB) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(s.top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == s.dir {
			return filepath.SkipDir
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%o uid=%d gid=%d size=%d mtime=%d.%d", st.Mode, st.Uid, st.Gid, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" sha=%x", sha256.Sum256(b))
		}
		m[p] = desc
		return nil
	})
	require.NoError(t, err)
	return m
}

func lstat(t testing.TB, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(p, &st), p)
	return st
}

func getxattr(t testing.TB, p, name string) string {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, name, buf)
	require.NoError(t, err, "%s: %s", p, name)
	return string(buf[:n])
}

func requireRoot(t testing.TB) { testenv.RequireRoot(t) }
