package unpack

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Stats counts what Layer unpacked.
type Stats struct {
	// Files, Dirs, Symlinks and Links count regular files, directories,
	// symbolic links and hard links.
	Files, Dirs, Symlinks, Links int
	// Nodes counts character and block devices and FIFOs (whiteouts not
	// included).
	Nodes int
	// Whiteouts counts whiteout entries (.wh.NAME) made into 0/0
	// character devices, Opaques the directories marked opaque
	// (.wh..wh..opq).
	Whiteouts, Opaques int
	// Bytes is the size of the regular files' contents.
	Bytes int64
}

const (
	// pathMax is Linux's PATH_MAX, which counts the terminating NUL.
	pathMax = 4096
	// bufSize is the copy buffer's size.
	bufSize = 1 << 20

	whPrefix    = ".wh."
	whMeta      = ".wh..wh."
	whOpaque    = ".wh..wh..opq"
	xattrPrefix = "SCHILY.xattr."
)

// Layer unpacks the uncompressed tar stream r, one OCI image layer, into
// dir, which must exist and be empty, in overlayfs's form: dir can serve
// as a lowerdir as it is. It returns what it unpacked.
//
// Layer blocks until r is read to its end (io.EOF), past the archive's
// end-of-archive blocks, so that a caller hashing r sees every byte; an
// entry fails, r fails, or ctx is done (checked between entries and
// between the chunks of a file's contents; the error then wraps ctx's).
// Every path is resolved inside dir, whatever the layer holds: nothing is
// written outside it. On error dir holds part of the layer and the caller
// removes it (os.RemoveAll does not follow the symbolic links it meets).
// Layer keeps no state between calls: calls on different directories may
// run concurrently.
func Layer(ctx context.Context, r io.Reader, dir string) (Stats, error) {
	f, err := os.Open(dir)
	if err != nil {
		return Stats{}, fmt.Errorf("unpack: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return Stats{}, fmt.Errorf("unpack: %w", err)
	}
	if len(names) > 0 {
		return Stats{}, fmt.Errorf("unpack: %s: not empty", dir)
	}
	u := &unpacker{
		root:    int(f.Fd()),
		parents: make(map[string]int),
		buf:     make([]byte, bufSize),
	}
	defer u.flush()
	err = u.run(ctx, r)
	return u.stats, err
}

// unpacker is the state of one Layer call; it is used by one goroutine.
type unpacker struct {
	// root is the descriptor of the layer's directory; every path is
	// resolved beneath it.
	root int
	// parents caches O_PATH descriptors of directories by their cleaned
	// path. A removal may change what a path resolves to, so it sets
	// stale, and the next entry starts with an empty cache; descriptors
	// stay open while the entry that opened them uses them.
	parents map[string]int
	stale   bool
	// dirs are the directories whose times are set once every entry is
	// written, since writing an entry changes its directory's mtime.
	dirs  []dirTimes
	buf   []byte
	stats Stats
}

type dirTimes struct {
	path string
	ts   [2]unix.Timespec
}

// maxParents bounds the descriptors the parent cache keeps open.
const maxParents = 128

func (u *unpacker) run(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("unpack: %w", err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		// Insecure names are cleaned into dir, as every name is.
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return fmt.Errorf("unpack: reading the archive: %w", err)
		}
		if u.stale || len(u.parents) >= maxParents {
			u.flush()
		}
		if err := u.entry(ctx, tr, hdr); err != nil {
			return fmt.Errorf("unpack: entry %q: %w", hdr.Name, err)
		}
	}
	u.flush()
	for i := len(u.dirs) - 1; i >= 0; i-- {
		if err := u.setDirTimes(u.dirs[i]); err != nil {
			return fmt.Errorf("unpack: entry %q: times: %w", u.dirs[i].path, err)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("unpack: %w", err)
		}
		_, err := r.Read(u.buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpack: reading past the archive's end: %w", err)
		}
	}
}

// cleanName returns name as a path relative to the layer's root, "" for
// the root itself.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", errors.New("name holds a NUL byte")
	}
	if len(name) >= pathMax {
		return "", fmt.Errorf("name of %d bytes is longer than PATH_MAX (%d)", len(name), pathMax-1)
	}
	return path.Clean("/" + name)[1:], nil
}

