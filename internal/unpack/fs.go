package unpack

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resolveFlags keep a resolution inside the layer's root: symbolic links
// are followed as if the root were "/" (an absolute target or ".." stops
// at the root), and neither /proc's magic links nor mount points are
// crossed.
const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// openInRoot opens path, relative to the layer's root, with openat2(2)
// and RESOLVE_IN_ROOT.
func (u *unpacker) openInRoot(path string, flags uint64) (int, error) {
	how := &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: resolveFlags}
	for {
		fd, err := unix.Openat2(u.root, path, how)
		// EAGAIN: a rename raced the resolution of "..", which
		// RESOLVE_IN_ROOT refuses to trust; EINTR: a signal.
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// dir returns an O_PATH descriptor of the directory path (relative to the
// layer's root, "" for the root itself) from the cache, or resolved inside
// the root. With create, missing directories are made, 0755 and owned by
// the caller (root), as tar extractors make them. The descriptor belongs
// to the cache.
func (u *unpacker) dir(path string, create bool) (int, error) {
	if path == "" {
		return u.root, nil
	}
	if fd, ok := u.parents[path]; ok {
		return fd, nil
	}
	fd, err := u.openInRoot(path, unix.O_PATH|unix.O_DIRECTORY)
	if (err == unix.ENOENT || err == unix.ENOTDIR) && create {
		return u.mkdirAll(path)
	}
	if err != nil {
		return -1, fmt.Errorf("directory %q: %w", path, err)
	}
	u.parents[path] = fd
	return fd, nil
}

// mkdirAll makes the missing directories of path, element by element,
// each in the directory resolved before it. An element that is a
// directory is opened with O_NOFOLLOW in its parent; a symbolic link is
// resolved inside the root. Only path's own descriptor is cached, so a
// deep path holds two descriptors at a time.
func (u *unpacker) mkdirAll(path string) (int, error) {
	parent, owned := u.root, false
	closeParent := func() {
		if owned {
			unix.Close(parent)
		}
	}
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		sub := path[:i]
		if fd, ok := u.parents[sub]; ok {
			closeParent()
			parent, owned = fd, false
			continue
		}
		_, base := split(sub)
		fd, err := unix.Openat(parent, base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOTDIR || err == unix.ELOOP {
			// A symbolic link, or no directory.
			fd, err = u.openInRoot(sub, unix.O_PATH|unix.O_DIRECTORY)
		}
		if err == unix.ENOENT || err == unix.ENOTDIR {
			if err = u.mkdirMissing(parent, sub, err); err == nil {
				fd, err = unix.Openat(parent, base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		closeParent()
		if err != nil {
			return -1, fmt.Errorf("directory %q: %w", sub, err)
		}
		parent, owned = fd, true
	}
	u.parents[path] = parent
	return parent, nil
}

// mkdirMissing makes the directory sub, whose resolution failed with
// rerr, in parent: where nothing has its name, or in place of a whiteout
// of this layer (then opaque). A dangling symbolic link or a file in the
// way is an error: tar extractors do not replace them implicitly.
func (u *unpacker) mkdirMissing(parent int, sub string, rerr error) error {
	_, base := split(sub)
	var st unix.Stat_t
	err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == unix.ENOENT:
		if err := unix.Mkdirat(parent, base, 0o755); err != nil {
			return fmt.Errorf("mkdir: %w", err)
		}
	case err != nil:
		return fmt.Errorf("stat: %w", err)
	case isWhiteout(&st):
		if err := u.ensureDir(parent, base); err != nil {
			return err
		}
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return fmt.Errorf("%w (a symbolic link that resolves to no directory)", rerr)
	default:
		return fmt.Errorf("%w (an earlier entry that is no directory)", rerr)
	}
	// mkdir applies the process's umask.
	if err := fchmodNoFollow(parent, base, 0o755); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return nil
}

// flush closes the cached descriptors.
func (u *unpacker) flush() {
	for p, fd := range u.parents {
		unix.Close(fd)
		delete(u.parents, p)
	}
	u.stale = false
}

// remove removes base from parent, a directory with its contents, without
// following symbolic links; an entry that is not there is no error.
func (u *unpacker) remove(parent int, base string) error {
	u.stale = true
	if err := removeAll(parent, base); err != nil {
		return fmt.Errorf("replacing the earlier %q: %w", base, err)
	}
	return nil
}

func removeAll(parent int, base string) error {
	err := unix.Unlinkat(parent, base, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR {
		return err
	}
	fd, err := unix.Openat(parent, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	names, err := f.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = removeAll(fd, n); err != nil {
				break
			}
		}
	}
	f.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(parent, base, unix.AT_REMOVEDIR)
}

// setDirTimes sets a directory's times, unless a later entry replaced the
// directory by something else.
func (u *unpacker) setDirTimes(d dirTimes) error {
	if d.path == "" {
		return futimens(u.root, &d.ts)
	}
	fd, err := u.openInRoot(d.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return futimens(fd, &d.ts)
}

// futimens sets the times of the file open as fd: utimensat(2) with a
// NULL path, as the C library's futimens does.
func futimens(fd int, ts *[2]unix.Timespec) error {
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// fchmodNoFollow changes base's mode with fchmodat2(2) and
// AT_SYMLINK_NOFOLLOW, which refuses a symbolic link. Kernels before 6.6
// lack fchmodat2: the mode is then changed through /proc/self/fd of an
// O_PATH descriptor of base itself, after checking it is no symbolic
// link, as the C library does.
func fchmodNoFollow(parent int, base string, mode uint32) error {
	err := unix.Fchmodat(parent, base, mode, unix.AT_SYMLINK_NOFOLLOW)
	if err != unix.EOPNOTSUPP && err != unix.ENOSYS {
		return err
	}
	fd, err := unix.Openat(parent, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return errors.New("a symbolic link")
	}
	return unix.Chmod(procFd(fd), mode)
}

// lsetxattrAt sets an xattr of base in parent without following base if
// it is a symbolic link: /proc/self/fd/N/base reaches parent through the
// descriptor's magic link, then base without following it.
func lsetxattrAt(parent int, base, name, value string) error {
	return unix.Lsetxattr(procFd(parent)+"/"+base, name, []byte(value), 0)
}

// setxattrFd sets an xattr of the file (an O_PATH descriptor suffices)
// open as fd.
func setxattrFd(fd int, name, value string) error {
	return unix.Setxattr(procFd(fd), name, []byte(value), 0)
}

func procFd(fd int) string {
	var b strings.Builder
	b.WriteString("/proc/self/fd/")
	b.WriteString(strconv.Itoa(fd))
	return b.String()
}
