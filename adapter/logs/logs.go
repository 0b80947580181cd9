package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/podkit/podkit/internal/memberconf"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"

	"github.com/podkit/podkit/pod"

	"github.com/podkit/podkit/internal/promreg"
)

// Adapter is a log adapter: it reads an application's log lines as the
// application writes them (JSON, logfmt, klog, an access log, free text)
// and writes each as a record of one structured form, a JSON object on a
// line of its own:
//
//	{"time":"2024-11-25T17:02:03.123456000Z","level":"info","msg":"listening","port":8080}
//
// "time" comes first, in UTC, RFC 3339 with nine digits of fraction (so
// that records sort as text); "level", when the line has one, is one of
// trace, debug, info, warn, error and fatal; "msg" is the message. The
// line's other fields follow in their order, then the adapter's own fields:
// "stream" and "file" (where the line came from), "pod", "container" and
// "host" (with Enrich), and the flags below. A field of the line that has
// the name of one of the adapter's is kept as "app_<name>".
//
// No line is dropped silently. A line that does not parse in Format is
// written as a record whose "msg" is the raw line, with "parse_error": true
// and the reason in "error", and counted. A line longer than MaxLineBytes is
// cut there and marked "truncated": true; a field whose time or type cast
// failed keeps its value, and the failure is listed in "warnings". Invalid
// UTF-8 is replaced (U+FFFD) and NUL bytes escaped, so every record is valid
// JSON. Only blank records are skipped (and counted).
//
// An Adapter is configuration; Container and Run do not change it. Its JSON
// form (the struct tags) is the configuration of the process form,
// "podkit adapter logs --config JSON".
type Adapter struct {
	// Input: exactly one of FromContainer, Files, Stdin and Reader.

	// FromContainer names a container of the same pod whose output (both
	// streams) is adapted, followed across its restarts with
	// Pod.FollowLogs: what the container printed before the adapter
	// started first, then every new line. In-process only (the process
	// form cannot read another container's output), so an Adapter with
	// FromContainer has no ExportArgs. The records carry "stream".
	FromContainer string `json:"fromContainer,omitempty"`
	// Files are log files, typically in a volume the application writes
	// to, followed across rotation like sidecar.LogShipper's. The records
	// carry "file", the path relative to the volume. (A file's over-long
	// line comes in pieces that do not say where the line ends: one whose
	// length is an exact multiple of MaxLineBytes+1 takes the next line
	// with it, counted as dropped.)
	Files *Files `json:"files,omitempty"`
	// Stdin reads the adapter process's standard input until it ends:
	// "app | podkit adapter logs --config ...". Process form only.
	Stdin bool `json:"stdin,omitempty"`
	// Reader is read until it ends (or fails). When ctx is done Run
	// returns at once if Reader has a SetReadDeadline method (an *os.File
	// of a pipe, a net.Conn); otherwise only once its Read returns.
	Reader io.Reader `json:"-"`

	// Format is how the lines are written. Empty means FormatAuto.
	Format Format `json:"format,omitempty"`
	// Regex, with Format FormatRegex (or Inner FormatRegex), is an RE2 regular
	// expression whose named groups are the fields, such as
	// `^(?P<time>\S+) \[(?P<level>\w+)\] (?P<msg>.*)$`. A line it does
	// not match is a parse error.
	Regex string `json:"regex,omitempty"`
	// Inner, with Format FormatCRI, is the format of the text within each
	// CRI line (an application's own format, as the kubelet stores it).
	// Empty means FormatText.
	Inner Format `json:"inner,omitempty"`
	// Multiline joins the lines of one record (a stack trace, say) before
	// they are parsed. Nil means every line is a record.
	Multiline *Multiline `json:"multiline,omitempty"`
	// MaxLineBytes bounds a line: the bytes past it are dropped, counted,
	// and the record is marked "truncated". Zero means 64 KiB.
	MaxLineBytes int `json:"maxLineBytes,omitempty"`

	// TimeField, LevelField and MessageField apply to the formats whose
	// fields have names of the application's choosing (json, logfmt,
	// regex); the others know which of their parts is which.

	// TimeField names the field that holds the record's time. Empty means
	// the first of time, ts, timestamp, @timestamp and datetime that holds
	// a time; a line without one gets the time it was written
	// (FromContainer, Format FormatCRI) or read.
	TimeField string `json:"timeField,omitempty"`
	// TimeLayouts are tried in order on the time field: Go layouts
	// ("2006-01-02 15:04:05.000"), or one of the names rfc3339,
	// rfc3339nano, rfc1123, rfc1123z, rfc822, rfc822z, ansic, unixdate,
	// rubydate, stamp, stampmilli, stampmicro, stampnano, datetime, clf
	// (02/Jan/2006:15:04:05 -0700) and the numeric unix, unix_ms, unix_us
	// and unix_ns (seconds, milli-, micro- and nanoseconds since the epoch,
	// with a fraction or not, as a number or a string). Empty means RFC
	// 3339, the usual ISO 8601 forms with or without "T" and zone,
	// RFC 1123, clf and syslog's stamp, and numbers by magnitude: seconds
	// (zap's float ts), milli-, micro- or nanoseconds. A layout without a
	// year takes the year that puts the time closest before the line was
	// read.
	TimeLayouts []string `json:"timeLayouts,omitempty"`
	// TimeZone is the IANA zone of times that carry none, such as
	// "Europe/Paris" or "Local". Empty means UTC.
	TimeZone string `json:"timeZone,omitempty"`
	// LevelField names the field that holds the level. Empty means the
	// first of level, lvl, severity, loglevel and levelname. Levels are
	// normalised whatever their case: trace, t, trc, finest, 10 are trace;
	// debug, d, dbg, fine, 7, 20 debug; info, i, inf, notice, 5, 6, 30
	// info; warn, warning, w, wrn, 4, 40 warn; error, err, e, severe,
	// dpanic, 3, 50 error; fatal, f, crit, critical, alert, emerg, panic,
	// 0-2, 60 fatal (syslog severities 0-7, bunyan and pino's 10-60).
	// Another level is kept, in lower case.
	LevelField string `json:"levelField,omitempty"`
	// MessageField names the field that becomes "msg". Empty means the
	// first of msg, message and log.
	MessageField string `json:"messageField,omitempty"`
	// Rename renames fields: old name to new. It applies to the fields
	// other than time, level and msg, before Types and Drop.
	Rename map[string]string `json:"rename,omitempty"`
	// Types casts fields, by their name after Rename, to a JSON type. A
	// value that does not cast is kept as it is, with a warning.
	Types map[string]FieldType `json:"types,omitempty"`
	// Drop removes fields by their name after Rename: the line's fields,
	// and "time", "level", "stream", "file", "pod", "container" and
	// "host". "msg" and the adapter's flags cannot be dropped.
	Drop []string `json:"drop,omitempty"`
	// Enrich adds "pod", "container" and "host": in-process, the pod's
	// name, the adapted container's name (with FromContainer) and the
	// supervising machine's host name; in the process form, $POD_NAME (or
	// the host name, which Kubernetes sets to the pod's name) and
	// $NODE_NAME (or the host name).
	Enrich bool `json:"enrich,omitempty"`

	// Output: at most one of Output, OutputFile and ZapCore. None means
	// the adapter's own standard output: its container's log in-process
	// (pod.FromContext), os.Stdout in the process form (a pipe there is
	// given a 1 MiB buffer when the kernel allows it, so that the adapter
	// and its reader wait for each other less often).

	// Output receives the records, one JSON line per Write, from one
	// goroutine.
	Output io.Writer `json:"-"`
	// OutputFile is a file the records are appended to, created (with its
	// directory) if needed; relative to OutputVolume when that is set. It
	// is not rotated; logrotate's copytruncate works with it.
	OutputFile string `json:"outputFile,omitempty"`
	// OutputVolume names the pod volume that holds OutputFile.
	OutputVolume string `json:"outputVolume,omitempty"`
	// ZapCore receives the records as zap entries: level, time and message
	// as the entry's, the rest as fields (a level that is not one of the
	// six, or none, is info; the original is kept in "app_level"). The
	// adapter does not Sync it.
	ZapCore zapcore.Core `json:"-"`

	// Registerer, when set, receives the adapter's metrics, labelled
	// adapter=<container name>: podkit_adapter_log_records_total,
	// podkit_adapter_log_parse_errors_total{format},
	// podkit_adapter_log_dropped_bytes_total (cut off long lines) and
	// podkit_adapter_log_sanitized_total{kind} (kind truncated,
	// invalid_utf8, nul, field_error or empty). Metrics already registered
	// under the same names and labels (by another adapter of the same
	// name) are shared, and left registered when Run returns.
	Registerer prometheus.Registerer `json:"-"`
}

