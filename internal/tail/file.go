package tail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// fileID identifies a file independently of its names, which is what lets a
// renamed file be recognised instead of read twice.
type fileID struct{ dev, ino uint64 }

// file is one open, followed file.
type file struct {
	id   fileID
	name string // Line.Path: where the file was first followed
	fd   *os.File
	seq  uint64 // order of opening

	off      int64  // next byte to read
	partial  []byte // the current line so far, at most MaxLineBytes
	consumed int64  // bytes read in total, to tell whether an orphan grew
	nlink    uint64 // link count at the last read; 0 once deleted

	refs       int  // paths in tailer.at that map to this file
	idle       int  // poll ticks without growth while an orphan
	superseded bool // a successor has data, see pred

	// pred is the file that was at this one's path before it, while it may
	// still be written to. It is read before this one, and dropped once
	// this one has data: a writer that has switched over writes no more to
	// pred. Without this, lines a writer appends to its old file before
	// reopening could come after lines of the new one, or be lost.
	pred   *file
	closed bool
}

// observe looks at one matching path: opens the file found there if it is
// new, notes a file that left it, and reads what was appended.
func (t *tailer) observe(path string, initial bool) error {
	old := t.at[path]
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		// Gone, or nothing a log can be read from (a directory, a FIFO that
		// would block). What was here lives on as an orphan if no other
		// matching path holds it.
		if old != nil {
			t.unref(path, old)
		}
		return nil
	}
	if old != nil && old.id == idOf(fi) {
		return t.drain(old)
	}

	f := t.files[idOf(fi)]
	if f == nil {
		fromStart := !initial || t.opts.FromStart
		nf, err := t.open(path, fromStart)
		if err != nil {
			// The next poll tries again; there is nobody to report to, and
			// failing the whole Follow for one unreadable file would stop
			// shipping all the others. Whatever was here has left.
			if old != nil {
				t.unref(path, old)
			}
			return nil
		}
		if f = t.files[nf.id]; f != nil {
			// Replaced between Stat and Open by a file already followed.
			_ = nf.fd.Close()
		} else {
			f = nf
			t.files[f.id] = f
			f.pred = old
			if f.pred == nil {
				// Rename, then create: the path was empty in between.
				f.pred = t.left[path]
			}
		}
	}
	if old != nil && old != f {
		t.unref(path, old)
	}
	if t.at[path] != f {
		t.ref(path, f)
	}
	return t.drain(f)
}

func (t *tailer) open(path string, fromStart bool) (*file, error) {
	root, ok := t.rootOf(path)
	if !ok {
		return nil, fmt.Errorf("%s: %w", path, ErrOutside)
	}
	fd, err := openBeneath(root, path)
	if err != nil {
		t.skipped(path, err)
		return nil, err
	}
	delete(t.reported, path)
	fi, err := fd.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w", path, fs.ErrInvalid)
	}
	if err != nil {
		_ = fd.Close()
		return nil, err
	}
	t.seq++
	f := &file{id: idOf(fi), name: path, fd: fd, seq: t.seq, nlink: nlinkOf(fi)}
	if !fromStart {
		f.off = fi.Size()
	}
	return f, nil
}

func (t *tailer) ref(path string, f *file) {
	t.at[path] = f
	f.refs++
	delete(t.orphans, f)
	f.idle = 0
}

func (t *tailer) unref(path string, f *file) {
	delete(t.at, path)
	t.left[path] = f
	f.refs--
	if f.refs == 0 {
		f.idle = 0
		t.orphans[f] = struct{}{}
	}
}

// drop emits the partial line of an orphan and closes it.
func (t *tailer) drop(f *file) error {
	err := t.flush(f)
	delete(t.orphans, f)
	delete(t.files, f.id)
	f.closed = true
	if cerr := f.fd.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("tail: close %s: %w", f.name, cerr))
	}
	return err
}

