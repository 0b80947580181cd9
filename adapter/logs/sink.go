package logs

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/adapter/internal/jsonenc"
	"github.com/podkit/podkit/pod"
)

// logSink is where the records go. A sink makes the records of the
// parser's jobs itself: each kind does it as suits it.
type logSink interface {
	// write makes the records of jobs with p (see makeRecord), writes them
	// in order, and counts them in p's metrics.
	write(p *Parser, jobs []logJob) error
	// flush writes out what write buffered; it is called whenever the
	// input is idle, so that buffering costs no latency.
	flush() error
	close() error
}

// logLineSink is a sink that makes the records of the lines of a
// stateless batch itself (see Parser.stateless), instead of the
// parser's goroutine making their jobs first.
type logLineSink interface {
	writeLines(p *Parser, lines []Line, now time.Time) error
}

// openSink opens l's output; ctx is Run's, for the container's own
// standard output and the pod's volumes.
func (l Adapter) openSink(ctx context.Context) (logSink, error) {
	self, inPod := pod.FromContext(ctx)
	switch {
	case l.ZapCore != nil:
		return &logZapSink{core: l.ZapCore}, nil
	case l.Output != nil:
		return newWriterSink(l.Output, false, nil), nil
	case l.OutputFile != "":
		path := l.OutputFile
		if l.OutputVolume != "" {
			dir, err := pod.VolumeDir(ctx, l.OutputVolume)
			if err != nil {
				return nil, fmt.Errorf("logs: outputVolume: %w", err)
			}
			path = filepath.Join(dir, path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("logs: outputFile: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("logs: outputFile: %w", err)
		}
		return newBufferedSink(f, f), nil
	case inPod:
		return newWriterSink(self.Stdout, false, nil), nil
	}
	logGrowPipe(os.Stdout)
	return newBufferedSink(os.Stdout, nil), nil
}

// logsPipeSize is the buffer the process form asks of the pipe that is
// its standard output: 1 MiB, the most an unprivileged process gets by
// default (/proc/sys/fs/pipe-max-size).
const logsPipeSize = 1 << 20

// logGrowPipe enlarges the buffer of f to logsPipeSize if f is a pipe with
// a smaller one. The adapter writes faster than it reads, often: with the
// default 64 KiB, its writes and its reader's reads wait for each other
// every 64 KiB, and each wait is two context switches. Failures are
// ignored: the pipe is then as it was.
func logGrowPipe(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return
		}
		if size, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0); err == nil && size < logsPipeSize {
			_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, logsPipeSize)
		}
	})
}

// newBufferedSink writes to a file through buffers: one system call per
// record would cost more than parsing it.
func newBufferedSink(f *os.File, closer io.Closer) *logWriterSink {
	return newWriterSink(f, true, closer)
}

// newWriterSink returns a sink that writes to w. It starts its helpers
// (GOMAXPROCS-1 of them) and, with buffered, the goroutine that writes its
// buffers; close stops them.
func newWriterSink(w io.Writer, buffered bool, closer io.Closer) *logWriterSink {
	s := &logWriterSink{w: w, buffered: buffered, closer: closer}
	procs := min(runtime.GOMAXPROCS(0), logsMaxProcs)
	s.enc = make([]*logEncoder, logsSharesPerProc*procs)
	for i := range s.enc {
		s.enc[i] = &logEncoder{}
	}
	s.helpers = make(chan *logShares, 2*(procs-1))
	for range procs - 1 {
		s.helping.Go(func() {
			for sh := range s.helpers {
				sh.run()
			}
		})
	}
	if buffered {
		s.bg = newLogBackgroundWriter(w)
	}
	return s
}

const (
	// logsWriteBuf is about how many bytes of records a buffered sink
	// writes at once.
	logsWriteBuf = 64 << 10
	// A writer sink makes records on up to logsMaxProcs goroutines (and
	// GOMAXPROCS), in shares of logsMinShare jobs at least, and up to
	// logsSharesPerProc shares a goroutine.
	logsMaxProcs      = 8
	logsMinShare      = 64
	logsSharesPerProc = 4
	// logsMaxPending bounds the buffers a buffered sink hands over at once
	// (small batches fill one each).
	logsMaxPending = 256
)

// logWriterSink writes JSON lines to w: one per Write, or, when buffered,
// the buffers its encoders filled, handed at once (written with writev(2)
// to a file) to a goroutine of its own (bg) whenever they hold
// logsWriteBuf bytes and on flush, while the next records are made. It
// makes the records of many jobs in shares (see logShares), on the
// caller's goroutine and its helpers, and writes the shares in order.
type logWriterSink struct {
	w        io.Writer
	buffered bool
	closer   io.Closer
	pending  [][]byte      // filled buffers, not handed to bg yet
	size     int           // of pending
	spare    [][]byte      // empty buffers, for the encoders
	enc      []*logEncoder // one per share
	helpers  chan *logShares
	helping  sync.WaitGroup
	sharing  atomic.Pointer[logShares] // being made, for help
	bg       *logBackgroundWriter
}

// logShares are the records of one write, made in contiguous shares of its
// jobs, or of the lines of a stateless batch (see Parser.stateless):
// the writing goroutine and the helpers that are free take the next share
// until none is left, so that none waits for a helper that is late to
// start. Share k goes to encoder k, to be written in order.
type logShares struct {
	p        *Parser
	jobs     []logJob
	lines    []Line    // instead of jobs
	now      time.Time // when the lines were taken
	enc      []*logEncoder
	next     atomic.Int64
	done     atomic.Int64
	finished chan struct{} // closed when the last share is made
}