// Files selects log files for Adapter.Files.
type Files struct {
	// Volume names the pod volume that holds the files; Patterns are then
	// relative to it. Empty means Patterns are paths on the host (in the
	// process form, in its container).
	Volume string `json:"volume,omitempty"`
	// Patterns select the files to follow, as filepath.Match patterns
	// (wildcards may be in directories too), such as "*.log". Required.
	Patterns []string `json:"patterns"`
	// FromStart adapts what the files hold when the adapter starts. By
	// default it starts at their end; files created later are always read
	// from their beginning.
	FromStart bool `json:"fromStart,omitempty"`
	// PollInterval bounds the delay of a change that inotify missed. Zero
	// means one second. In JSON, a duration string such as "500ms".
	PollInterval time.Duration `json:"pollInterval,omitempty"`
}

// Multiline joins the lines of one record. Exactly one of StartPattern,
// ContinuePattern and Indented is required. Lines are joined with "\n",
// per source (file, or stream), and the record is parsed as one text.
type Multiline struct {
	// StartPattern matches the first line of a record, as an RE2 regular
	// expression (such as `^\d{4}-\d\d-\d\d ` for lines that start with a
	// date); the lines that do not match continue the record before them.
	StartPattern string `json:"startPattern,omitempty"`
	// ContinuePattern matches the lines that continue the record before
	// them; a line that does not match starts a record.
	ContinuePattern string `json:"continuePattern,omitempty"`
	// Indented continues a record with the lines that start with a space
	// or a tab, or with "Caused by: ": Java's stack traces
	// (ContinuePattern `^([ \t]|Caused by: )`). A Go panic has lines
	// that are not indented: use StartPattern for it.
	Indented bool `json:"indented,omitempty"`
	// MaxLines and MaxBytes bound a record: a line that would go past
	// either starts the next record instead. Zero means 500 lines and
	// 256 KiB.
	MaxLines int `json:"maxLines,omitempty"`
	MaxBytes int `json:"maxBytes,omitempty"`
	// FlushAfter is how long a record waits for a continuation line once
	// its last line came; then it is written. Zero means 500ms. In JSON, a
	// duration string such as "1s".
	FlushAfter time.Duration `json:"flushAfter,omitempty"`
}

