package logs

import (
	"cmp"
	"context"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/podkit/podkit/pod"
)

// Parser is the core of the log adapter: it turns lines into records as
// Adapter.Run does, without reading or writing anything. Parse takes a line and
// returns the records it completes; Flush and FlushIdle return the records
// held back (a line still being joined from partial pieces, a multiline
// record waiting for its next line).
//
// A Parser is not safe for concurrent use. Memory is bounded: per
// source (a file, a stream), one line of Adapter.MaxLineBytes and one
// multiline record of Multiline.MaxBytes.
type Parser struct {
	cfg     *logConfig
	now     func() time.Time
	sources map[string]*logSource
	last    *logSource // of the last line, found without the map
	seq     uint64
	enrich  []Field
	metrics *logMetrics // nil without a Registerer
	// jobs are the records completed and not made yet: parseLine and
	// flush add to them, and records, or a logEncoder, makes them.
	jobs []logJob
}

// logJob is what a record is made from: the text of a line, or of a
// multiline record, and what is known of it; or, with err set, a line that
// is not in format, whose record is a parse error. Making it reads only
// the parser's configuration, so that jobs can be made into records on
// other goroutines (see logEncoder).
type logJob struct {
	text   string
	meta   logMeta
	format Format // with err
	err    error
}

// Line is one line of input of a Parser.
type Line struct {
	// Text is the line without its newline: any bytes. A trailing "\r" is
	// removed.
	Text string
	// Partial says that the line goes on in the next line of the same
	// source, as with pod.LogEntry.Partial; the pieces are joined, up to
	// Adapter.MaxLineBytes.
	Partial bool
	// Stream is the standard stream the line was written to, "stdout" or
	// "stderr", when known: the records' "stream".
	Stream string
	// File is the file the line was read from, when it was: the records'
	// "file".
	File string
	// Time is when the line was written, or read: the time of a record
	// whose line has none. Zero means now.
	Time time.Time
}

// Record is one normalised record.
type Record struct {
	// Time is the record's time; zero only when Adapter.Drop has "time".
	Time time.Time
	// Level is trace, debug, info, warn, error, fatal, another level in
	// lower case, or empty when the line has none.
	Level string
	// Msg is the message; for a parse error, the raw line.
	Msg string
	// Fields are the line's other fields, in their order (after Rename,
	// Types and Drop), then the adapter's: stream, file, pod, container and
	// host. Values are strings, bools, int64s, float64s, json.Numbers,
	// nil, or what encoding/json decodes objects and arrays to.
	Fields []Field
	// ParseError, when not empty, is why the line did not parse.
	ParseError string
	// Truncated is set when the line was longer than Adapter.MaxLineBytes.
	Truncated bool
	// Warnings list the times and casts that failed.
	Warnings []string
}

// Field is a field of a Record.
type Field struct {
	// Key is the field's name, unique in its record.
	Key string
	// Value is the field's value: see Record.Fields.
	Value any
}

// logSource is what is held for one source of lines: a file or stream, or,
// with FormatCRI, one stream of a file.
type logSource struct {
	key     string
	file    string // of its raw lines (not a CRI stream's)
	stream  string
	seq     uint64
	last    time.Time // when its last line came
	criText bool      // the texts of a CRI stream, not raw lines

	join     []byte // the pieces of a partial line so far
	joining  bool
	joinMeta logMeta

	ml      []byte // the multiline record so far
	mlLines int
	mlOpen  bool
	mlMeta  logMeta
}

func (s *logSource) pending() bool { return s.joining || s.mlOpen }

// logMeta is what a record knows of its line besides its text.
type logMeta struct {
	time         time.Time
	stream, file string
	truncated    bool
}

// logsKeepSources is how many sources with nothing held are kept for their
// buffers; past it they are forgotten, so that files that come and go (a
// date in the name) do not pile up.
const logsKeepSources = 64

// NewParser returns a parser for l. Only the fields about parsing
// matter (Format to Enrich): input and output are ignored. With Enrich, it
// adds the fields the process form adds ($POD_NAME, $NODE_NAME, the host
// name; see Adapter.Enrich); Run adds the pod's.
func NewParser(l Adapter) (*Parser, error) {
	cfg, err := l.compile()
	if err != nil {
		return nil, err
	}
	p := newLogParser(cfg)
	p.setEnrich(context.Background())
	return p, nil
}

func newLogParser(cfg *logConfig) *Parser {
	return &Parser{cfg: cfg, now: time.Now, sources: make(map[string]*logSource)}
}

