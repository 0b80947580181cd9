package main

import (
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

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// colours cycle over the containers, as docker compose does.
var colours = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

// prefixer writes the lines of several containers to one writer, each line
// whole and prefixed with its container's name.
type prefixer struct {
	mu     sync.Mutex
	w      io.Writer
	colour bool
	width  int
}

func newPrefixer(w io.Writer, names []string) *prefixer {
	p := &prefixer{w: w, colour: isTerminal(w)}
	for _, n := range names {
		p.width = max(p.width, len(n))
	}
	return p
}

// writer returns the writer of the i-th container, named name. The pod
// writes it whole lines, each ending in '\n'.
func (p *prefixer) writer(i int, name string) io.Writer {
	prefix := fmt.Sprintf("%-*s | ", p.width, name)
	if p.colour {
		prefix = "\x1b[" + colours[i%len(colours)] + "m" + prefix + "\x1b[0m"
	}
	return writerFunc(func(line []byte) (int, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, err := io.WriteString(p.w, prefix); err != nil {
			return 0, err
		}
		return p.w.Write(line)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// logFiles writes each container's output to DIR/<container>.log in the CRI
// log format, as the kubelet stores it.
type logFiles struct {
	mu    sync.Mutex
	files []*os.File
}

// writer returns the writer of one stream of the named container.
func (d *logFiles) writer(dir, name string, stream pod.Stream) (io.Writer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	path := filepath.Join(dir, name+".log")
	var f *os.File
	for _, g := range d.files {
		if g.Name() == path {
			f = g
		}
	}
	if f == nil {
		var err error
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640); err != nil {
			return nil, err
		}
		d.files = append(d.files, f)
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

func (d *logFiles) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var first error
	for _, f := range d.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
