package tail

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrOutside is wrapped by the error of a file that Follow refuses to open
// because reaching it leaves the directory its pattern names: through a
// symbolic link that points out, or a ".." in a link.
var ErrOutside = errors.New("tail: resolves outside its pattern's directory")

// staticDir returns the directory a pattern names before its first
// wildcard: "/vol/logs" for "/vol/logs/*/app.log". Every file the pattern
// matches is opened beneath it.
func staticDir(pattern string) string {
	dir := filepath.Dir(pattern)
	for dir != filepath.Dir(dir) && hasMeta(dir) {
		dir = filepath.Dir(dir)
	}
	if hasMeta(dir) {
		return "."
	}
	return dir
}

func hasMeta(path string) bool { return strings.ContainsAny(path, `*?[\`) }

// rootOf returns the directory that path must be opened beneath: that of
// the first pattern that matches it.
func (t *tailer) rootOf(path string) (string, bool) {
	for _, p := range t.opts.Patterns {
		if ok, _ := filepath.Match(p, path); ok {
			return staticDir(p), true
		}
	}
	return "", false
}

// openBeneath opens path for reading without letting its resolution leave
// root, with openat2(2) and RESOLVE_BENEATH: a symbolic link may point
// anywhere beneath root, but one that leads out of it fails with
// ErrOutside, as do magic links (/proc/self/fd/...). O_NONBLOCK keeps a
// FIFO from blocking the open.
func openBeneath(root, path string) (*os.File, error) {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, fmt.Errorf("%s: %w", path, ErrOutside)
	}
	dirfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(dirfd)
	how := &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd, err := unix.Openat2(dirfd, rel, how)
	// EAGAIN: a rename raced the lookup, and the kernel asks for a retry.
	for err == unix.EINTR || err == unix.EAGAIN {
		fd, err = unix.Openat2(dirfd, rel, how)
	}
	switch {
	case err == unix.EXDEV || err == unix.ELOOP:
		return nil, fmt.Errorf("%s: %w (beneath %s)", path, ErrOutside, root)
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
