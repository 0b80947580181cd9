package adapter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/exported"
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
// back from it); one goroutine owns p and sink, so that the records held
// for a multiline record can be written when the input is quiet.
func logRun(ctx context.Context, l Logs, p *LogParser, sink logSink) error {
	lines := make(chan LogLine, 256)
	done := make(chan struct{})
	var sinkErr error
	go func() {
		defer close(done)
		sinkErr = logConsume(lines, p, sink)
	}()
	inErr := l.follow(ctx, func(line LogLine) error {
		select {
		case lines <- line:
			return nil
		case <-done:
			return errLogsStopped
		}
	})
	close(lines)
	<-done
	switch {
	case sinkErr != nil:
		return fmt.Errorf("adapter: logs: output: %w", sinkErr)
	case inErr != nil:
		return fmt.Errorf("adapter: logs: %w", inErr)
	}
	return nil
}

// logConsume parses the lines and writes the records, and the records held
// once their source is quiet, until lines is closed; then it writes what
// is still held.
func logConsume(lines <-chan LogLine, p *LogParser, sink logSink) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	write := func(rs []LogRecord) error {
		for i := range rs {
			if err := sink.write(&rs[i]); err != nil {
				return err
			}
			p.metrics.record()
		}
		return nil
	}
	arm := func() {
		if next, ok := p.NextFlush(); ok {
			timer.Reset(time.Until(next))
		} else {
			timer.Stop()
		}
	}
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				if err := write(p.Flush()); err != nil {
					return err
				}
				return sink.flush()
			}
			if err := write(p.Parse(line)); err != nil {
				return err
			}
			if len(lines) == 0 { // the input is idle: out with what is buffered
				if err := sink.flush(); err != nil {
					return err
				}
			}
		case <-timer.C:
			if err := write(p.FlushIdle(time.Now())); err != nil {
				return err
			}
			if err := sink.flush(); err != nil {
				return err
			}
		}
		arm()
	}
}

// follow reads l's input, calling emit with each line from the calling
// goroutine. In-process, once the input has ended, it waits for ctx: a
// container that returned would be restarted, and adapt the same output
// (a container's, a reader's end) again.
func (l Logs) follow(ctx context.Context, emit func(LogLine) error) error {
	var err error
	switch {
	case l.FromContainer != "":
		err = l.followContainer(ctx, emit)
	case l.Files != nil:
		err = l.followFiles(ctx, emit)
	case l.Stdin:
		err = logFollowStdin(ctx, emit)
	default:
		err = logFollowReader(ctx, l.Reader, emit)
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
func (l Logs) followContainer(ctx context.Context, emit func(LogLine) error) error {
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
		return emit(LogLine{Text: e.Text, Partial: e.Partial, Stream: string(e.Stream), Time: e.Time})
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
func (l Logs) followFiles(ctx context.Context, emit func(LogLine) error) error {
	f := l.Files
	root := ""
	if f.Volume != "" {
		root = exported.VolumePath(f.Volume)
		if self, ok := pod.FromContext(ctx); ok {
			var err error
			if root, err = self.Pod.VolumePath(f.Volume); err != nil {
				return fmt.Errorf("files.volume: %w", err)
			}
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
		return emit(LogLine{Text: tl.Text, Partial: len(tl.Text) == limit, File: path, Time: tl.Time})
	})
}

// logDeadliner is a reader whose blocked Read a deadline interrupts.
type logDeadliner interface {
	SetReadDeadline(t time.Time) error
}

// logFollowReader reads r line by line until it ends. When ctx is done, a
// deadline interrupts the read if r has one; otherwise reading stops after
// the next read.
func logFollowReader(ctx context.Context, r io.Reader, emit func(LogLine) error) error {
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
	br := bufio.NewReaderSize(r, logsReadBuf)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			full := line[len(line)-1] == '\n'
			if full {
				line = line[:len(line)-1]
			}
			if err := emit(LogLine{Text: string(line), Partial: !full && errors.Is(err, bufio.ErrBufferFull)}); err != nil {
				return err
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			if ctx.Err() != nil && br.Buffered() == 0 {
				return nil
			}
		case errors.Is(err, io.EOF):
			return nil
		case ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded):
			return nil
		default:
			return fmt.Errorf("input: %w", err)
		}
	}
}

// logFollowStdin reads the process's standard input. It reads a
// non-blocking duplicate of it, so that a deadline interrupts a read when
// ctx is done; the flag is shared with the original, and restored.
func logFollowStdin(ctx context.Context, emit func(LogLine) error) error {
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
	return logFollowReader(ctx, f, emit)
}
