package pod

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Stream names a standard stream of a container.
type Stream string

const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// maxLogLine is the longest line kept as one entry; longer lines are split
// into partial entries, as the CRI runtimes do.
const maxLogLine = 16 << 10

// LogEntry is one line of a container's output.
type LogEntry struct {
	Time   time.Time
	Stream Stream
	// Partial is set when the line was longer than 16 KiB, or the stream
	// ended without a newline: Text continues in the next entry.
	Partial bool
	// Text is the line without its newline.
	Text string
}

// String returns the entry in the CRI log format that the kubelet stores:
// "<RFC3339Nano time> <stream> <F|P> <text>", without a trailing newline.
func (e LogEntry) String() string {
	tag := "F"
	if e.Partial {
		tag = "P"
	}
	return e.Time.UTC().Format(time.RFC3339Nano) + " " + string(e.Stream) + " " + tag + " " + e.Text
}

// ParseLogEntry parses a line in the CRI log format, as produced by
// LogEntry.String.
func ParseLogEntry(line string) (LogEntry, error) {
	line = strings.TrimSuffix(line, "\n")
	ts, rest, ok1 := strings.Cut(line, " ")
	stream, rest, ok2 := strings.Cut(rest, " ")
	tag, text, ok3 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !ok3 {
		return LogEntry{}, fmt.Errorf("pod: CRI log line %q: want \"<time> <stream> <tag> <text>\"", line)
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return LogEntry{}, fmt.Errorf("pod: CRI log line: time: %w", err)
	}
	if stream != string(Stdout) && stream != string(Stderr) {
		return LogEntry{}, fmt.Errorf("pod: CRI log line: stream %q: want stdout or stderr", stream)
	}
	if tag != "F" && tag != "P" {
		return LogEntry{}, fmt.Errorf("pod: CRI log line: tag %q: want F or P", tag)
	}
	return LogEntry{Time: t, Stream: Stream(stream), Partial: tag == "P", Text: text}, nil
}

// LogOptions selects lines for Logs.
type LogOptions struct {
	// Tail is the number of most recent lines to return; 0 returns every
	// buffered line.
	Tail int
	// Previous selects the instance of the container before its last
	// restart, like kubectl logs --previous.
	Previous bool
}

// ErrNoPreviousInstance is returned by Logs with Previous set for a
// container that has not been restarted.
var ErrNoPreviousInstance = errors.New("pod: previous terminated container not found")

// Logs returns the buffered output of the named container, both streams
// interleaved in the order the lines were read. Each container instance keeps
// its most recent lines up to the pod's log buffer size; the current and the
// previous instance are kept. Logs may be called at any time from any
// goroutine, also after the pod has finished.
func (p *Pod) Logs(container string, opts LogOptions) ([]LogEntry, error) {
	m := p.member(container)
	if m == nil {
		return nil, fmt.Errorf("pod %q: logs: %w: %q", p.name, ErrNoContainer, container)
	}
	if opts.Tail < 0 {
		return nil, fmt.Errorf("pod %q: logs: tail %d: must not be negative", p.name, opts.Tail)
	}
	p.mu.Lock()
	buf := m.logs
	if opts.Previous {
		buf = m.prevLogs
	}
	p.mu.Unlock()
	if buf == nil {
		if opts.Previous {
			return nil, fmt.Errorf("pod %q: container %q: %w", p.name, container, ErrNoPreviousInstance)
		}
		return nil, nil
	}
	return buf.tail(opts.Tail), nil
}

