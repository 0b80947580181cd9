package console

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// colours cycle over the containers, as docker compose's do.
var colours = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

// A Console writes lines to one writer from any number of goroutines, one
// whole Write at a time. It is safe for concurrent use; it starts no
// goroutine and holds nothing to close.
type Console struct {
	mu     sync.Mutex
	w      io.Writer
	colour bool
	width  int
	next   int // the colour of the next new name
}

// New returns a console writing to w. names, if given, are the names the
// console will prefix, so that every prefix has their width. Prefixes are
// coloured when w is a terminal.
func New(w io.Writer, names ...string) *Console {
	c := &Console{w: w, colour: isTerminal(w)}
	for _, n := range names {
		c.width = max(c.width, len(n))
	}
	return c
}

// Writer returns the writer of the container named name: every Write goes
// to the console whole, prefixed with "name | ". A pod writes a container's
// output to it a line at a time. Each call gives the next colour.
func (c *Console) Writer(name string) io.Writer {
	c.mu.Lock()
	prefix := fmt.Sprintf("%-*s | ", c.width, name)
	if c.colour {
		prefix = "\x1b[" + colours[c.next%len(colours)] + "m" + prefix + "\x1b[0m"
	}
	c.next++
	c.mu.Unlock()
	return &prefixed{c: c, prefix: prefix}
}

// Write writes p to the console whole, without a prefix: the program's own
// lines.
func (c *Console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w.Write(p)
}

// Printf writes a formatted line, without a prefix; it adds the newline
// the format lacks.
func (c *Console) Printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if len(line) == 0 || line[len(line)-1] != '\n' {
		line += "\n"
	}
	_, _ = io.WriteString(c, line)
}

type prefixed struct {
	c      *Console
	prefix string
}

// Write writes the prefix and b in one write, so that a line stays whole
// on a terminal that other writers (the events on the other standard
// stream) share.
func (p *prefixed) Write(b []byte) (int, error) {
	line := make([]byte, 0, len(p.prefix)+len(b))
	line = append(append(line, p.prefix...), b...)
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if _, err := p.c.w.Write(line); err != nil {
		return 0, err
	}
	return len(b), nil
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