// setEnrich computes the fields of Adapter.Enrich: the pod's, when ctx is an
// in-process container's.
func (p *Parser) setEnrich(ctx context.Context) {
	if !p.cfg.enrich {
		return
	}
	host, _ := os.Hostname()
	var podName string
	if self, ok := pod.FromContext(ctx); ok {
		podName = self.Pod.Name()
	} else {
		podName = cmp.Or(os.Getenv("POD_NAME"), host)
		host = cmp.Or(os.Getenv("NODE_NAME"), host)
	}
	p.enrich = p.enrich[:0]
	for _, f := range []Field{{"pod", podName}, {"container", p.cfg.fromContainer}, {"host", host}} {
		if f.Value != "" {
			p.enrich = append(p.enrich, f)
		}
	}
}

// Parse takes one line and returns the records it completes: none while
// a partial line or a multiline record is held, one usually, two when the
// line ends a multiline record and is held as the start of the next.
func (p *Parser) Parse(line Line) []Record {
	p.parseLine(line, p.now())
	return p.records()
}

// parseLine is Parse at now, but leaves the records it completes in
// p.jobs.
func (p *Parser) parseLine(line Line, now time.Time) {
	if line.Time.IsZero() {
		line.Time = now
	}
	s := p.last
	if s == nil || s.file != line.File || s.stream != line.Stream {
		s = p.source(line.File+"\x00"+line.Stream, false)
		s.file, s.stream, p.last = line.File, line.Stream, s
	}
	s.last = now
	text, meta, ok := p.join(s, line.Text, line.Partial, logMeta{time: line.Time, stream: line.Stream, file: line.File})
	if !ok {
		return
	}
	p.line(s, text, meta, now)
	if len(p.sources) > logsKeepSources {
		p.forget()
	}
}

// Flush returns every record held: call it when the input has ended.
func (p *Parser) Flush() []Record {
	p.flush(func(*logSource) bool { return true })
	return p.records()
}

// FlushIdle returns the records held for the sources that have had no line
// for the flush delay (Multiline.FlushAfter, 500ms by default) at now.
func (p *Parser) FlushIdle(now time.Time) []Record {
	p.flushIdle(now)
	return p.records()
}

// flushIdle is FlushIdle, but leaves the records in p.jobs.
func (p *Parser) flushIdle(now time.Time) {
	deadline := now.Add(-p.cfg.flush)
	p.flush(func(s *logSource) bool { return !s.last.After(deadline) })
}

// records makes the records of p.jobs, and empties it.
func (p *Parser) records() []Record {
	var out []Record
	for i := range p.jobs {
		var r Record
		if p.makeRecord(&p.jobs[i], nil, &r) {
			out = append(out, r)
		}
	}
	p.clearJobs()
	return out
}

// clearJobs empties p.jobs, keeping its memory but not its texts.
func (p *Parser) clearJobs() {
	clear(p.jobs)
	p.jobs = p.jobs[:0]
}

// NextFlush returns when FlushIdle will have records to return, and false
// if nothing is held.
func (p *Parser) NextFlush() (time.Time, bool) {
	var next time.Time
	found := false
	for _, s := range p.sources {
		if s.pending() && (!found || s.last.Before(next)) {
			next, found = s.last, true
		}
	}
	return next.Add(p.cfg.flush), found
}

// source returns the source of key, made if needed.
func (p *Parser) source(key string, criText bool) *logSource {
	s := p.sources[key]
	if s == nil {
		p.seq++
		s = &logSource{key: key, seq: p.seq, criText: criText}
		p.sources[key] = s
	}
	return s
}

// forget drops the sources that hold nothing.
func (p *Parser) forget() {
	p.last = nil
	for k, s := range p.sources {
		if !s.pending() {
			delete(p.sources, k)
		}
	}
}

// flush completes what is held by the sources sel selects: partial lines
// first (which may give a CRI text or a multiline record to hold), then
// multiline records, in the order the sources appeared.
func (p *Parser) flush(sel func(*logSource) bool) {
	for range 4 { // raw line, CRI text, multiline record: three passes do
		var ss []*logSource
		for _, s := range p.sources {
			if s.pending() && sel(s) {
				ss = append(ss, s)
			}
		}
		if len(ss) == 0 {
			break
		}
		slices.SortFunc(ss, func(a, b *logSource) int { return cmp.Compare(a.seq, b.seq) })
		for _, s := range ss {
			if s.joining {
				s.joining = false
				text, meta := string(s.join), s.joinMeta
				if s.criText {
					p.multiline(s, text, meta)
				} else {
					p.line(s, text, meta, s.last)
				}
				continue
			}
			p.flushML(s)
		}
	}
	p.forget()
}

