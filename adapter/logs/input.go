package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/tail"
	"github.com/podkit/podkit/pod"
)

var (
	// errLogsStopped is what the input gets when the output has failed.
	errLogsStopped = errors.New("the output failed")
	errLogsNoPod   = errors.New("not running as an in-process container of a pod (pod.FromContext)")
)

// logsReadBuf is the size of the reads of Reader and Stdin: longer lines
// come as partial pieces.
const logsReadBuf = 64 << 10

// logRun feeds l's input to p, and p's records to sink, until the input
// ends (or ctx is done and the input has been read).
//
// The input runs in the calling goroutine (FollowLogs and tail.Follow call
// back from it) and puts its lines in a logQueue; one goroutine owns p and
// sink, so that the records held for a multiline record can be written
// when the input is quiet.
func logRun(ctx context.Context, l Adapter, p *Parser, sink logSink) error {
	q := newLogQueue()
	if ws, ok := sink.(*logWriterSink); ok {
		q.recycle, q.help = true, ws.help
	}
	done := make(chan struct{})
	var sinkErr error
	go func() {
		defer close(done)
		sinkErr = logConsume(q, p, sink)
		q.stop()
	}()
	inErr := l.follow(ctx, q)
	q.close()
	<-done
	switch {
	case sinkErr != nil:
		return fmt.Errorf("logs: output: %w", sinkErr)
	case inErr != nil:
		return fmt.Errorf("logs: %w", inErr)
	}
	return nil
}

// logConsume parses the lines and writes the records, and the records held
// once their source is quiet, until q is closed; then it writes what is
// still held. The output is flushed whenever the queue is empty.
func logConsume(q *logQueue, p *Parser, sink logSink) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	write := func() error {
		err := sink.write(p, p.jobs)
		p.clearJobs()
		return err
	}
	flushIdle := func() error {
		p.flushIdle(time.Now())
		if err := write(); err != nil {
			return err
		}
		return sink.flush()
	}
	arm := func() {
		if next, ok := p.NextFlush(); ok {
			timer.Reset(time.Until(next))
		} else {
			timer.Stop()
		}
	}
	var batch []Line
	for {
		var closed bool
		batch, closed = q.take(batch)
		if len(batch) > 0 {
			now := p.now()
			var err error
			if ls, ok := sink.(logLineSink); ok && p.stateless(batch) {
				err = ls.writeLines(p, batch, now)
			} else {
				for i := range batch {
					p.parseLine(batch[i], now)
				}
				err = write()
			}
			if err != nil {
				return err
			}
			// Another source may hold a record that is due while this
			// one keeps the queue busy.
			select {
			case <-timer.C:
				if err := flushIdle(); err != nil {
					return err
				}
			default:
			}
			arm()
			continue
		}
		if closed {
			p.flush(func(*logSource) bool { return true })
			if err := write(); err != nil {
				return err
			}
			return sink.flush()
		}
		// The input is idle: out with what is buffered.
		if err := sink.flush(); err != nil {
			return err
		}
		select {
		case <-q.ready:
		case <-timer.C:
			if err := flushIdle(); err != nil {
				return err
			}
			arm()
		}
	}
}

// follow reads l's input, putting its lines in q from the calling
// goroutine. In-process, once the input has ended, it waits for ctx: a
// container that returned would be restarted, and adapt the same output
// (a container's, a reader's end) again.
func (l Adapter) follow(ctx context.Context, q *logQueue) error {
	var err error
	switch {
	case l.FromContainer != "":
		err = l.followContainer(ctx, q)
	case l.Files != nil:
		err = l.followFiles(ctx, q)
	case l.Stdin:
		err = logFollowStdin(ctx, q)
	default:
		err = logFollowReader(ctx, l.Reader, q)
	}
	if _, inPod := pod.FromContext(ctx); err == nil && inPod {
		<-ctx.Done()
	}
	return err
}

// followContainer follows the output of l.FromContainer. When ctx is done it
// goes on for up to logsDrainTimeout, until the container's output has all
// been read (it has ended: the pod stops its sidecars after its other
// containers), so that its last lines are adapted too.
func (l Adapter) followContainer(ctx context.Context, q *logQueue) error {
	self, ok := pod.FromContext(ctx)
	if !ok {
		return fmt.Errorf("fromContainer: %w", errLogsNoPod)
	}
	if self.Container == l.FromContainer {
		return fmt.Errorf("fromContainer: %q is the adapter itself", l.FromContainer)
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ctx.Done():
		case <-fctx.Done():
			return
		}
		drain := time.NewTimer(logsDrainTimeout)
		defer drain.Stop()
		select {
		case <-drain.C:
		case <-self.Killed:
		case <-fctx.Done():
		}
		cancel()
	})
	err := self.Pod.FollowLogs(fctx, l.FromContainer, pod.LogOptions{}, func(e pod.LogEntry) error {
		return q.put(Line{Text: e.Text, Partial: e.Partial, Stream: string(e.Stream), Time: e.Time})
	})
	cancel()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("fromContainer: %w", err)
	}
	return nil
}