// Format is a format of log lines.
type Format string

// Log formats.
const (
	// FormatAuto recognises each line's format: JSON, klog, an access log
	// (combined or common), logfmt (every word a key=value pair), or else
	// text. A line is never a parse error.
	FormatAuto Format = "auto"
	// FormatText takes the whole line as the message.
	FormatText Format = "text"
	// FormatJSON reads a JSON object per line, as zap, logrus, slog, bunyan,
	// pino and most structured loggers write. Nested values are kept.
	FormatJSON Format = "json"
	// FormatLogfmt reads key=value pairs, values quoted where needed, as go-kit
	// log, logrus' text formatter and Heroku do: `level=info msg="hello
	// world" n=3`. A word without "=" is a key with the value true. Values
	// stay strings (see Adapter.Types). A line without a pair is a parse error.
	FormatLogfmt Format = "logfmt"
	// FormatRegex reads the named groups of Adapter.Regex.
	FormatRegex Format = "regex"
	// FormatCRI reads the CRI log format that the kubelet stores and package
	// pod writes (pod.LogEntry): "<RFC 3339 time> <stream> <F|P> <text>".
	// Partial (P) lines are joined; the text is read in Adapter.Inner.
	FormatCRI Format = "cri"
	// FormatKlog reads the klog and glog header, `I1125 17:02:03.123456
	// 12345 file.go:42] msg`, into level, time, thread and caller; a
	// structured klog message (`"msg" key="value"`) gives fields too.
	FormatKlog Format = "klog"
	// FormatCLF reads the Common Log Format of web servers (Apache's common,
	// nginx's main without its last fields): remote_addr, ident, user,
	// time, method, path, protocol (or request), status, bytes, and, when
	// present, referer and user_agent. The message is the request line.
	FormatCLF Format = "clf"
	// FormatCombined reads the Combined Log Format (nginx's and Apache's
	// combined): FormatCLF with the referer and user agent required. Fields
	// after them are kept in "extra".
	FormatCombined Format = "combined"
)