// join adds a piece of a line to what s holds, and returns the whole line
// once a piece is not partial. The line is cut at maxLine bytes; the rest
// is dropped and counted.
func (p *Parser) join(s *logSource, text string, partial bool, meta logMeta) (string, logMeta, bool) {
	limit := p.cfg.maxLine
	if !s.joining && !partial {
		text, meta = p.cut(text, meta)
		return text, meta, true
	}
	if !s.joining {
		s.joining, s.joinMeta, s.join = true, meta, s.join[:0]
	}
	s.joinMeta.truncated = s.joinMeta.truncated || meta.truncated
	if room := limit - len(s.join); len(text) > room {
		n := logCut(text, room)
		p.metrics.dropped(len(text) - n)
		text, s.joinMeta.truncated = text[:n], true
	}
	s.join = append(s.join, text...)
	if partial {
		return "", logMeta{}, false
	}
	s.joining = false
	return string(s.join), s.joinMeta, true
}

// cut cuts a whole line at maxLine bytes, and counts the rest as dropped.
func (p *Parser) cut(text string, meta logMeta) (string, logMeta) {
	if len(text) > p.cfg.maxLine {
		n := logCut(text, p.cfg.maxLine)
		p.metrics.dropped(len(text) - n)
		text, meta.truncated = text[:n], true
	}
	return text, meta
}

// stateless reports whether the lines of batch can each be made into a
// job alone (wholeLine), on any goroutine: whole lines, with no source
// but the one of a reader (no file, no stream), which holds nothing; no
// multiline, no CRI.
func (p *Parser) stateless(batch []Line) bool {
	if p.cfg.ml != nil || p.cfg.format == FormatCRI {
		return false
	}
	for _, s := range p.sources {
		if s.pending() {
			return false
		}
	}
	for i := range batch {
		if l := &batch[i]; l.Partial || l.File != "" || l.Stream != "" {
			return false
		}
	}
	return true
}

// wholeLine makes into j the job parseLine adds for a line of a stateless
// batch. It reads only p's configuration, as makeRecord does.
func (p *Parser) wholeLine(j *logJob, line *Line, now time.Time) {
	*j = logJob{text: line.Text, meta: logMeta{time: line.Time}}
	if j.meta.time.IsZero() {
		j.meta.time = now
	}
	j.text, j.meta = p.cut(j.text, j.meta)
	j.text = strings.TrimSuffix(j.text, "\r")
}

// logCut returns where to cut s to at most n bytes: n, or a little less so
// as not to split a UTF-8 sequence.
func logCut(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for i := n; i > 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return n
}

// line handles a whole line of source s.
func (p *Parser) line(s *logSource, text string, meta logMeta, now time.Time) {
	text = strings.TrimSuffix(text, "\r")
	if p.cfg.format != FormatCRI {
		p.multiline(s, text, meta)
		return
	}
	if strings.TrimSpace(text) == "" {
		p.metrics.sanitized("empty")
		return
	}
	e, err := logParseCRI(text)
	if err != nil {
		p.jobs = append(p.jobs, logJob{text: text, meta: meta, format: FormatCRI, err: err})
		return
	}
	meta.time, meta.stream = e.time, e.stream
	sub := p.source(s.key+"\x00cri\x00"+e.stream, true)
	sub.last = now
	text, meta, ok := p.join(sub, e.text, e.partial, meta)
	if !ok {
		return
	}
	p.multiline(sub, text, meta)
}

// multiline adds a line to the record s holds, or starts a record with it.
func (p *Parser) multiline(s *logSource, text string, meta logMeta) {
	ml := p.cfg.ml
	if ml == nil {
		p.jobs = append(p.jobs, logJob{text: text, meta: meta})
		return
	}
	if s.mlOpen {
		cont := ml.start != nil && !ml.start.MatchString(text) || ml.cont != nil && ml.cont.MatchString(text)
		if cont && s.mlLines < ml.maxLines && len(s.ml)+1+len(text) <= ml.maxBytes {
			s.ml = append(append(s.ml, '\n'), text...)
			s.mlLines++
			s.mlMeta.truncated = s.mlMeta.truncated || meta.truncated
			return
		}
		p.flushML(s)
	}
	s.mlOpen, s.mlLines, s.mlMeta = true, 1, meta
	s.ml = append(s.ml[:0], text...)
}

