package unpack_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/internal/unpack"
)

// capNetBindService is a security.capability value (VFS_CAP_REVISION_2,
// effective) granting CAP_NET_BIND_SERVICE.
func capNetBindService() string {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000001)
	binary.LittleEndian.PutUint32(b[4:], 1<<unix.CAP_NET_BIND_SERVICE)
	return string(b)
}

func TestLayerEntries(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 700, time.UTC)

	suid := file("./usr/bin/su", "#!/bin/true\n")
	suid.Mode, suid.Uid, suid.Gid = 0o4755, 0, 0
	owned := file("/home/user/notes", "notes")
	owned.Uid, owned.Gid, owned.Mode, owned.ModTime = 1000, 1001, 0o640, mtime
	sgid := file("usr/bin/wall", "x")
	sgid.Gid, sgid.Mode = 5, 0o2755
	capped := file("usr/bin/ping", "ping")
	capped.Mode = 0o755
	capped.PAXRecords = map[string]string{
		"SCHILY.xattr.security.capability": capNetBindService(),
		"SCHILY.xattr.user.comment":        "hello",
	}
	tmp := dirEntry("tmp/")
	tmp.Mode, tmp.ModTime = 0o1777, mtime
	ownedDir := dirEntry("home/user/")
	ownedDir.Uid, ownedDir.Gid, ownedDir.Mode, ownedDir.ModTime = 1000, 1001, 0o700, mtime
	ownedDir.PAXRecords = map[string]string{"SCHILY.xattr.user.dir": "d"}
	link := symlink("usr/bin/sh", "busybox")
	link.Uid, link.Gid, link.ModTime = 7, 8, mtime
	fifo := entry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o620, Uid: 3, ModTime: mtime}}
	null := entry{Header: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: mtime}}
	loop := entry{Header: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/loop0", Mode: 0o660, Gid: 6, Devmajor: 7, Devminor: 0, ModTime: mtime}}
	root := dirEntry("./")
	root.Mode, root.ModTime = 0o755, mtime

	stats, err := unpack.Layer(context.Background(), bytes.NewReader(layer(t,
		root,
		dirEntry("usr/"), dirEntry("usr/bin/"),
		suid, sgid, capped, link,
		hardlink("usr/bin/su2", "./usr/bin/su"),
		ownedDir, owned,
		tmp, file("tmp/a", "a"),
		fifo, null, loop,
		file("etc/gone", "replaced by the whiteout's name? no: kept"),
		entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "etc/.wh.gone", ModTime: epoch}},
		entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "etc/.wh.passwd", ModTime: epoch}},
		entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "var/lib/apt/.wh..wh..opq", ModTime: epoch}},
		file("var/lib/apt/lists", "l"),
	)), s.dir)
	require.NoError(t, err)
	assert.Equal(t, unpack.Stats{Files: 7, Dirs: 5, Symlinks: 1, Links: 1, Nodes: 3, Whiteouts: 1, Opaques: 1, Bytes: int64(len("#!/bin/true\n") + 1 + 4 + 5 + 1 + len("replaced by the whiteout's name? no: kept") + 1)}, stats)

	p := func(name string) string { return filepath.Join(s.dir, name) }

	st := lstat(t, p("usr/bin/su"))
	assert.Equal(t, uint32(unix.S_IFREG|0o4755), st.Mode, "setuid survives chown")
	b, err := os.ReadFile(p("usr/bin/su"))
	require.NoError(t, err)
	assert.Equal(t, "#!/bin/true\n", string(b))
	assert.Equal(t, int64(epoch.Unix()), st.Mtim.Sec)

	st = lstat(t, p("usr/bin/wall"))
	assert.Equal(t, uint32(unix.S_IFREG|0o2755), st.Mode)
	assert.Equal(t, uint32(5), st.Gid)

	st = lstat(t, p("home/user/notes"))
	assert.Equal(t, [3]uint32{1000, 1001, unix.S_IFREG | 0o640}, [3]uint32{st.Uid, st.Gid, st.Mode})
	assert.Equal(t, unix.Timespec{Sec: mtime.Unix(), Nsec: 700}, st.Mtim)

	assert.Equal(t, capNetBindService(), getxattr(t, p("usr/bin/ping"), "security.capability"))
	if userXattrs(t) {
		assert.Equal(t, "hello", getxattr(t, p("usr/bin/ping"), "user.comment"))
	}

	st = lstat(t, p("home/user"))
	assert.Equal(t, [3]uint32{1000, 1001, unix.S_IFDIR | 0o700}, [3]uint32{st.Uid, st.Gid, st.Mode})
	assert.Equal(t, mtime.Unix(), st.Mtim.Sec, "a directory's mtime is set after its entries")
	if userXattrs(t) {
		assert.Equal(t, "d", getxattr(t, p("home/user"), "user.dir"))
	}
	st = lstat(t, p("tmp"))
	assert.Equal(t, uint32(unix.S_IFDIR|0o1777), st.Mode)
	assert.Equal(t, mtime.Unix(), st.Mtim.Sec)
	st = lstat(t, s.dir)
	assert.Equal(t, uint32(unix.S_IFDIR|0o755), st.Mode)
	assert.Equal(t, mtime.Unix(), st.Mtim.Sec, "./ names the root")

	st = lstat(t, p("usr/bin/sh"))
	assert.Equal(t, uint32(unix.S_IFLNK), st.Mode&unix.S_IFMT)
	assert.Equal(t, [2]uint32{7, 8}, [2]uint32{st.Uid, st.Gid}, "a symbolic link's own owner")
	assert.Equal(t, mtime.Unix(), st.Mtim.Sec)
	target, err := os.Readlink(p("usr/bin/sh"))
	require.NoError(t, err)
	assert.Equal(t, "busybox", target)

	assert.Equal(t, lstat(t, p("usr/bin/su")).Ino, lstat(t, p("usr/bin/su2")).Ino, "a hard link shares its target's inode")

	st = lstat(t, p("run/fifo"))
	assert.Equal(t, [2]uint32{unix.S_IFIFO | 0o620, 3}, [2]uint32{st.Mode, st.Uid})
	st = lstat(t, p("dev/null"))
	assert.Equal(t, uint32(unix.S_IFCHR|0o666), st.Mode)
	assert.Equal(t, [2]uint32{1, 3}, [2]uint32{unix.Major(st.Rdev), unix.Minor(st.Rdev)})
	st = lstat(t, p("dev/loop0"))
	assert.Equal(t, [3]uint32{unix.S_IFBLK | 0o660, 7, 6}, [3]uint32{st.Mode, unix.Major(st.Rdev), st.Gid})

	st = lstat(t, p("etc/passwd"))
	assert.Equal(t, uint32(unix.S_IFCHR), st.Mode&unix.S_IFMT, "a whiteout is a character device")
	assert.Equal(t, uint64(0), st.Rdev, "0/0")
	assert.Equal(t, uint32(unix.S_IFREG), lstat(t, p("etc/gone")).Mode&unix.S_IFMT,
		"a whiteout hides the lower layers' entry, not this layer's")
	assert.Equal(t, "y", getxattr(t, p("var/lib/apt"), "trusted.overlay.opaque"))
	_, err = os.Stat(p("var/lib/apt/lists"))
	assert.NoError(t, err, "an opaque directory keeps this layer's entries")

	st = lstat(t, p("var/lib"))
	assert.Equal(t, [3]uint32{0, 0, unix.S_IFDIR | 0o755}, [3]uint32{st.Uid, st.Gid, st.Mode}, "missing parents are made 0755, root's")
	_, err = os.Lstat(p("etc/.wh.passwd"))
	assert.True(t, os.IsNotExist(err))
}