// FieldType is a JSON type that Adapter.Types casts a field to.
type FieldType string

// Field types.
const (
	// String casts to a string: numbers and booleans as written, objects
	// and arrays as compact JSON.
	String FieldType = "string"
	// Int casts to an integer, from a number or a string that is one.
	Int FieldType = "int"
	// Float casts to a finite number.
	Float FieldType = "float"
	// Bool casts to a boolean, from true, false, 1, 0, t, f and their
	// upper-case forms.
	Bool FieldType = "bool"
)

const (
	logsDefaultMaxLine    = 64 << 10
	logsDefaultMLLines    = 500
	logsDefaultMLBytes    = 256 << 10
	logsDefaultFlushAfter = 500 * time.Millisecond
	// logsDrainTimeout bounds how long a stopping adapter keeps following
	// a container that is still running, so that the lines its container
	// wrote just before the stop are not lost.
	logsDrainTimeout = 500 * time.Millisecond
)

// Container returns an in-process sidecar named name that runs l. It checks
// l, and names the first bad field. Unless l reads FromContainer or a Reader,
// or writes to an Output or a ZapCore, the container can be exported to
// Kubernetes, as a "podkit adapter logs --config JSON" container.
//
// Declare it as a sidecar (sidecar.With, or pod.WithInitContainers) before
// the application: it then starts first, and is stopped after the
// application, so that it adapts the application's last lines too.
func (l Adapter) Container(name string) (pod.Container, error) {
	if name == "" {
		return pod.Container{}, errors.New("logs: name: required")
	}
	if name == l.FromContainer {
		// It would adapt its own records, forever.
		return pod.Container{}, fmt.Errorf("logs: fromContainer: %q is the adapter itself", name)
	}
	if err := l.validate(); err != nil {
		return pod.Container{}, err
	}
	l = l.clone()
	c := pod.Container{Name: name, RestartPolicy: pod.RestartAlways, Func: l.Run}
	if l.exportable() {
		args, err := memberconf.Args(l)
		if err != nil {
			return pod.Container{}, fmt.Errorf("logs: %w", err)
		}
		c.ExportArgs = append([]string{"adapter", "logs"}, args...)
	}
	return c, nil
}

// Parse reads an Adapter from its configuration document, JSON or YAML
// (the --config of "podkit adapter logs"): unknown fields are an error
// that names their path, and durations are strings ("1s"). It checks the
// result, and names the first bad field.
func Parse(data []byte) (Adapter, error) {
	var l Adapter
	if err := memberconf.Decode(data, &l); err != nil {
		return Adapter{}, fmt.Errorf("logs: config: %w", err)
	}
	if err := l.validate(); err != nil {
		return Adapter{}, err
	}
	return l, nil
}

// exportable reports whether the process form can do what l does.
func (l Adapter) exportable() bool {
	return l.FromContainer == "" && l.Reader == nil && l.Output == nil && l.ZapCore == nil
}