// FollowLogs calls fn with the named container's output as it comes, like
// kubectl logs -f: first the buffered lines of the current instance (the
// last opts.Tail of them, when Tail is set), then every new line, across
// restarts: a new instance's output follows the old one's. opts.Previous is
// not allowed. fn is called from the calling goroutine, one entry at a time.
//
// FollowLogs blocks until ctx is done (it returns nil then), the container
// will not run again and its output has been delivered (nil), or fn returns
// an error (that error). Lines that the log buffer dropped before fn read
// them (a fast writer and a slow fn) are skipped, not waited for.
//
// FollowLogs starts no goroutine: fn runs on the caller's, one entry at a
// time, and nothing of the call remains once it has returned.
func (p *Pod) FollowLogs(ctx context.Context, container string, opts LogOptions, fn func(LogEntry) error) error {
	m := p.member(container)
	if m == nil {
		return fmt.Errorf("pod %q: logs: %w: %q", p.name, ErrNoContainer, container)
	}
	if opts.Tail < 0 {
		return fmt.Errorf("pod %q: logs: tail %d: must not be negative", p.name, opts.Tail)
	}
	if opts.Previous {
		return fmt.Errorf("pod %q: logs: previous: cannot be followed", p.name)
	}
	p.mu.Lock()
	buf, swapped := m.logs, m.logsSwapped
	p.mu.Unlock()
	pos := 0
	if buf != nil && opts.Tail > 0 {
		pos = buf.count() - opts.Tail
	}
	for {
		var changed <-chan struct{}
		if buf != nil {
			var entries []LogEntry
			entries, pos, changed = buf.since(pos)
			for _, e := range entries {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-swapped:
			// A new instance: its output follows what is left of the old.
			p.mu.Lock()
			next, nextSwapped := m.logs, m.logsSwapped
			p.mu.Unlock()
			if buf != nil {
				entries, _, _ := buf.since(pos)
				for _, e := range entries {
					if err := fn(e); err != nil {
						return err
					}
				}
			}
			buf, swapped, pos = next, nextSwapped, 0
		case <-m.done:
			// The last instance's output was all read before done closed.
			if buf != nil {
				entries, _, _ := buf.since(pos)
				for _, e := range entries {
					if err := fn(e); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
}

// logBuffer keeps the most recent entries of one container instance, up to a
// total size in bytes.
type logBuffer struct {
	mu      sync.Mutex
	max     int
	size    int
	entries []LogEntry // entries[head:] is live; compacted when head grows
	head    int
	added   int           // entries ever added
	changed chan struct{} // closed, and replaced, at every add
}

func newLogBuffer(max int) *logBuffer { return &logBuffer{max: max, changed: make(chan struct{})} }

func (b *logBuffer) add(e LogEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entries = append(b.entries, e)
	b.added++
	close(b.changed)
	b.changed = make(chan struct{})
	b.size += len(e.Text)
	for b.size > b.max && b.head < len(b.entries) {
		b.size -= len(b.entries[b.head].Text)
		b.entries[b.head] = LogEntry{}
		b.head++
	}
	if b.head > len(b.entries)/2 {
		b.entries = append(b.entries[:0], b.entries[b.head:]...)
		b.head = 0
	}
}

func (b *logBuffer) tail(n int) []LogEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	live := b.entries[b.head:]
	if n > 0 && n < len(live) {
		live = live[len(live)-n:]
	}
	return append([]LogEntry(nil), live...)
}

// count returns how many entries were ever added.
func (b *logBuffer) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.added
}

// since returns the live entries from the pos-th ever added on (those
// dropped already are skipped), the position after them, and a channel
// closed at the next add.
func (b *logBuffer) since(pos int) ([]LogEntry, int, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	live := b.entries[b.head:]
	first := b.added - len(live)
	pos = max(pos, first)
	return append([]LogEntry(nil), live[pos-first:]...), b.added, b.changed
}

// copyLog reads r line by line into buf, and into tee when not nil, until r
// ends. now stamps each line.
func copyLog(r io.Reader, stream Stream, buf *logBuffer, tee io.Writer, now func() time.Time) {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			full := line[len(line)-1] == '\n'
			text := line
			if full {
				text = line[:len(line)-1]
			}
			buf.add(LogEntry{Time: now(), Stream: stream, Partial: !full, Text: string(text)})
			if tee != nil {
				_, _ = tee.Write(line)
				if !full && err != bufio.ErrBufferFull {
					_, _ = tee.Write([]byte{'\n'}) // the stream ended mid-line
				}
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}