// A later entry replaces an earlier one of the same name, as tar
// extractors do; a directory stays a directory and keeps its entries.
func TestLayerReplaces(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	d2 := dirEntry("d/")
	d2.Mode = 0o700
	_, err := unpack.Layer(context.Background(), bytes.NewReader(layer(t,
		file("a", "first"), file("a", "second"),
		symlink("b", "a"), file("b", "not through the link"),
		dirEntry("d/"), file("d/x", "x"), d2,
		dirEntry("e/"), file("e/x", "x"), symlink("e", "d"),
		file("f", "f"), dirEntry("f/"),
		entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: ".wh.g"}}, dirEntry("g/"), file("g/x", "x"),
		entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: ".wh.h"}}, file("h/x", "x"),
		dirEntry("i/"), entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: ".wh.i"}},
	)), s.dir)
	require.NoError(t, err)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(s.dir, name))
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, "second", read("a"))
	assert.Equal(t, "not through the link", read("b"))
	assert.Equal(t, uint32(unix.S_IFREG), lstat(t, filepath.Join(s.dir, "b")).Mode&unix.S_IFMT)
	assert.Equal(t, uint32(unix.S_IFDIR|0o700), lstat(t, filepath.Join(s.dir, "d")).Mode)
	assert.Equal(t, "x", read("d/x"))
	assert.Equal(t, uint32(unix.S_IFLNK), lstat(t, filepath.Join(s.dir, "e")).Mode&unix.S_IFMT)
	assert.Equal(t, uint32(unix.S_IFDIR), lstat(t, filepath.Join(s.dir, "f")).Mode&unix.S_IFMT)
	for _, d := range []string{"g", "h", "i"} {
		assert.Equal(t, uint32(unix.S_IFDIR), lstat(t, filepath.Join(s.dir, d)).Mode&unix.S_IFMT, d)
		assert.Equal(t, "y", getxattr(t, filepath.Join(s.dir, d), "trusted.overlay.opaque"),
			"%s: a whiteout and a directory of the same layer make an opaque directory", d)
	}
}