// clone copies what l shares with its caller, so that a container keeps
// the configuration it was made with.
func (l Adapter) clone() Adapter {
	if l.Files != nil {
		f := *l.Files
		f.Patterns = slices.Clone(f.Patterns)
		l.Files = &f
	}
	if l.Multiline != nil {
		m := *l.Multiline
		l.Multiline = &m
	}
	l.TimeLayouts = slices.Clone(l.TimeLayouts)
	l.Drop = slices.Clone(l.Drop)
	if l.Rename != nil {
		r := make(map[string]string, len(l.Rename))
		for k, v := range l.Rename {
			r[k] = v
		}
		l.Rename = r
	}
	if l.Types != nil {
		t := make(map[string]FieldType, len(l.Types))
		for k, v := range l.Types {
			t[k] = v
		}
		l.Types = t
	}
	return l
}

// validate checks everything; compile, which it calls, checks what the
// parser needs.
func (l Adapter) validate() error {
	inputs := 0
	for _, set := range []bool{l.FromContainer != "", l.Files != nil, l.Stdin, l.Reader != nil} {
		if set {
			inputs++
		}
	}
	if inputs != 1 {
		return errors.New("logs: input: exactly one of fromContainer, files, stdin and reader is required")
	}
	if f := l.Files; f != nil {
		if len(f.Patterns) == 0 {
			return errors.New("logs: files.patterns: at least one is required")
		}
		for i, p := range f.Patterns {
			if _, err := filepath.Match(p, ""); err != nil || p == "" {
				return fmt.Errorf("logs: files.patterns[%d]: invalid pattern %q", i, p)
			}
			if f.Volume != "" && filepath.IsAbs(p) {
				return fmt.Errorf("logs: files.patterns[%d]: %q must be relative to volume %q", i, p, f.Volume)
			}
		}
		if f.PollInterval < 0 {
			return fmt.Errorf("logs: files.pollInterval: %s is negative", f.PollInterval)
		}
	}
	outputs := 0
	for _, set := range []bool{l.Output != nil, l.OutputFile != "", l.ZapCore != nil} {
		if set {
			outputs++
		}
	}
	if outputs > 1 {
		return errors.New("logs: output: at most one of output, outputFile and zapCore")
	}
	if l.OutputVolume != "" {
		if l.OutputFile == "" {
			return errors.New("logs: outputVolume: needs outputFile")
		}
		if filepath.IsAbs(l.OutputFile) {
			return fmt.Errorf("logs: outputFile: %q must be relative to volume %q", l.OutputFile, l.OutputVolume)
		}
	}
	_, err := l.compile()
	return err
}

// logConfig is an Adapter compiled for parsing.
type logConfig struct {
	format  Format // never empty
	inner   Format // with FormatCRI
	re      *regexp.Regexp
	maxLine int
	ml      *logMultiline
	flush   time.Duration // how long pending lines wait

	timeFields    []string
	timeExplicit  bool
	layouts       []logLayout
	loc           *time.Location
	levelFields   []string
	msgFields     []string
	rename        map[string]string
	types         map[string]FieldType
	drop          map[string]bool
	enrich        bool
	fromContainer string

	// What drop says of the fields that every record may have.
	dropTime, dropLevel, dropStream, dropFile bool
}

type logMultiline struct {
	start, cont        *regexp.Regexp
	maxLines, maxBytes int
}

var (
	logsDefaultTimeFields  = []string{"time", "ts", "timestamp", "@timestamp", "datetime"}
	logsDefaultLevelFields = []string{"level", "lvl", "severity", "loglevel", "levelname"}
	logsDefaultMsgFields   = []string{"msg", "message", "log"}
	logsIndented           = regexp.MustCompile(`^([ \t]|Caused by: )`)
)