func (p *Parser) flushML(s *logSource) {
	if !s.mlOpen {
		return
	}
	s.mlOpen = false
	p.jobs = append(p.jobs, logJob{text: string(s.ml), meta: s.mlMeta})
}

// logScratch is the memory that making records reuses from one record to
// the next: one per goroutine that makes records.
type logScratch struct {
	parsed []Field // the fields of a line, as its format reads them
	fields []Field // of the record
}

// makeRecord makes the record of j into r, and reports whether there is
// one (a blank text has none). It reads p's configuration (and counts in
// its metrics) but changes nothing in p, so that several goroutines can
// make records at once. With sc, r's fields are in sc's memory: r is then
// valid until sc makes the next record.
func (p *Parser) makeRecord(j *logJob, sc *logScratch, r *Record) bool {
	text, meta := j.text, j.meta
	if j.err != nil {
		p.failed(text, meta, j.format, j.err, sc, r)
		return true
	}
	text, ok := p.recordText(j)
	if !ok {
		return false
	}
	format := p.cfg.format
	if format == FormatCRI {
		format = p.cfg.inner
	}
	var dst []Field
	if sc != nil {
		dst = sc.parsed[:0]
	}
	var parsed logParsed
	err := p.parse(&parsed, dst, format, text, meta.time)
	if sc != nil && cap(parsed.fields) >= cap(sc.parsed) {
		sc.parsed = parsed.fields
	}
	if err != nil {
		p.failed(text, meta, format, err, sc, r)
		return true
	}
	p.normalize(&parsed, &meta, sc, r)
	return true
}

// recordText returns the text of j (a record's, not a parse error's) to
// parse, and false for a blank one, which has no record; it counts what
// the metrics count of a text.
func (p *Parser) recordText(j *logJob) (string, bool) {
	text := strings.TrimPrefix(j.text, "\ufeff") // a byte order mark, at the start of a file
	if strings.TrimSpace(text) == "" {
		p.metrics.sanitized("empty")
		return "", false
	}
	if p.metrics != nil {
		if j.meta.truncated {
			p.metrics.sanitized("truncated")
		}
		if !utf8.ValidString(text) {
			p.metrics.sanitized("invalid_utf8")
		}
		if strings.IndexByte(text, 0) >= 0 {
			p.metrics.sanitized("nul")
		}
	}
	return text, true
}

// plain reports whether the record of a job of wholeLine is its time, its
// text as the message and its truncated flag, nothing else: format text,
// without Enrich, nor time dropped.
func (p *Parser) plain() bool {
	return p.cfg.format == FormatText && len(p.enrich) == 0 && !p.cfg.dropTime
}

// failed makes into r the record of a line that did not parse: its raw
// text.
func (p *Parser) failed(text string, meta logMeta, format Format, err error, sc *logScratch, r *Record) {
	p.metrics.parseError(format)
	*r = Record{Time: meta.time, Msg: text, ParseError: logTrimReason(err.Error()), Truncated: meta.truncated}
	r.Fields = p.appendMeta(sc.take(0), meta)
	sc.keep(r.Fields)
	if p.cfg.dropTime {
		r.Time = time.Time{}
	}
}

// take returns an empty field list with room for n fields: sc's memory,
// or new memory without sc.
func (sc *logScratch) take(n int) []Field {
	if sc == nil {
		return make([]Field, 0, n)
	}
	return sc.fields[:0]
}

// keep keeps the memory of a record's fields for the next record.
func (sc *logScratch) keep(fields []Field) {
	if sc != nil && cap(fields) >= cap(sc.fields) {
		sc.fields = fields
	}
}

// appendMeta appends the adapter's fields that are not dropped.
func (p *Parser) appendMeta(fields []Field, meta logMeta) []Field {
	if meta.stream != "" && !p.cfg.dropStream {
		fields = append(fields, Field{"stream", meta.stream})
	}
	if meta.file != "" && !p.cfg.dropFile {
		fields = append(fields, Field{"file", meta.file})
	}
	for _, f := range p.enrich {
		if !p.cfg.drop[f.Key] {
			fields = append(fields, f)
		}
	}
	return fields
}

// isMeta reports whether the adapter adds a field named key to a record of
// meta.
func (p *Parser) isMeta(key string, meta logMeta) bool {
	switch key {
	case "stream":
		return meta.stream != ""
	case "file":
		return meta.file != ""
	}
	for _, f := range p.enrich {
		if f.Key == key {
			return true
		}
	}
	return false
}