func TestLayerRefuses(t *testing.T) {
	requireRoot(t)
	long := strings.Repeat("a/", 2100) + "f"
	for _, tc := range []struct {
		name    string
		entries []entry
		want    string
	}{{
		name:    "hard link to a later entry",
		entries: []entry{hardlink("l", "later"), file("later", "x")},
		want:    `unpack: entry "l": hard link to "later": not an earlier entry of this layer`,
	}, {
		name:    "hard link to a directory",
		entries: []entry{dirEntry("d/"), hardlink("l", "d")},
		want:    `unpack: entry "l": hard link to "d"`,
	}, {
		name:    "hard link to itself",
		entries: []entry{hardlink("l", "./l")},
		want:    `unpack: entry "l": hard link to "./l": not an earlier entry`,
	}, {
		name: "overlay xattr",
		entries: []entry{{Header: tar.Header{Typeflag: tar.TypeDir, Name: "d/", Mode: 0o755,
			PAXRecords: map[string]string{"SCHILY.xattr.trusted.overlay.opaque": "y"}}}},
		want: `unpack: entry "d/": xattr "trusted.overlay.opaque": overlayfs's own, refused`,
	}, {
		name: "overlay xattr for user namespaces",
		entries: []entry{{Header: tar.Header{Typeflag: tar.TypeReg, Name: "f", Mode: 0o644,
			PAXRecords: map[string]string{"SCHILY.xattr.user.overlay.redirect": "/x"}}}},
		want: `unpack: entry "f": xattr "user.overlay.redirect": overlayfs's own, refused`,
	}, {
		name:    "unknown whiteout meta-entry",
		entries: []entry{file("d/.wh..wh.plnk", "")},
		want:    `unpack: entry "d/.wh..wh.plnk": unknown whiteout meta-entry`,
	}, {
		name:    "empty whiteout",
		entries: []entry{file("d/.wh.", "")},
		want:    `unpack: entry "d/.wh.": whiteout of "": names no file`,
	}, {
		name:    "character device 0:0",
		entries: []entry{{Header: tar.Header{Typeflag: tar.TypeChar, Name: "wh", Mode: 0o600}}},
		want:    `unpack: entry "wh": character device 0:0: a whiteout in overlayfs's form, refused`,
	}, {
		name:    "name longer than PATH_MAX",
		entries: []entry{file(long, "x")},
		want:    `unpack: entry "` + long + `": name of 4201 bytes is longer than PATH_MAX (4095)`,
	}, {
		name:    "element longer than NAME_MAX",
		entries: []entry{file(strings.Repeat("n", 300)+"/f", "x")},
		want:    "file name too long",
	}, {
		name:    "unsupported type",
		entries: []entry{{Header: tar.Header{Typeflag: 'V', Name: "volume"}}},
		want:    `unpack: entry "volume": unsupported entry type 'V'`,
	}, {
		name:    "negative uid",
		entries: []entry{{Header: tar.Header{Typeflag: tar.TypeDir, Name: "d", Uid: -1}}},
		want:    `unpack: entry "d": uid -1 out of range`,
	}, {
		name:    "root as a file",
		entries: []entry{file(".", "x")},
		want:    `unpack: entry ".": names the layer's root`,
	}, {
		name:    "file under a file",
		entries: []entry{file("f", "x"), file("f/g", "y")},
		want:    `unpack: entry "f/g": directory "f": not a directory (an earlier entry that is no directory)`,
	}, {
		name:    "dangling parent link",
		entries: []entry{symlink("s", "nowhere"), file("s/g", "y")},
		want:    `unpack: entry "s/g": directory "s": no such file or directory (a symbolic link that resolves to no directory)`,
	}, {
		name:    "empty symlink target",
		entries: []entry{symlink("s", "")},
		want:    `unpack: entry "s": symbolic link with an empty target`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			before := s.outside(t)
			_, err := unpack.Layer(context.Background(), bytes.NewReader(layer(t, tc.entries...)), s.dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, before, s.outside(t))
		})
	}
}

