package initcontainer

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/podkit/podkit/pod"
)

// Extract is an init step that unpacks a tar archive (optionally
// gzip-compressed) into a volume, so that the main container finds its
// content there when it starts: the pattern's "WAR file and Tomcat" example,
// where an init container copies the application into a shared volume.
//
// Every entry is written inside the destination: an entry whose name is
// absolute or climbs out with "..", or that would be written through a
// symbolic link leading out, fails the step, naming the entry. Regular
// files, directories and symbolic links are extracted, with their
// permission bits; other entry types (devices, FIFOs, hard links) are an
// error. Ownership is not restored: files belong to the supervising
// program's user, and setuid, setgid and sticky bits are not kept. An entry
// naming the destination itself (".") leaves the destination's mode as it
// is. MaxBytes and MaxEntries bound what an archive can write, so that a
// small compressed archive cannot fill the disk.
//
// An Extract is configuration; Container and Run do not change it.
type Extract struct {
	// Archive is the path of the archive on the host. Required.
	Archive string `json:"archive" help:"tar or tar.gz archive to unpack"`
	// Volume names the pod volume to extract into; Dir is then a directory
	// inside it ("" for its root). Without Volume, Dir is a directory on
	// the host. The directory is created if needed.
	Volume string `json:"volume,omitempty" help:"volume to unpack into"`
	Dir    string `json:"dir,omitempty" help:"directory (inside the volume) to unpack into"`
	// MaxBytes bounds the total size of the regular files extracted; an
	// archive holding more fails the step before the first byte over the
	// bound is written. Zero means DefaultMaxBytes.
	MaxBytes int64 `json:"maxBytes,omitempty" help:"most bytes of file content to extract (default 1 GiB)"`
	// MaxEntries bounds the number of entries extracted. Zero means
	// DefaultMaxEntries.
	MaxEntries int `json:"maxEntries,omitempty" help:"most archive entries to extract (default 100000)"`
}

// Defaults of Extract's bounds.
const (
	DefaultMaxBytes   = 1 << 30
	DefaultMaxEntries = 100000
)

// Container returns an in-process init container named name that runs e. It
// checks e, and names the first bad field.
func (e Extract) Container(name string) (pod.Container, error) {
	if name == "" {
		return pod.Container{}, errors.New("initcontainer: extract: name: required")
	}
	if err := e.validate(); err != nil {
		return pod.Container{}, err
	}
	c := pod.Container{Name: name, Func: e.Run}
	var err error
	c.ExportArgs, err = exportArgs("extract", e)
	return c, err
}

func (e Extract) validate() error {
	switch {
	case e.Archive == "":
		return errors.New("initcontainer: extract: archive: required")
	case e.Volume == "" && e.Dir == "":
		return errors.New("initcontainer: extract: dir: one of volume and dir is required")
	case e.Volume != "" && e.Dir != "" && !filepath.IsLocal(e.Dir):
		return fmt.Errorf("initcontainer: extract: dir: %q must be a relative path inside volume %q", e.Dir, e.Volume)
	case e.MaxBytes < 0:
		return fmt.Errorf("initcontainer: extract: maxBytes: %d is negative", e.MaxBytes)
	case e.MaxEntries < 0:
		return fmt.Errorf("initcontainer: extract: maxEntries: %d is negative", e.MaxEntries)
	}
	return nil
}

// limits returns e's bounds, defaults applied.
func (e Extract) limits() limits {
	l := limits{bytes: e.MaxBytes, entries: e.MaxEntries}
	if l.bytes == 0 {
		l.bytes = DefaultMaxBytes
	}
	if l.entries == 0 {
		l.entries = DefaultMaxEntries
	}
	return l
}

// limits bound what extractTar writes.
type limits struct {
	bytes   int64
	entries int
}

// Run extracts the archive and returns nil, or the first error; what was
// extracted before an error stays. With Volume set, and ctx an in-process
// container's (see pod.FromContext), the volume is the pod's; outside a pod
// it is where an exported pod mounts it (pod.ExportVolumesDir). Run blocks;
// it stops between entries when ctx is done. It starts no goroutine, and
// leaves no file open.
func (e Extract) Run(ctx context.Context) error {
	if err := e.validate(); err != nil {
		return err
	}
	dest := e.Dir
	if e.Volume != "" {
		dir, err := pod.VolumeDir(ctx, e.Volume)
		if err != nil {
			return fmt.Errorf("initcontainer: extract: %w", err)
		}
		dest = filepath.Join(dir, e.Dir)
	}
	f, err := os.Open(e.Archive)
	if err != nil {
		return fmt.Errorf("initcontainer: extract: %w", err)
	}
	defer f.Close()
	n, err := extractTar(ctx, f, dest, e.limits())
	if err != nil {
		return fmt.Errorf("initcontainer: extract %s: %w", e.Archive, err)
	}
	if self, ok := pod.FromContext(ctx); ok {
		fmt.Fprintf(self.Stdout, "extracted %d entries of %s into %s\n", n, e.Archive, dest)
	}
	return nil
}

// extractTar writes the entries of the tar stream r, gzip-compressed or
// not, into dest, and returns how many it wrote. os.Root confines every
// operation to dest, symbolic links included. An archive over lim fails
// before anything over it is written.
func extractTar(ctx context.Context, r io.Reader, dest string, lim limits) (int, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return 0, err
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	n := 0
	var written int64
	for {
		if err := ctx.Err(); err != nil {
			return n, context.Cause(ctx)
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		name := filepath.Clean(h.Name)
		if !filepath.IsLocal(name) {
			return n, fmt.Errorf("entry %q: path leaves the destination", h.Name)
		}
		if n >= lim.entries {
			return n, fmt.Errorf("entry %q: the archive has more than %d entries (maxEntries)", h.Name, lim.entries)
		}
		if h.Typeflag == tar.TypeReg {
			if h.Size < 0 || h.Size > lim.bytes-written {
				return n, fmt.Errorf("entry %q: %d bytes would take the archive over %d bytes (maxBytes)", h.Name, h.Size, lim.bytes)
			}
			written += h.Size
		}
		if err := extractEntry(root, tr, h, name); err != nil {
			return n, fmt.Errorf("entry %q: %w", h.Name, err)
		}
		n++
	}
}

func extractEntry(root *os.Root, tr *tar.Reader, h *tar.Header, name string) error {
	mode := fs.FileMode(h.Mode).Perm()
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if name == "." {
			// The destination itself: its mode is its owner's, not the
			// archive's.
			return nil
		}
		if err := root.MkdirAll(name, 0o755); err != nil {
			return err
		}
		return root.Chmod(name, mode)
	case tar.TypeReg:
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return root.Chmod(name, mode)
	case tar.TypeSymlink:
		// The link is created as it is; os.Root refuses to follow it out of
		// the destination when a later entry is written through it.
		return root.Symlink(h.Linkname, name)
	}
	return fmt.Errorf("unsupported entry type %q", h.Typeflag)
}
