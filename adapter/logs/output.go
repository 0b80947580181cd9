package logs

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/exported"
	"github.com/podkit/podkit/pod"

	"github.com/podkit/podkit/internal/promreg"
)

// AppendJSON appends r as a JSON object, without a newline: "time",
// "level" (when set), "msg", the fields, then "parse_error" and "error",
// "truncated" and "warnings" when set. The result is valid JSON and valid
// UTF-8 whatever r holds: invalid UTF-8 becomes U+FFFD, control characters
// are escaped, and a value that JSON cannot hold (NaN) is written as null.
func (r *Record) AppendJSON(b []byte) []byte {
	return r.appendJSON(b, nil)
}

// appendJSON is AppendJSON, with the time formatted through tc (which may
// be nil).
func (r *Record) appendJSON(b []byte, tc *logTimeCache) []byte {
	b = logAppendHead(b, r.Time, r.Level, r.Msg, tc)
	for _, f := range r.Fields {
		b = append(b, ',')
		b = logAppendString(b, f.Key)
		b = append(b, ':')
		b = logAppendValue(b, f.Value)
	}
	if r.ParseError != "" {
		b = append(b, `,"parse_error":true,"error":`...)
		b = logAppendString(b, r.ParseError)
	}
	if r.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	if len(r.Warnings) > 0 {
		b = append(b, `,"warnings":[`...)
		for i, w := range r.Warnings {
			if i > 0 {
				b = append(b, ',')
			}
			b = logAppendString(b, w)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// logAppendHead appends the start of a record: '{', "time" (unless it is
// zero), "level" (unless it is empty) and "msg".
func logAppendHead(b []byte, t time.Time, level, msg string, tc *logTimeCache) []byte {
	b = append(b, '{')
	if !t.IsZero() {
		b = append(b, `"time":"`...)
		b = tc.append(b, t)
		b = append(b, `",`...)
	}
	if level != "" {
		b = append(b, `"level":`...)
		b = logAppendString(b, level)
		b = append(b, ',')
	}
	b = append(b, `"msg":`...)
	return logAppendString(b, msg)
}

// logAppendValue appends a field's value as JSON.
func logAppendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return logAppendString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case json.Number:
		// A number as JSON writes it (as a line's numbers are), checked
		// without encoding/json, which converts it to check it.
		if logJSONScanNumber(string(v), 0) == len(v) ||
			v != "" && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') && json.Valid([]byte(v)) {
			return append(b, v...)
		}
		return logAppendString(b, string(v))
	case nil:
		return append(b, "null"...)
	case time.Time:
		return append(logAppendTime(append(b, '"'), v), '"')
	}
	// Objects and arrays, as encoding/json decoded them: it writes valid
	// UTF-8, and sorts the keys of an object.
	data, err := logCompactJSON(v)
	if err != nil {
		return logAppendString(b, fmt.Sprint(v))
	}
	return append(b, data...)
}

const logsHex = "0123456789abcdef"

// logsPlain marks the bytes that go into a JSON string as they are: ASCII
// but for control characters, '"' and '\\'.
var logsPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// logsEscape says how each byte is written in a JSON string: as itself
// (width 1), as a backslash and second (width 2: '"', '\\', '\n', '\r',
// '\t'), or, width 0, by logAppendOther (other control characters, and
// the bytes past ASCII).
var logsEscape = func() (t [256]struct{ first, second, width byte }) {
	for c := range t {
		e := &t[c]
		e.first, e.second = byte(c), byte(c)
		switch {
		case logsPlain[c]:
			e.width = 1
		case c == '"' || c == '\\':
			e.first, e.width = '\\', 2
		case c == '\n':
			e.first, e.second, e.width = '\\', 'n', 2
		case c == '\r':
			e.first, e.second, e.width = '\\', 'r', 2
		case c == '\t':
			e.first, e.second, e.width = '\\', 't', 2
		}
	}
	return t
}()

// logAppendString appends s as a JSON string: invalid UTF-8 becomes
// U+FFFD, control characters and the line separators U+2028 and U+2029 are
// escaped (so that a record stays one line for every reader). It is most
// of what a passthrough record costs.
func logAppendString(b []byte, s string) []byte {
	b = append(b, '"')
	for len(s) > 0 {
		// Room for every byte as two, and for two words past the end.
		b = slices.Grow(b, 2*len(s)+16)
		n := len(b)
		i, j := logEscapeASCII(b[n:n+2*len(s)+16], s)
		b = b[:n+j]
		if i < len(s) {
			b, i = logAppendOther(b, s, i)
		}
		s = s[i:]
	}
	return append(b, '"')
}