func (l Adapter) compile() (*logConfig, error) {
	c := &logConfig{format: l.Format, inner: l.Inner, maxLine: l.MaxLineBytes, flush: logsDefaultFlushAfter,
		loc: time.UTC, enrich: l.Enrich, fromContainer: l.FromContainer}
	if c.format == "" {
		c.format = FormatAuto
	}
	if !logKnownFormat(c.format) {
		return nil, fmt.Errorf("logs: format: unknown format %q", l.Format)
	}
	switch {
	case c.format == FormatCRI && c.inner == "":
		c.inner = FormatText
	case c.format == FormatCRI && (c.inner == FormatCRI || !logKnownFormat(c.inner)):
		return nil, fmt.Errorf("logs: inner: %q is not a format of the text of a CRI line", l.Inner)
	case c.format != FormatCRI && c.inner != "":
		return nil, fmt.Errorf("logs: inner: only with format cri, not %s", c.format)
	}
	if c.format == FormatRegex || c.inner == FormatRegex {
		if l.Regex == "" {
			return nil, errors.New("logs: regex: required with format regex")
		}
		re, err := regexp.Compile(l.Regex)
		if err != nil {
			return nil, fmt.Errorf("logs: regex: %w", err)
		}
		if !slices.ContainsFunc(re.SubexpNames(), func(n string) bool { return n != "" }) {
			return nil, fmt.Errorf("logs: regex: %q has no named group (?P<name>...)", l.Regex)
		}
		c.re = re
	} else if l.Regex != "" {
		return nil, fmt.Errorf("logs: regex: only with format regex, not %s", c.format)
	}
	switch {
	case c.maxLine < 0:
		return nil, fmt.Errorf("logs: maxLineBytes: %d is negative", c.maxLine)
	case c.maxLine == 0:
		c.maxLine = logsDefaultMaxLine
	}
	if m := l.Multiline; m != nil {
		ml, err := m.compile()
		if err != nil {
			return nil, err
		}
		c.ml = ml
		if m.FlushAfter != 0 {
			c.flush = m.FlushAfter
		}
	}

	c.timeFields, c.timeExplicit = logsDefaultTimeFields, l.TimeField != ""
	if c.timeExplicit {
		c.timeFields = []string{l.TimeField}
	}
	for i, s := range l.TimeLayouts {
		lay, err := logParseLayout(s)
		if err != nil {
			return nil, fmt.Errorf("logs: timeLayouts[%d]: %w", i, err)
		}
		c.layouts = append(c.layouts, lay)
	}
	if l.TimeZone != "" {
		loc, err := time.LoadLocation(l.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("logs: timeZone: %w", err)
		}
		c.loc = loc
	}
	c.levelFields = logsDefaultLevelFields
	if l.LevelField != "" {
		c.levelFields = []string{l.LevelField}
	}
	c.msgFields = logsDefaultMsgFields
	if l.MessageField != "" {
		c.msgFields = []string{l.MessageField}
	}
	for _, k := range logSortedKeys(l.Rename) {
		v := l.Rename[k]
		switch {
		case k == "":
			return nil, errors.New("logs: rename: empty field name")
		case v == "":
			return nil, fmt.Errorf("logs: rename[%q]: empty new name", k)
		case logIsReserved(v):
			return nil, fmt.Errorf("logs: rename[%q]: %q is a field of the adapter's", k, v)
		}
	}
	c.rename = l.Rename
	for _, k := range logSortedKeys(l.Types) {
		switch t := l.Types[k]; {
		case k == "":
			return nil, errors.New("logs: types: empty field name")
		case logIsReserved(k):
			return nil, fmt.Errorf("logs: types[%q]: a field of the adapter's is not cast", k)
		case t != String && t != Int && t != Float && t != Bool:
			return nil, fmt.Errorf("logs: types[%q]: unknown type %q: want string, int, float or bool", k, t)
		}
	}
	c.types = l.Types
	c.drop = make(map[string]bool, len(l.Drop))
	for i, d := range l.Drop {
		if d == "" || d == "msg" || d == "parse_error" || d == "truncated" || d == "warnings" {
			return nil, fmt.Errorf("logs: drop[%d]: %q cannot be dropped", i, d)
		}
		c.drop[d] = true
	}
	c.dropTime, c.dropLevel, c.dropStream, c.dropFile = c.drop["time"], c.drop["level"], c.drop["stream"], c.drop["file"]
	return c, nil
}