// split returns the directory and the last element of a cleaned name.
func split(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

// meta is the metadata an entry's header gives.
type meta struct {
	uid, gid int
	mode     uint32
	ts       [2]unix.Timespec
	xattrs   [][2]string
}

func headerMeta(hdr *tar.Header) (meta, error) {
	var m meta
	if hdr.Uid < 0 || hdr.Uid >= math.MaxUint32 {
		return m, fmt.Errorf("uid %d out of range", hdr.Uid)
	}
	if hdr.Gid < 0 || hdr.Gid >= math.MaxUint32 {
		return m, fmt.Errorf("gid %d out of range", hdr.Gid)
	}
	m.uid, m.gid = hdr.Uid, hdr.Gid
	m.mode = uint32(hdr.Mode) & 0o7777
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	m.ts[0] = unix.Timespec{Sec: atime.Unix(), Nsec: int64(atime.Nanosecond())}
	m.ts[1] = unix.Timespec{Sec: hdr.ModTime.Unix(), Nsec: int64(hdr.ModTime.Nanosecond())}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, xattrPrefix)
		if !ok {
			continue
		}
		// overlayfs keeps its own metadata (whiteouts, opaque and
		// redirected directories, origins) in these namespaces: a
		// layer that carried them could forge it.
		if strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.") {
			return m, fmt.Errorf("xattr %q: overlayfs's own, refused", name)
		}
		m.xattrs = append(m.xattrs, [2]string{name, v})
	}
	return m, nil
}

func (u *unpacker) entry(ctx context.Context, tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		// PAX records for the entries that follow (git archive's
		// comment, say), which Next has already applied.
		return nil
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	dir, base := split(name)
	if strings.HasPrefix(base, whPrefix) {
		return u.whiteout(dir, base)
	}
	m, err := headerMeta(hdr)
	if err != nil {
		return err
	}
	if isSparse(hdr) {
		// A few bytes of sparse map can describe exabytes of holes,
		// which would be written out as zeros; OCI layers' writers
		// make no sparse entries.
		return errors.New("sparse files are not supported")
	}
	if name == "" {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("names the layer's root, which only a directory entry may")
		}
		return u.rootDir(m)
	}
	parent, err := u.dir(dir, true)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeReg, '\x00', tar.TypeCont:
		return u.file(ctx, tr, parent, base, m)
	case tar.TypeDir:
		return u.mkdir(name, parent, base, m)
	case tar.TypeSymlink:
		return u.symlink(parent, base, hdr.Linkname, m)
	case tar.TypeLink:
		return u.link(parent, name, base, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return u.node(parent, base, hdr, m)
	default:
		return fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
	}
}