func (sh *logShares) run() {
	n := len(sh.enc)
	for {
		k := int(sh.next.Add(1) - 1)
		if k >= n {
			return
		}
		sh.make(k, n)
		if sh.done.Add(1) == int64(n) {
			close(sh.finished)
		}
	}
}

// make makes share k of n.
func (sh *logShares) make(k, n int) {
	e := sh.enc[k]
	if sh.lines == nil {
		e.encode(sh.p, sh.jobs[k*len(sh.jobs)/n:(k+1)*len(sh.jobs)/n])
		return
	}
	plain := sh.p.plain()
	var j logJob
	for i := k * len(sh.lines) / n; i < (k+1)*len(sh.lines)/n; i++ {
		sh.p.wholeLine(&j, &sh.lines[i], sh.now)
		if plain {
			e.encodePlain(sh.p, &j)
		} else {
			e.encodeJob(sh.p, &j)
		}
	}
}

// logEncoder makes records and appends them to buf as JSON lines; ends
// has where each line ends. One goroutine uses it at a time.
type logEncoder struct {
	sc    logScratch
	r     Record
	times jsonenc.TimeCache
	buf   []byte
	ends  []int
}

func (e *logEncoder) encode(p *Parser, jobs []logJob) {
	for i := range jobs {
		e.encodeJob(p, &jobs[i])
	}
}

func (e *logEncoder) encodeJob(p *Parser, j *logJob) {
	if p.makeRecord(j, &e.sc, &e.r) {
		e.buf = append(e.r.appendJSON(e.buf, &e.times), '\n')
		e.ends = append(e.ends, len(e.buf))
	}
}

// encodePlain appends what encodeJob appends for a job whose record is
// plain (see Parser.plain), without making the record: passthrough's
// every line.
func (e *logEncoder) encodePlain(p *Parser, j *logJob) {
	text, ok := p.recordText(j)
	if !ok {
		return
	}
	e.buf = logAppendHead(e.buf, j.meta.time, "", text, &e.times)
	if j.meta.truncated {
		e.buf = append(e.buf, `,"truncated":true`...)
	}
	e.buf = append(e.buf, "}\n"...)
	e.ends = append(e.ends, len(e.buf))
}

// reset empties e, and lets go of a buffer that huge records grew.
func (e *logEncoder) reset() {
	e.buf, e.ends = e.buf[:0], e.ends[:0]
	if cap(e.buf) > 4<<20 {
		e.buf = nil
	}
}

func (s *logWriterSink) write(p *Parser, jobs []logJob) error {
	return s.share(&logShares{p: p, jobs: jobs}, len(jobs))
}

// writeLines makes the records of the lines of a stateless batch (see
// Parser.stateless) taken at now, as parseLine and write would.
func (s *logWriterSink) writeLines(p *Parser, lines []Line, now time.Time) error {
	return s.share(&logShares{p: p, lines: lines, now: now}, len(lines))
}

// share makes the records of sh's n jobs or lines, in shares, and writes
// them in order.
func (s *logWriterSink) share(sh *logShares, n int) error {
	shares := min(len(s.enc), max(1, n/logsMinShare))
	sh.enc, sh.finished = s.enc[:shares], make(chan struct{})
	if shares == 1 {
		sh.make(0, 1)
	} else {
		s.sharing.Store(sh)
		for range cap(s.helpers) / 2 {
			select {
			case s.helpers <- sh:
			default: // a helper has not taken an older one: it is busy
			}
		}
		sh.run()
		<-sh.finished
		s.sharing.Store(nil)
	}
	var err error
	for _, e := range s.enc[:shares] {
		if err == nil {
			err = s.put(sh.p, e)
		}
		e.reset()
	}
	// One hand-over a batch, or fewer: bg has written the last one
	// meanwhile.
	if err == nil && (s.size >= logsWriteBuf || len(s.pending) >= logsMaxPending) {
		err = s.flush()
	}
	return err
}

// help makes shares of the records being made, if any are left; any
// goroutine may call it.
func (s *logWriterSink) help() {
	if sh := s.sharing.Load(); sh != nil {
		sh.run()
	}
}

// put writes the lines e made, each with a Write; or, buffered, it adds
// e's buffer to those for bg, and gives e a spare one.
func (s *logWriterSink) put(p *Parser, e *logEncoder) error {
	if !s.buffered {
		start := 0
		for _, end := range e.ends {
			if _, err := s.w.Write(e.buf[start:end]); err != nil {
				return err
			}
			p.metrics.recorded(1)
			start = end
		}
		return nil
	}
	p.metrics.recorded(len(e.ends))
	if len(e.buf) > 0 {
		s.pending = append(s.pending, e.buf)
		s.size += len(e.buf)
		e.buf = nil
		if n := len(s.spare); n > 0 {
			e.buf, s.spare = s.spare[n-1], s.spare[:n-1]
		}
	}
	return nil
}

// flush hands the filled buffers to bg, and takes back those it wrote.
func (s *logWriterSink) flush() error {
	if !s.buffered || len(s.pending) == 0 {
		return nil
	}
	written, err := s.bg.write(s.pending)
	for _, b := range written {
		if cap(b) <= 4<<20 { // huge records do not pin their buffer
			s.spare = append(s.spare, b[:0])
		}
	}
	clear(written)
	s.pending, s.size = written[:0], 0
	return err
}

// close stops the helpers, writes what is buffered, waits for it, and
// stops bg.
func (s *logWriterSink) close() error {
	close(s.helpers)
	s.helping.Wait()
	err := s.flush()
	if s.bg != nil {
		err = cmp.Or(err, s.bg.stop())
	}
	if s.closer != nil {
		if cerr := s.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
