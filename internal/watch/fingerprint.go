package watch

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// fingerprint digests what Watch compares: the content of path if it is a
// file, or the names and contents of the entries of path, other than
// directories, if it is a directory, following symbolic links. Errors are
// part of the digest rather than returned, so that a file that cannot be read
// for a while is a state like any other: reported when it starts and when it
// ends.
func fingerprint(path string) [sha256.Size]byte {
	h := sha256.New()
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		fmt.Fprintf(h, "path %s\n", errState(err))
	case fi.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			fmt.Fprintf(h, "dir %s\n", errState(err))
		}
		fmt.Fprintf(h, "dir %d\n", len(entries))
		for _, e := range entries {
			p := filepath.Join(path, e.Name())
			if isDir(p) {
				continue
			}
			fmt.Fprintf(h, "entry %q ", e.Name())
			digestFile(h, p)
		}
	default:
		digestFile(h, path)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// digestFile writes a line about path's content to h.
func digestFile(h hash.Hash, path string) {
	// O_NONBLOCK: a FIFO put in place of a config file must not block
	// Watch in open until someone writes to it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		fmt.Fprintf(h, "%s\n", errState(err))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		fmt.Fprintf(h, "%s\n", errState(err))
		return
	}
	if !fi.Mode().IsRegular() {
		fmt.Fprintf(h, "special %v\n", fi.Mode().Type())
		return
	}
	fh := sha256.New()
	n, err := io.Copy(fh, f)
	if err != nil {
		fmt.Fprintf(h, "%s\n", errState(err))
		return
	}
	fmt.Fprintf(h, "file %d %x\n", n, fh.Sum(nil))
}

func errState(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "missing"
	}
	return "error " + err.Error()
}