func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// file writes a regular file's contents and metadata. The file is created
// afresh with O_EXCL and O_NOFOLLOW: an earlier entry of the same name,
// a symbolic link included, is removed first and never written through.
func (u *unpacker) file(ctx context.Context, tr *tar.Reader, parent int, base string, m meta) error {
	create := func() (int, error) {
		return unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	}
	fd, err := create()
	if err == unix.EEXIST {
		if err := u.remove(parent, base); err != nil {
			return err
		}
		fd, err = create()
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer unix.Close(fd)
	n, err := u.copy(ctx, fd, tr)
	u.stats.Bytes += n
	if err != nil {
		return err
	}
	// chown clears setuid, setgid and security.capability: chmod and
	// the xattrs come after it.
	if err := unix.Fchown(fd, m.uid, m.gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(fd, m.mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	for _, x := range m.xattrs {
		if err := xattrErr(x[0], unix.Fsetxattr(fd, x[0], []byte(x[1]), 0)); err != nil {
			return fmt.Errorf("xattr %q: %w", x[0], err)
		}
	}
	if err := futimens(fd, &m.ts); err != nil {
		return fmt.Errorf("times: %w", err)
	}
	u.stats.Files++
	return nil
}

// copy writes the current entry's contents to fd in chunks of the buffer's
// size, checking ctx between chunks.
func (u *unpacker) copy(ctx context.Context, fd int, tr *tar.Reader) (int64, error) {
	var total int64
	for {
		n := 0
		var rerr error
		for n < len(u.buf) && rerr == nil {
			var m int
			m, rerr = tr.Read(u.buf[n:])
			n += m
		}
		if err := writeAll(fd, u.buf[:n]); err != nil {
			return total, fmt.Errorf("write: %w", err)
		}
		total += int64(n)
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, fmt.Errorf("reading the contents: %w", rerr)
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// mkdir makes a directory, or keeps the one an earlier entry made, and
// sets its metadata; its times wait for the end of the layer.
func (u *unpacker) mkdir(name string, parent int, base string, m meta) error {
	if err := u.ensureDir(parent, base); err != nil {
		return err
	}
	if err := u.setMeta(parent, base, m, true); err != nil {
		return err
	}
	u.dirs = append(u.dirs, dirTimes{path: name, ts: m.ts})
	u.stats.Dirs++
	return nil
}

// ensureDir makes base a directory in parent: it keeps a directory that
// is there, and replaces anything else. A directory replacing a whiteout
// of the same layer is made opaque, which is what the pair means: the
// lower layers' directory is hidden, this layer's entries are kept.
func (u *unpacker) ensureDir(parent int, base string) error {
	err := unix.Mkdirat(parent, base, 0o700)
	if err != unix.EEXIST {
		if err != nil {
			return fmt.Errorf("mkdir: %w", err)
		}
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return nil
	}
	if err := u.remove(parent, base); err != nil {
		return err
	}
	if err := unix.Mkdirat(parent, base, 0o700); err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	if isWhiteout(&st) {
		if err := lsetxattrAt(parent, base, "trusted.overlay.opaque", "y"); err != nil {
			return fmt.Errorf("marking opaque: %w", err)
		}
		u.stats.Opaques++
	}
	return nil
}

func isWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

// rootDir gives the layer's root the metadata of an entry that names it
// ("./" or "/").
func (u *unpacker) rootDir(m meta) error {
	if err := unix.Fchown(u.root, m.uid, m.gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(u.root, m.mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	for _, x := range m.xattrs {
		if err := xattrErr(x[0], unix.Fsetxattr(u.root, x[0], []byte(x[1]), 0)); err != nil {
			return fmt.Errorf("xattr %q: %w", x[0], err)
		}
	}
	u.dirs = append(u.dirs, dirTimes{path: "", ts: m.ts})
	u.stats.Dirs++
	return nil
}

func (u *unpacker) symlink(parent int, base, target string, m meta) error {
	if target == "" {
		return errors.New("symbolic link with an empty target")
	}
	if len(target) >= pathMax || strings.IndexByte(target, 0) >= 0 {
		return fmt.Errorf("symbolic link target of %d bytes: longer than PATH_MAX or holds a NUL byte", len(target))
	}
	err := unix.Symlinkat(target, parent, base)
	if err == unix.EEXIST {
		if err := u.remove(parent, base); err != nil {
			return err
		}
		err = unix.Symlinkat(target, parent, base)
	}
	if err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if err := u.setMeta(parent, base, m, false); err != nil {
		return err
	}
	if err := unix.UtimesNanoAt(parent, base, m.ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("times: %w", err)
	}
	u.stats.Symlinks++
	return nil
}

// link makes a hard link to an earlier entry of the layer. The link
// shares its target's inode, and so its metadata: the header's is not
// applied.
func (u *unpacker) link(parent int, name, base, linkname string) error {
	target, err := cleanName(linkname)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	if target == "" || target == name {
		return fmt.Errorf("hard link to %q: not an earlier entry of this layer", linkname)
	}
	tdir, tbase := split(target)
	tparent, err := u.dir(tdir, false)
	if err == nil {
		err = unix.Linkat(tparent, tbase, parent, base, 0)
		if err == unix.EEXIST {
			if err := u.remove(parent, base); err != nil {
				return err
			}
			err = unix.Linkat(tparent, tbase, parent, base, 0)
		}
	}
	switch {
	case err == unix.ENOENT || err == unix.ENOTDIR:
		return fmt.Errorf("hard link to %q: not an earlier entry of this layer", linkname)
	case err == unix.EPERM:
		return fmt.Errorf("hard link to %q: %w (a directory, or not linkable)", linkname, err)
	case err != nil:
		return fmt.Errorf("hard link to %q: %w", linkname, err)
	}
	u.stats.Links++
	return nil
}

func (u *unpacker) node(parent int, base string, hdr *tar.Header, m meta) error {
	var typ uint32
	var kind string
	switch hdr.Typeflag {
	case tar.TypeChar:
		typ, kind = unix.S_IFCHR, "character device"
	case tar.TypeBlock:
		typ, kind = unix.S_IFBLK, "block device"
	default:
		typ, kind = unix.S_IFIFO, "FIFO"
	}
	if hdr.Devmajor < 0 || hdr.Devmajor > 0xfff || hdr.Devminor < 0 || hdr.Devminor > 0xfffff {
		return fmt.Errorf("%s %d:%d: device number out of range", kind, hdr.Devmajor, hdr.Devminor)
	}
	if typ == unix.S_IFCHR && hdr.Devmajor == 0 && hdr.Devminor == 0 {
		// overlayfs would read it as a whiteout; OCI layers say
		// whiteout with .wh. names.
		return errors.New("character device 0:0: a whiteout in overlayfs's form, refused (OCI layers name whiteouts .wh.NAME)")
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	err := unix.Mknodat(parent, base, typ|0o600, dev)
	if err == unix.EEXIST {
		if err := u.remove(parent, base); err != nil {
			return err
		}
		err = unix.Mknodat(parent, base, typ|0o600, dev)
	}
	if err == unix.EPERM {
		return fmt.Errorf("mknod %s %d:%d: %w (creating device nodes needs CAP_MKNOD in the initial user namespace)", kind, hdr.Devmajor, hdr.Devminor, err)
	}
	if err != nil {
		return fmt.Errorf("mknod %s %d:%d: %w", kind, hdr.Devmajor, hdr.Devminor, err)
	}
	if err := u.setMeta(parent, base, m, true); err != nil {
		return err
	}
	if err := unix.UtimesNanoAt(parent, base, m.ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("times: %w", err)
	}
	u.stats.Nodes++
	return nil
}

// setMeta sets base's owner, then (when chmod) its mode, then its xattrs,
// never following a symbolic link.
func (u *unpacker) setMeta(parent int, base string, m meta, chmod bool) error {
	if err := unix.Fchownat(parent, base, m.uid, m.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if chmod {
		if err := fchmodNoFollow(parent, base, m.mode); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	for _, x := range m.xattrs {
		if err := xattrErr(x[0], lsetxattrAt(parent, base, x[0], x[1])); err != nil {
			return fmt.Errorf("xattr %q: %w", x[0], err)
		}
	}
	return nil
}

// whiteout makes a whiteout entry into overlayfs's form.
func (u *unpacker) whiteout(dir, base string) error {
	parent, err := u.dir(dir, true)
	if err != nil {
		return err
	}
	if base == whOpaque {
		if err := setxattrFd(parent, "trusted.overlay.opaque", "y"); err != nil {
			return fmt.Errorf("marking %q opaque: %w", dir, err)
		}
		u.stats.Opaques++
		return nil
	}
	if strings.HasPrefix(base, whMeta) {
		return fmt.Errorf("unknown whiteout meta-entry %q", base)
	}
	name := base[len(whPrefix):]
	if name == "." || name == ".." || name == "" {
		return fmt.Errorf("whiteout of %q: names no file", name)
	}
	// A whiteout hides the lower layers' entry only: one that this
	// layer made is kept (a directory becomes opaque, which hides the
	// lower layers' contents).
	var st unix.Stat_t
	err = unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR:
		if err := lsetxattrAt(parent, name, "trusted.overlay.opaque", "y"); err != nil {
			return fmt.Errorf("marking %q opaque: %w", name, err)
		}
		u.stats.Opaques++
		return nil
	case err == nil:
		return nil
	case err != unix.ENOENT:
		return fmt.Errorf("stat %q: %w", name, err)
	}
	if err := unix.Mknodat(parent, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("mknod whiteout 0:0 %q: %w", name, err)
	}
	u.stats.Whiteouts++
	return nil
}

// xattrErr is err, unless it says that the filesystem keeps no extended
// attributes of the user namespace (tmpfs before Linux 6.6): those are
// informational, and are dropped as container engines drop them.
func xattrErr(name string, err error) error {
	if strings.HasPrefix(name, "user.") && errors.Is(err, unix.EOPNOTSUPP) {
		return nil
	}
	return err
}
