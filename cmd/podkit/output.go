package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/pod"
)

// signalName names sig as kill -l does, with its SIG prefix.
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// logFiles writes each container's output to DIR/<container>.log in the CRI
// log format, as the kubelet stores it.
type logFiles struct {
	mu    sync.Mutex
	dir   *os.File
	files map[string]*os.File
}

// open opens the directory of the log files.
func (d *logFiles) open(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("--log-dir: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		f.Close()
		return fmt.Errorf("--log-dir: %s: not a directory", dir)
	}
	d.dir, d.files = f, make(map[string]*os.File)
	return nil
}

// writer returns the writer of one stream of the named container. Its
// file is opened in the log directory without following a symbolic link,
// and must be a regular file with no other link: in a directory others may
// write, a planted link must not make podkit write elsewhere.
func (d *logFiles) writer(name string, stream pod.Stream) (io.Writer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.files[name]
	if f == nil {
		var err error
		if f, err = openOutput(int(d.dir.Fd()), filepath.Join(d.dir.Name(), name+".log"), name+".log", unix.O_APPEND); err != nil {
			return nil, fmt.Errorf("--log-dir: %w", err)
		}
		d.files[name] = f
	}
	return writerFunc(func(line []byte) (int, error) {
		text := string(line)
		if n := len(text); n > 0 && text[n-1] == '\n' {
			text = text[:n-1]
		}
		e := pod.LogEntry{Time: time.Now(), Stream: stream, Text: text}
		d.mu.Lock()
		defer d.mu.Unlock()
		if _, err := io.WriteString(f, e.String()+"\n"); err != nil {
			return 0, err
		}
		return len(line), nil
	}), nil
}

// createOutput opens file for writing as openOutput does, relative to the
// working directory.
func createOutput(file string) (*os.File, error) {
	return openOutput(unix.AT_FDCWD, file, file, 0)
}

// openOutput opens name in the directory dirfd for writing, creating it
// with mode 0640, without following a final symbolic link (O_NOFOLLOW),
// and refuses anything but a regular file with one link (a hard link
// planted to another file). path names it in errors.
func openOutput(dirfd int, path, name string, flags int) (*os.File, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|flags, 0o640)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s: a symbolic link: refused", path)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: not a regular file with a single link: refused", path)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

func (d *logFiles) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var first error
	for _, f := range d.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	if d.dir != nil {
		d.dir.Close()
	}
	return first
}