func TestLayerDirNotEmpty(t *testing.T) {
	s := newSandbox(t)
	_, err := unpack.Layer(context.Background(), bytes.NewReader(layer(t)), s.top)
	require.ErrorContains(t, err, "unpack: "+s.top+": not empty")
	_, err = unpack.Layer(context.Background(), bytes.NewReader(layer(t)), filepath.Join(s.top, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// countingReader counts the bytes read and whether io.EOF was seen.
type countingReader struct {
	r   io.Reader
	n   int
	eof bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

func TestLayerReadsToEOF(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	// tar writers pad archives to a record of 10240 bytes; a layer may
	// hold more zeros after its end-of-archive blocks.
	b := append(layer(t, file("f", "x")), make([]byte, 3*10240)...)
	r := &countingReader{r: bytes.NewReader(b)}
	_, err := unpack.Layer(context.Background(), r, s.dir)
	require.NoError(t, err)
	assert.True(t, r.eof)
	assert.Equal(t, len(b), r.n)
}

// cancelReader cancels its context once n bytes have been read.
type cancelReader struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func TestLayerCancel(t *testing.T) {
	requireRoot(t)
	big := strings.Repeat("x", 8<<20)
	b := layer(t, file("a", "a"), file("big", big), file("c", "c"))

	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := unpack.Layer(ctx, bytes.NewReader(b), newSandbox(t).dir)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("inside a large file", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s := newSandbox(t)
		stats, err := unpack.Layer(ctx, &cancelReader{r: bytes.NewReader(b), n: 2 << 20, cancel: cancel}, s.dir)
		require.ErrorIs(t, err, context.Canceled)
		assert.Contains(t, err.Error(), `unpack: entry "big": `)
		assert.Less(t, stats.Bytes, int64(len(big)))
		_, err = os.Lstat(filepath.Join(s.dir, "c"))
		assert.True(t, errors.Is(err, os.ErrNotExist))
	})
}

func TestLayerTruncated(t *testing.T) {
	requireRoot(t)
	b := layer(t, file("f", strings.Repeat("x", 4096)))
	_, err := unpack.Layer(context.Background(), bytes.NewReader(b[:1500]), newSandbox(t).dir)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Contains(t, err.Error(), `unpack: entry "f": reading the contents: `)
}

// GNU tar's sparse entries, old GNU and PAX forms, are refused: a small
// map can describe an enormous file of holes.
func TestLayerSparse(t *testing.T) {
	requireRoot(t)
	testenv.RequireTool(t, "tar")
	src := t.TempDir()
	f, err := os.Create(filepath.Join(src, "holes"))
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("end"), 1<<30)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	for _, format := range []string{"gnu", "pax"} {
		t.Run(format, func(t *testing.T) {
			out, err := exec.Command("tar", "-C", src, "--sparse", "--format="+format, "-cf", "-", "holes").Output()
			require.NoError(t, err)
			require.Less(t, len(out), 1<<20)
			_, err = unpack.Layer(context.Background(), bytes.NewReader(out), newSandbox(t).dir)
			require.ErrorContains(t, err, `unpack: entry "holes": sparse files are not supported`)
		})
	}
}

// A PAX global header, which git archive writes first, is no entry.
func TestLayerGlobalHeader(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	stats, err := unpack.Layer(context.Background(), bytes.NewReader(layer(t,
		entry{Header: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
			PAXRecords: map[string]string{"comment": "0123abcd"}}},
		file("f", "x"),
	)), s.dir)
	require.NoError(t, err)
	assert.Equal(t, 1, stats.Files)
}

// userXattrs reports whether the test's temporary directories keep
// extended attributes of the user namespace (tmpfs before Linux 6.6 does
// not; the unpacker drops them there).
func userXattrs(t *testing.T) bool {
	err := unix.Setxattr(t.TempDir(), "user.probe", []byte("1"), 0)
	return !errors.Is(err, unix.EOPNOTSUPP)
}