// followFiles follows l.Files. tail splits the lines longer than its
// limit into pieces of exactly that many bytes; with a limit one byte
// above MaxLineBytes, such a piece can only be part of a line to cut.
func (l Adapter) followFiles(ctx context.Context, q *logQueue) error {
	f := l.Files
	root := ""
	if f.Volume != "" {
		var err error
		if root, err = pod.VolumeDir(ctx, f.Volume); err != nil {
			return fmt.Errorf("files.volume: %w", err)
		}
	}
	patterns := make([]string, len(f.Patterns))
	for i, p := range f.Patterns {
		patterns[i] = filepath.Join(root, p)
		if root == "" {
			patterns[i] = p
		}
	}
	limit := l.MaxLineBytes
	if limit == 0 {
		limit = logsDefaultMaxLine
	}
	limit++
	return tail.Follow(ctx, tail.Options{
		Patterns:     patterns,
		FromStart:    f.FromStart,
		MaxLineBytes: limit,
		PollInterval: f.PollInterval,
	}, func(tl tail.Line) error {
		path := tl.Path
		if root != "" {
			if rel, err := filepath.Rel(root, tl.Path); err == nil {
				path = rel
			}
		}
		return q.put(Line{Text: tl.Text, Partial: len(tl.Text) == limit, File: path, Time: tl.Time})
	})
}

// logDeadliner is a reader whose blocked Read a deadline interrupts.
type logDeadliner interface {
	SetReadDeadline(t time.Time) error
}

// logFollowReader reads r until it ends, and puts the lines of each read
// in q at once. When ctx is done, a deadline interrupts the read if r has
// one; otherwise reading stops after the next read.
func logFollowReader(ctx context.Context, r io.Reader, q *logQueue) error {
	if d, ok := r.(logDeadliner); ok {
		stopped := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			select {
			case <-ctx.Done():
				_ = d.SetReadDeadline(time.Now())
			case <-stopped:
			}
		})
		defer wg.Wait()
		defer close(stopped)
	}
	buf := q.readBuf()
	held := 0 // the start of a line whose newline has not been read
	var lines []Line
	// put hands the lines of buf[:n] over, and takes the bytes after them
	// to the start of the buffer to read into next.
	put := func(n, end int) error {
		var err error
		if q.recycle {
			next := q.readBuf()
			held = copy(next, buf[end:n])
			err = q.putRead(buf, lines)
			buf = next
		} else {
			err = q.put(lines...)
			held = copy(buf, buf[end:n])
		}
		return err
	}
	for empty := 0; ; {
		n, err := r.Read(buf[held:])
		now := time.Now()
		if n > 0 {
			empty = 0
			var end int
			end, lines = logSplitLines(buf, held+n, now, q.recycle, lines[:0])
			if len(lines) == 0 {
				held += n
			} else if err := put(held+n, end); err != nil {
				return err
			}
		} else if empty++; err == nil && empty == 100 {
			err = io.ErrNoProgress // as bufio gives up
		}
		if err != nil {
			// A line without its newline ends with the input.
			if held > 0 {
				lines = append(lines[:0], Line{Text: logBytesText(buf[:held], q.recycle), Time: now})
				if err := put(held, held); err != nil {
					return err
				}
			}
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded):
				return nil
			}
			return fmt.Errorf("input: %w", err)
		}
		if ctx.Err() != nil && held == 0 {
			return nil
		}
	}
}

// logSplitLines splits buf[:n] into lines read at now, appended to lines:
// those that end with a newline, or, if there is none in a full buffer,
// the whole of it, a piece of a longer line (Partial). It returns where
// what is left begins. The texts are views of buf with view, and share
// one new string otherwise.
func logSplitLines(buf []byte, n int, now time.Time, view bool, lines []Line) (int, []Line) {
	last := bytes.LastIndexByte(buf[:n], '\n')
	if last < 0 {
		if n < len(buf) {
			return 0, lines
		}
		return n, append(lines, Line{Text: logBytesText(buf, view), Partial: true, Time: now})
	}
	text := logBytesText(buf[:last+1], view)
	for text != "" {
		i := strings.IndexByte(text, '\n')
		lines = append(lines, Line{Text: text[:i], Time: now})
		text = text[i+1:]
	}
	return last + 1, lines
}

// logBytesText is b as a string: a view of b with view (b must not change while
// the string is in use: see logQueue.recycle), a copy otherwise.
func logBytesText(b []byte, view bool) string {
	if view && len(b) > 0 {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

// logFollowStdin reads the process's standard input. It reads a
// non-blocking duplicate of it, so that a deadline interrupts a read when
// ctx is done; the flag is shared with the original, and restored.
func logFollowStdin(ctx context.Context, q *logQueue) error {
	if _, ok := pod.FromContext(ctx); ok {
		return errors.New("stdin: only in the process form, not in-process")
	}
	fd, err := unix.Dup(0)
	if err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("stdin: %w", err)
	}
	restore := flags&unix.O_NONBLOCK == 0 && unix.SetNonblock(fd, true) == nil
	f := os.NewFile(uintptr(fd), "stdin")
	defer func() {
		if restore {
			_ = unix.SetNonblock(fd, false)
		}
		_ = f.Close()
	}()
	return logFollowReader(ctx, f, q)
}