func (m *Multiline) compile() (*logMultiline, error) {
	ml := &logMultiline{maxLines: m.MaxLines, maxBytes: m.MaxBytes}
	set := 0
	if m.StartPattern != "" {
		set++
		re, err := regexp.Compile(m.StartPattern)
		if err != nil {
			return nil, fmt.Errorf("logs: multiline.startPattern: %w", err)
		}
		ml.start = re
	}
	if m.ContinuePattern != "" {
		set++
		re, err := regexp.Compile(m.ContinuePattern)
		if err != nil {
			return nil, fmt.Errorf("logs: multiline.continuePattern: %w", err)
		}
		ml.cont = re
	}
	if m.Indented {
		set++
		ml.cont = logsIndented
	}
	if set != 1 {
		return nil, errors.New("logs: multiline: exactly one of startPattern, continuePattern and indented is required")
	}
	switch {
	case m.MaxLines < 0:
		return nil, fmt.Errorf("logs: multiline.maxLines: %d is negative", m.MaxLines)
	case m.MaxBytes < 0:
		return nil, fmt.Errorf("logs: multiline.maxBytes: %d is negative", m.MaxBytes)
	case m.FlushAfter < 0:
		return nil, fmt.Errorf("logs: multiline.flushAfter: %s is negative", m.FlushAfter)
	}
	if ml.maxLines == 0 {
		ml.maxLines = logsDefaultMLLines
	}
	if ml.maxBytes == 0 {
		ml.maxBytes = logsDefaultMLBytes
	}
	return ml, nil
}

// logIsReserved reports whether key is the name of one of the adapter's
// own fields, which a line's field cannot take: a field of the line with
// one of these names (other than the time, level and message fields) is
// kept as "app_<name>". "error" is not among them: it is the adapter's
// only in a parse error's record, which has no field of the line.
func logIsReserved(key string) bool {
	switch key {
	case "time", "level", "msg", "parse_error", "truncated", "warnings":
		return true
	}
	return false
}

func logKnownFormat(f Format) bool {
	switch f {
	case FormatAuto, FormatText, FormatJSON, FormatLogfmt, FormatRegex, FormatCRI, FormatKlog, FormatCLF, FormatCombined:
		return true
	}
	return false
}

func logSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Run adapts the input until ctx is done: then it reads what is left (the
// lines a followed container wrote before the stop, the files' last lines),
// writes the records still held (partial lines, multiline records) and
// returns nil. An input that ends (a Reader, Stdin, a container that will
// not run again) ends Run too, but in-process (see pod.FromContext) Run
// then waits for ctx, so that the pod does not restart it. Run returns an
// error if l is invalid, its input or output cannot be opened, or the
// output fails. With FromContainer, or a Volume, ctx must be an in-process
// container's. Run blocks, and leaves no goroutine, file or metric behind
// when it returns (but see Reader). While it runs, with a writer or file
// output, it makes the records of a large batch of lines on up to
// GOMAXPROCS goroutines and writes them from another, in input order.
func (l Adapter) Run(ctx context.Context) error {
	if err := l.validate(); err != nil {
		return err
	}
	cfg, _ := l.compile()
	self, inPod := pod.FromContext(ctx)
	name := "logs"
	if inPod {
		name = self.Container
	}
	p := newLogParser(cfg)
	p.setEnrich(ctx)
	if l.Registerer != nil {
		m := newLogMetrics(name)
		reg := promreg.New(l.Registerer)
		defer reg.Unregister()
		if err := m.register(reg); err != nil {
			return fmt.Errorf("logs: metrics: %w", err)
		}
		p.metrics = m
	}
	sink, err := l.openSink(ctx)
	if err != nil {
		return err
	}
	err = logRun(ctx, l, p, sink)
	if cerr := sink.close(); cerr != nil && err == nil {
		err = fmt.Errorf("logs: output: %w", cerr)
	}
	return err
}

// logTrimReason bounds an error text put into a record.
func logTrimReason(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "..."
}