// drain reads what was appended to f, after what is left in its
// predecessors.
func (t *tailer) drain(f *file) error {
	if p := f.pred; p != nil {
		if p.closed {
			f.pred = nil
		} else {
			// f's size must be taken before p is read: if f had data then,
			// the writer had switched, and p's end is final.
			fi, err := f.fd.Stat()
			if err != nil {
				return fmt.Errorf("tail: %s: %w", f.name, err)
			}
			if err := t.drain(p); err != nil {
				return err
			}
			if fi.Size() == 0 {
				return nil
			}
			f.pred = nil
			// Its writer has moved on, so its partial line is final even
			// if p is still followed under another matching name.
			if err := t.flush(p); err != nil {
				return err
			}
			// Closing is left to sweep, which knows when p has really no
			// matching name left.
			p.superseded = true
		}
	}
	return t.read(f)
}

// read reads f from its offset up to its size when read starts. The bound
// keeps a file written faster than emit keeps up from starving the others;
// what comes after is reported by a later event or poll.
func (t *tailer) read(f *file) error {
	fi, err := f.fd.Stat()
	if err != nil {
		return fmt.Errorf("tail: %s: %w", f.name, err)
	}
	f.nlink = nlinkOf(fi)
	size := fi.Size()
	if size < f.off {
		// Truncated in place (copytruncate). The held partial line ended
		// the old content; gluing it to the new first line would be wrong.
		if err := t.flush(f); err != nil {
			return err
		}
		f.off = 0
	}
	if f.off == size {
		return nil
	}
	now := t.opts.Now()
	for f.off < size {
		n, err := f.fd.ReadAt(t.buf[:min(int64(len(t.buf)), size-f.off)], f.off)
		if n > 0 {
			f.off += int64(n)
			f.consumed += int64(n)
			if err := t.consume(f, t.buf[:n], now); err != nil {
				return err
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("tail: read %s: %w", f.name, err)
		}
		if err != nil || n == 0 {
			break // truncated while reading; the next read notices
		}
	}
	return nil
}

// consume splits data into lines, holding the unfinished last one.
func (t *tailer) consume(f *file, data []byte, now time.Time) error {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return t.hold(f, data, now)
		}
		if err := t.complete(f, data[:i], now); err != nil {
			return err
		}
		data = data[i+1:]
	}
	return nil
}

// hold appends to f's partial line. Once it is MaxLineBytes long and more
// bytes come, it is emitted as a chunk: a full buffer followed by the
// newline is still one whole line, not a chunk and an empty line.
func (t *tailer) hold(f *file, data []byte, now time.Time) error {
	limit := t.opts.MaxLineBytes
	for len(data) > 0 {
		if len(f.partial) == limit {
			if err := t.send(f, f.partial, now); err != nil {
				return err
			}
			f.partial = f.partial[:0]
		}
		k := min(limit-len(f.partial), len(data))
		f.partial = append(f.partial, data[:k]...)
		data = data[k:]
	}
	return nil
}

// complete emits a line whose newline has been read.
func (t *tailer) complete(f *file, line []byte, now time.Time) error {
	if len(f.partial) > 0 {
		if err := t.hold(f, line, now); err != nil {
			return err
		}
		err := t.send(f, f.partial, now)
		f.partial = f.partial[:0]
		return err
	}
	// The common case: the line is in the read buffer, no copy to partial.
	limit := t.opts.MaxLineBytes
	for len(line) > limit {
		if err := t.send(f, line[:limit], now); err != nil {
			return err
		}
		line = line[limit:]
	}
	return t.send(f, line, now)
}

// flush emits f's partial line, if any, as a line of its own.
func (t *tailer) flush(f *file) error {
	if len(f.partial) == 0 {
		return nil
	}
	err := t.send(f, f.partial, t.opts.Now())
	f.partial = f.partial[:0]
	return err
}

func (t *tailer) send(f *file, text []byte, now time.Time) error {
	if err := t.emit(Line{Path: f.name, Text: string(text), Time: now}); err != nil {
		return fmt.Errorf("tail: emit: %w", err)
	}
	return nil
}

func idOf(fi fs.FileInfo) fileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}
}

func nlinkOf(fi fs.FileInfo) uint64 {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 1
	}
	return uint64(st.Nlink)
}