// logEscapeASCII writes s into out as logAppendString does, up to the
// first byte of width 0; it returns how much of s it read and of out it
// wrote. It goes a word of eight bytes at a time where they are ASCII
// without control characters: copied if none is '"' or '\\', else with a
// backslash put before those, in registers.
func logEscapeASCII(out []byte, s string) (i, j int) {
	for i < len(s) {
		if i+8 <= len(s) {
			w := logLoad64(s[i : i+8])
			if (^((w&logsLow7)+0x60*logsOnes)|w)&logsHighs == 0 {
				// The high bits of the bytes '"' and '\\'.
				special := logZeroBytes(w^'"'*logsOnes) | logZeroBytes(w^'\\'*logsOnes)
				if special == 0 {
					binary.LittleEndian.PutUint64(out[j:], w)
					i, j = i+8, j+8
					continue
				}
				// A backslash before each: from the last to the first,
				// the bytes from it on move up a byte to make room. (In
				// line: a call a word cost a tenth of the time.)
				m := uint8((special >> 7) * 0x0102040810204080 >> 56) // bit k for byte k
				lo, hi, n := w, uint64(0), 8+bits.OnesCount8(m)
				for m != 0 {
					k := uint(bits.Len8(m) - 1)
					m &^= 1 << k
					below := uint64(1)<<(8*k) - 1
					moved := lo &^ below
					hi = hi<<8 | moved>>56
					lo = lo&below | moved<<8 | '\\'<<(8*k)
				}
				binary.LittleEndian.PutUint64(out[j:], lo)
				binary.LittleEndian.PutUint64(out[j+8:], hi)
				i, j = i+8, j+n
				continue
			}
		}
		for end := min(i+8, len(s)); i < end; i++ {
			e := &logsEscape[s[i]]
			if e.width == 0 {
				return i, j
			}
			out[j], out[j+1] = e.first, e.second
			j += int(e.width)
		}
	}
	return i, j
}

// Words of bytes.
const (
	logsOnes  = 0x0101010101010101
	logsHighs = 0x8080808080808080
	logsLow7  = 0x7f7f7f7f7f7f7f7f
)

// logZeroBytes returns the high bits of the zero bytes of x: exactly
// them (no borrow runs from one byte into the next).
func logZeroBytes(x uint64) uint64 {
	return ^((x&logsLow7 + logsLow7) | x | logsLow7)
}

// logLoad64 reads the eight bytes of s as a little-endian word (one load).
func logLoad64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// logAppendOther appends s[i], a byte of width 0 in logsEscape, or the
// rune it starts, and returns where s goes on.
func logAppendOther(b []byte, s string, i int) ([]byte, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return append(b, '\\', 'u', '0', '0', logsHex[c>>4], logsHex[c&0xf]), i + 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError && size == 1:
		return append(b, `\ufffd`...), i + 1
	case r == '\u2028' || r == '\u2029':
		return append(b, '\\', 'u', '2', '0', '2', logsHex[r&0xf]), i + size
	}
	return append(b, s[i:i+size]...), i + size
}

// logAppendTime appends t in UTC as logsTimeLayout formats it, at a
// fraction of the cost of time.Time.AppendFormat (every record has a time).
func logAppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, logsTimeLayout)
	}
	hour, minute, sec := t.Clock()
	b = logAppendDigits(b, year, 4)
	b = logAppendDigits(append(b, '-'), int(month), 2)
	b = logAppendDigits(append(b, '-'), day, 2)
	b = logAppendDigits(append(b, 'T'), hour, 2)
	b = logAppendDigits(append(b, ':'), minute, 2)
	b = logAppendDigits(append(b, ':'), sec, 2)
	b = logAppendDigits(append(b, '.'), t.Nanosecond(), 9)
	return append(b, 'Z')
}

// logAppendDigits appends v >= 0 in n digits (n <= 9), zero-padded.
func logAppendDigits(b []byte, v, n int) []byte {
	var d [9]byte
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:n]...)
}

// logTimeCache keeps the last time a sink wrote, formatted: the lines of
// one read share their time, which passthrough records keep.
type logTimeCache struct {
	t    time.Time
	text []byte
}

// append appends t as logAppendTime does; on a nil cache too.
func (c *logTimeCache) append(b []byte, t time.Time) []byte {
	if c == nil {
		return logAppendTime(b, t)
	}
	if len(c.text) == 0 || !c.t.Equal(t) {
		c.t, c.text = t, logAppendTime(c.text[:0], t)
	}
	return append(b, c.text...)
}

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
			dir := exported.VolumePath(l.OutputVolume)
			if inPod {
				var err error
				if dir, err = self.Pod.VolumePath(l.OutputVolume); err != nil {
					return nil, fmt.Errorf("logs: outputVolume: %w", err)
				}
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
	times logTimeCache
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

// logBackgroundWriter writes buffers on a goroutine of its own, a handful
// at a time, so that the caller makes the next records while the last ones
// are written (to a pipe, a write waits for its reader).
type logBackgroundWriter struct {
	todo    chan [][]byte
	done    chan logWritten
	writing bool // buffers are with the goroutine
	err     error
}

type logWritten struct {
	bufs [][]byte
	err  error
}

func newLogBackgroundWriter(w io.Writer) *logBackgroundWriter {
	bg := &logBackgroundWriter{todo: make(chan [][]byte), done: make(chan logWritten, 1)}
	go func() {
		defer close(bg.done)
		for bufs := range bg.todo {
			bg.done <- logWritten{bufs, logWriteAll(w, bufs)}
		}
	}()
	return bg
}

// write waits for the previous buffers to be written, and hands bufs over:
// it returns the previous ones, for the caller to fill next, and the first
// error of a write so far (bufs are not written after one).
func (bg *logBackgroundWriter) write(bufs [][]byte) ([][]byte, error) {
	written := bg.wait()
	if bg.err != nil {
		return bufs, bg.err
	}
	bg.todo <- bufs
	bg.writing = true
	return written, nil
}

// wait waits for the buffers being written, and returns them.
func (bg *logBackgroundWriter) wait() [][]byte {
	if !bg.writing {
		return nil
	}
	w := <-bg.done
	bg.writing = false
	bg.err = cmp.Or(bg.err, w.err)
	return w.bufs
}

// stop waits for the last write, and ends the goroutine.
func (bg *logBackgroundWriter) stop() error {
	bg.wait()
	close(bg.todo)
	<-bg.done
	return bg.err
}

// logWriteAll writes bufs in order: to a file with writev(2), as few
// system calls as it takes, else with a Write each.
func logWriteAll(w io.Writer, bufs [][]byte) error {
	f, ok := w.(*os.File)
	if !ok {
		for _, b := range bufs {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	// The slices left to write: copies, not to cut the caller's.
	iov := make([][]byte, 0, min(len(bufs), logsMaxIOV))
	for len(bufs) > 0 {
		iov = iov[:0]
		for len(iov) < logsMaxIOV && len(bufs) > 0 {
			if len(bufs[0]) > 0 {
				iov = append(iov, bufs[0])
			}
			bufs = bufs[1:]
		}
		for len(iov) > 0 {
			var n int
			var werr error
			if err := rc.Write(func(fd uintptr) bool {
				n, werr = unix.Writev(int(fd), iov)
				return werr != unix.EAGAIN
			}); err != nil {
				werr = err
			}
			switch {
			case werr == unix.EINTR:
				continue
			case werr == unix.EPIPE:
				// As os.File.Write: on standard output, the process
				// gets the SIGPIPE a program in a pipeline expects.
				_, err := f.Write(iov[0])
				return err
			case werr != nil:
				return &os.PathError{Op: "write", Path: f.Name(), Err: werr}
			case n == 0:
				return io.ErrShortWrite
			}
			for n > 0 {
				if n < len(iov[0]) {
					iov[0] = iov[0][n:]
					break
				}
				n -= len(iov[0])
				iov = iov[1:]
			}
		}
	}
	return nil
}

// logsMaxIOV is how many buffers a writev(2) takes (IOV_MAX).
const logsMaxIOV = 1024

// logZapSink writes records to a zap core, making them one by one.
type logZapSink struct {
	core   zapcore.Core
	fields []zapcore.Field
	sc     logScratch
	r      Record
}

var logsZapLevels = map[string]zapcore.Level{
	"trace": zapcore.DebugLevel, "debug": zapcore.DebugLevel, "info": zapcore.InfoLevel,
	"warn": zapcore.WarnLevel, "error": zapcore.ErrorLevel, "fatal": zapcore.FatalLevel,
}

func (s *logZapSink) write(p *Parser, jobs []logJob) error {
	for i := range jobs {
		if !p.makeRecord(&jobs[i], &s.sc, &s.r) {
			continue
		}
		if err := s.writeRecord(&s.r); err != nil {
			return err
		}
		p.metrics.recorded(1)
	}
	return nil
}

func (s *logZapSink) writeRecord(r *Record) error {
	lvl, ok := logsZapLevels[r.Level]
	if !ok {
		lvl = zapcore.InfoLevel
	}
	if !s.core.Enabled(lvl) {
		return nil
	}
	fs := s.fields[:0]
	if !ok && r.Level != "" {
		fs = append(fs, zap.String("app_level", r.Level))
	}
	for _, f := range r.Fields {
		fs = append(fs, logZapField(f))
	}
	if r.ParseError != "" {
		fs = append(fs, zap.Bool("parse_error", true), zap.String("error", r.ParseError))
	}
	if r.Truncated {
		fs = append(fs, zap.Bool("truncated", true))
	}
	if len(r.Warnings) > 0 {
		fs = append(fs, zap.Strings("warnings", r.Warnings))
	}
	s.fields = fs
	// Write, not Check: a fatal record must not end this program.
	return s.core.Write(zapcore.Entry{Level: lvl, Time: r.Time, Message: r.Msg}, fs)
}

func (s *logZapSink) close() error { return nil }

func (s *logZapSink) flush() error { return nil } // records go straight to the core

func logZapField(f Field) zapcore.Field {
	switch v := f.Value.(type) {
	case string:
		return zap.String(f.Key, v)
	case bool:
		return zap.Bool(f.Key, v)
	case int64:
		return zap.Int64(f.Key, v)
	case float64:
		return zap.Float64(f.Key, v)
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return zap.Int64(f.Key, n)
		}
		if x, err := v.Float64(); err == nil {
			return zap.Float64(f.Key, x)
		}
		return zap.String(f.Key, string(v))
	case nil:
		return zap.Reflect(f.Key, nil)
	}
	return zap.Any(f.Key, f.Value)
}

// logMetrics are a log adapter's metrics. Its methods do nothing on nil.
type logMetrics struct {
	records      prometheus.Counter
	parseErrors  *prometheus.CounterVec
	droppedBytes prometheus.Counter
	sanitizedVec *prometheus.CounterVec
}

func newLogMetrics(name string) *logMetrics {
	labels := prometheus.Labels{"adapter": name}
	return &logMetrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podkit_adapter_log_records_total", Help: "Records written.", ConstLabels: labels}),
		parseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podkit_adapter_log_parse_errors_total", Help: "Lines that did not parse, written raw, by format.",
			ConstLabels: labels}, []string{"format"}),
		droppedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podkit_adapter_log_dropped_bytes_total", Help: "Bytes cut off lines longer than the limit.",
			ConstLabels: labels}),
		sanitizedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "podkit_adapter_log_sanitized_total",
			Help:        "Records repaired or skipped, by kind (truncated, invalid_utf8, nul, field_error, empty).",
			ConstLabels: labels}, []string{"kind"}),
	}
}

// register registers m's collectors with g, which unregisters them.
func (m *logMetrics) register(g *promreg.Registration) (err error) {
	if m.records, err = promreg.Register(g, m.records); err != nil {
		return err
	}
	if m.parseErrors, err = promreg.Register(g, m.parseErrors); err != nil {
		return err
	}
	if m.droppedBytes, err = promreg.Register(g, m.droppedBytes); err != nil {
		return err
	}
	m.sanitizedVec, err = promreg.Register(g, m.sanitizedVec)
	return err
}

func (m *logMetrics) recorded(n int) {
	if m != nil && n > 0 {
		m.records.Add(float64(n))
	}
}

func (m *logMetrics) parseError(format Format) {
	if m != nil {
		m.parseErrors.WithLabelValues(string(format)).Inc()
	}
}

func (m *logMetrics) dropped(n int) {
	if m != nil && n > 0 {
		m.droppedBytes.Add(float64(n))
	}
}

func (m *logMetrics) sanitized(kind string) {
	if m != nil {
		m.sanitizedVec.WithLabelValues(kind).Inc()
	}
}
