package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/podkit/podkit/adapter/internal/jsonenc"
	"github.com/podkit/podkit/pod"
)

// logParsed is a line read in its format, before normalisation.
type logParsed struct {
	fields []Field
	// fixed is set by the formats that know which of their parts are the
	// time, the level and the message (text, klog, clf): then time, level
	// and msg hold them, and the field names of Adapter do not apply.
	fixed bool
	time  time.Time
	level string
	msg   string
}

// parse reads text in format into out; ref is when the line was written
// or read, which completes the times that lack a year. The fields of json,
// logfmt and regex are appended to dst. out is the caller's, so that a
// logParsed is not copied on the way back.
func (p *Parser) parse(out *logParsed, dst []Field, format Format, text string, ref time.Time) error {
	var err error
	switch format {
	case FormatText:
		*out = logParsed{fixed: true, msg: text}
	case FormatJSON:
		*out = logParsed{}
		out.fields, err = logParseJSON(dst, text)
	case FormatLogfmt:
		*out = logParsed{}
		out.fields, err = logParseLogfmt(dst, text, false)
	case FormatRegex:
		*out = logParsed{}
		out.fields, err = logParseRegex(dst, p.cfg.re, text)
	case FormatKlog:
		*out, err = logParseKlog(text, ref, p.cfg.loc)
	case FormatCLF, FormatCombined:
		*out, err = logParseCLF(text, format == FormatCombined)
	default:
		*out = p.parseAuto(dst, text, ref)
	}
	return err
}

// parseAuto tries the formats that can be recognised, most specific first.
func (p *Parser) parseAuto(dst []Field, text string, ref time.Time) logParsed {
	trimmed := strings.TrimLeft(text, " \t")
	if strings.HasPrefix(trimmed, "{") {
		if fields, err := logParseJSON(dst, text); err == nil {
			return logParsed{fields: fields}
		}
	}
	if len(text) > 1 && strings.IndexByte("IWEF", text[0]) >= 0 && text[1] >= '0' && text[1] <= '9' {
		if parsed, err := logParseKlog(text, ref, p.cfg.loc); err == nil {
			return parsed
		}
	}
	if strings.Contains(text, " [") && strings.Contains(text, `] "`) {
		if parsed, err := logParseCLF(text, false); err == nil {
			return parsed
		}
	}
	if fields, err := logParseLogfmt(dst, text, true); err == nil {
		return logParsed{fields: fields}
	}
	return logParsed{fixed: true, msg: text}
}

// logFieldList builds a field list in which a key appears once: a later
// value replaces an earlier one, in its place (as encoding/json keeps the
// last of duplicate keys).
type logFieldList struct {
	fields []Field
	index  map[string]int // built past a few fields
}

func (b *logFieldList) set(key string, v any) {
	if b.index == nil {
		for i := range b.fields {
			if b.fields[i].Key == key {
				b.fields[i].Value = v
				return
			}
		}
		b.fields = append(b.fields, Field{key, v})
		if len(b.fields) > 16 {
			b.index = make(map[string]int, 2*len(b.fields))
			for i, f := range b.fields {
				b.index[f.Key] = i
			}
		}
		return
	}
	if i, ok := b.index[key]; ok {
		b.fields[i].Value = v
		return
	}
	b.index[key] = len(b.fields)
	b.fields = append(b.fields, Field{key, v})
}

// logParseJSON reads a JSON object, keeping the order of its keys, and
// appends its fields to dst. Numbers stay json.Numbers, so that large
// integers are not rounded.
//
// One pass checks the line as it splits it into fields (jsonenc.ScanObject, which
// accepts what encoding/json accepts); objects and arrays in it, and
// strings with escapes, are decoded by encoding/json. An invalid line goes
// through encoding/json's decoder, for the reason.
func logParseJSON(dst []Field, text string) ([]Field, error) {
	b := logFieldList{fields: dst}
	if !jsonenc.ScanObject(text, b.set) {
		return logParseJSONSlow(text)
	}
	return b.fields, nil
}

// logParseJSONSlow is logParseJSON with encoding/json's decoder.
func logParseJSONSlow(text string) ([]Field, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, logJSONError(err)
	}
	if tok != json.Delim('{') {
		return nil, errors.New("json: not an object")
	}
	var b logFieldList
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, logJSONError(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("json: object key is not a string")
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, logJSONError(err)
		}
		b.set(key, v)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, logJSONError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("json: data after the object")
	}
	if b.fields == nil {
		b.fields = []Field{}
	}
	return b.fields, nil
}

func logJSONError(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("json: unexpected end of line")
	}
	return fmt.Errorf("json: %w", err)
}

// logParseLogfmt reads key=value pairs, appended to dst. strict rejects
// words without "=", which is how FormatAuto tells logfmt from prose.
func logParseLogfmt(dst []Field, text string, strict bool) ([]Field, error) {
	b := logFieldList{fields: dst}
	pairs := 0
	i := 0
	for {
		for i < len(text) && text[i] <= ' ' {
			i++
		}
		if i == len(text) {
			break
		}
		start := i
		for i < len(text) && text[i] > ' ' && text[i] != '=' && text[i] != '"' {
			i++
		}
		key := text[start:i]
		if key == "" {
			return nil, fmt.Errorf("logfmt: unexpected %q at byte %d", text[i], i)
		}
		if i == len(text) || text[i] != '=' {
			if i < len(text) && text[i] == '"' {
				return nil, fmt.Errorf("logfmt: unexpected '\"' at byte %d", i)
			}
			if strict {
				return nil, fmt.Errorf("logfmt: %q is not a key=value pair", key)
			}
			b.set(key, true)
			continue
		}
		i++ // '='
		var value string
		if i < len(text) && text[i] == '"' {
			n, v, err := logUnquote(text[i:])
			if err != nil {
				return nil, fmt.Errorf("logfmt: value of %q at byte %d: %w", key, i, err)
			}
			i += n
			if i < len(text) && text[i] > ' ' {
				return nil, fmt.Errorf("logfmt: no space after the value of %q at byte %d", key, i)
			}
			value = v
		} else {
			start := i
			for i < len(text) && text[i] > ' ' {
				i++
			}
			value = text[start:i]
		}
		b.set(key, value)
		pairs++
	}
	if pairs == 0 {
		return nil, errors.New("logfmt: no key=value pair")
	}
	return b.fields, nil
}

// logUnquote reads the quoted string at the start of s: it returns its
// length in s and its value. Go's escapes are understood; a string that
// strconv does not accept (a raw newline, an unknown escape) keeps its
// bytes, with \" and \\ unescaped.
func logUnquote(s string) (int, string, error) {
	i := 1
	for i < len(s) && s[i] != '"' {
		if s[i] == '\\' {
			i++
		}
		i++
	}
	if i >= len(s) {
		return 0, "", errors.New("unterminated quoted string")
	}
	q := s[:i+1]
	if v, err := strconv.Unquote(q); err == nil {
		return len(q), v, nil
	}
	var b strings.Builder
	for j := 1; j < len(q)-1; j++ {
		if q[j] == '\\' && (q[j+1] == '"' || q[j+1] == '\\') {
			j++
		}
		b.WriteByte(q[j])
	}
	return len(q), b.String(), nil
}

// logParseRegex reads the named groups of re that took part in the match,
// appended to dst.
func logParseRegex(dst []Field, re *regexp.Regexp, text string) ([]Field, error) {
	m := re.FindStringSubmatchIndex(text)
	if m == nil {
		return nil, errors.New("regex: no match")
	}
	b := logFieldList{fields: dst}
	for i, name := range re.SubexpNames() {
		if name != "" && m[2*i] >= 0 {
			b.set(name, text[m[2*i]:m[2*i+1]])
		}
	}
	return b.fields, nil
}

// logsKlogHeader is klog's and glog's line header:
// Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg
var logsKlogHeader = regexp.MustCompile(`(?s)^([IWEF])(\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6}) +(\d+) (\S+):(\d+)\] ?(.*)$`)

var logsKlogLevels = map[byte]string{'I': "info", 'W': "warn", 'E': "error", 'F': "fatal"}

// logParseKlog reads a klog line. klog writes no year: the line's is the
// one that puts it closest before ref.
func logParseKlog(text string, ref time.Time, loc *time.Location) (logParsed, error) {
	m := logsKlogHeader.FindStringSubmatch(text)
	if m == nil {
		return logParsed{}, errors.New(`klog: want "Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg"`)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	t, err := logDate(ref, loc, n(m[2]), n(m[3]), n(m[4]), n(m[5]), n(m[6]), n(m[7])*1000)
	if err != nil {
		return logParsed{}, fmt.Errorf("klog: %w", err)
	}
	out := logParsed{fixed: true, time: t, level: logsKlogLevels[m[1][0]], msg: m[11]}
	var b logFieldList
	if thread, err := strconv.ParseInt(m[8], 10, 64); err == nil {
		b.set("thread", thread)
	} else {
		b.set("thread", json.Number(m[8]))
	}
	b.set("caller", m[9]+":"+m[10])
	// A structured message: "msg" key="value" key2=3.
	if msg := m[11]; strings.HasPrefix(msg, `"`) {
		if q, err := strconv.QuotedPrefix(msg); err == nil {
			rest := msg[len(q):]
			kv, kvErr := logParseLogfmt(nil, rest, true)
			if strings.TrimSpace(rest) == "" || kvErr == nil && (rest[0] == ' ' || rest[0] == '\t') {
				out.msg, _ = strconv.Unquote(q)
				for _, f := range kv {
					b.set(f.Key, f.Value)
				}
			}
		}
	}
	out.fields = b.fields
	return out, nil
}

// logDate builds a time of the year that puts it closest before ref (at
// most a day after it, for clocks that differ), checking each part.
func logDate(ref time.Time, loc *time.Location, month, day, hour, minute, sec, nsec int) (time.Time, error) {
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, fmt.Errorf("time: %02d-%02d %02d:%02d:%02d is not a date", month, day, hour, minute, sec)
	}
	ref = ref.In(loc)
	for _, year := range []int{ref.Year(), ref.Year() - 1, ref.Year() - 2, ref.Year() - 3} {
		t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
		if t.Day() != day {
			continue // February 29th of another year
		}
		if !t.After(ref.Add(24 * time.Hour)) {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time: %02d-%02d is not a date", month, day)
}

// logsCLF is the Common Log Format, with the Combined format's referer and
// user agent, and what servers add after them, optional. Quoted parts may
// hold \" (Apache) and \xHH (nginx, Apache).
var logsCLF = regexp.MustCompile(`(?s)^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}|-) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(.*)$`)

const logsCLFTime = "02/Jan/2006:15:04:05 -0700"

// logParseCLF reads a Common or, with combined, Combined Log Format line.
func logParseCLF(text string, combined bool) (logParsed, error) {
	m := logsCLF.FindStringSubmatchIndex(text)
	if m == nil {
		return logParsed{}, errors.New(`clf: want "host ident user [time] \"request\" status bytes"`)
	}
	g := func(i int) (string, bool) {
		if m[2*i] < 0 {
			return "", false
		}
		return text[m[2*i]:m[2*i+1]], true
	}
	_, hasUA := g(9)
	if combined && !hasUA {
		return logParsed{}, errors.New(`combined: no "referer" "user agent" after the bytes`)
	}
	ts, _ := g(4)
	t, err := time.Parse(logsCLFTime, ts)
	if err != nil {
		return logParsed{}, fmt.Errorf("clf: time %q: want %s", logTrimReason(ts), logsCLFTime)
	}
	var b logFieldList
	addr, _ := g(1)
	b.set("remote_addr", addr)
	for _, f := range []struct {
		key string
		i   int
	}{{"ident", 2}, {"user", 3}} {
		if v, _ := g(f.i); v != "-" {
			b.set(f.key, v)
		}
	}
	raw, _ := g(5)
	request := logUnescapeCLF(raw)
	if parts := strings.Split(request, " "); len(parts) == 3 && parts[0] != "" && parts[1] != "" &&
		strings.HasPrefix(parts[2], "HTTP/") {
		b.set("method", parts[0])
		b.set("path", parts[1])
		b.set("protocol", parts[2])
	} else {
		b.set("request", request)
	}
	for _, f := range []struct {
		key string
		i   int
	}{{"status", 6}, {"bytes", 7}} {
		v, _ := g(f.i)
		switch n, err := strconv.ParseInt(v, 10, 64); {
		case v == "-" && f.key == "bytes":
			b.set(f.key, int64(0))
		case v == "-":
		case err == nil:
			b.set(f.key, n)
		default:
			b.set(f.key, json.Number(v)) // digits, too many for an int64
		}
	}
	for _, f := range []struct {
		key string
		i   int
	}{{"referer", 8}, {"user_agent", 9}} {
		if v, ok := g(f.i); ok && v != "-" {
			b.set(f.key, logUnescapeCLF(v))
		}
	}
	if extra, _ := g(10); strings.TrimSpace(extra) != "" {
		b.set("extra", strings.TrimSpace(extra))
	}
	return logParsed{fields: b.fields, fixed: true, time: t, msg: request}, nil
}

// logUnescapeCLF undoes a web server's escapes in a quoted part: \" \\ and
// \xHH.
func logUnescapeCLF(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch c := s[i+1]; {
			case c == '"' || c == '\\':
				b.WriteByte(c)
				i++
				continue
			case c == 'x' && i+3 < len(s):
				if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
					b.WriteByte(byte(v))
					i += 3
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// logCRIEntry is a line in the CRI log format.
type logCRIEntry struct {
	time    time.Time
	stream  string
	partial bool
	text    string
}

// logParseCRI reads a line in the CRI log format, as pod.ParseLogEntry
// does, with short errors, and tags that carry more after a ':'.
func logParseCRI(line string) (logCRIEntry, error) {
	ts, rest, ok1 := strings.Cut(line, " ")
	stream, rest, ok2 := strings.Cut(rest, " ")
	tag, text, _ := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return logCRIEntry{}, errors.New(`cri: want "<time> <stream> <F|P> <text>"`)
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return logCRIEntry{}, fmt.Errorf("cri: time %q: not RFC 3339", logTrimReason(ts))
	}
	// The stream outlives the line (the records of its partial lines and
	// multiline records are held), whose text may be a view of a buffer
	// that is reused (logQueue.recycle): it is one of two constants.
	switch stream {
	case "stdout":
		stream = string(pod.Stdout)
	case "stderr":
		stream = string(pod.Stderr)
	default:
		return logCRIEntry{}, fmt.Errorf("cri: stream %q: want stdout or stderr", logTrimReason(stream))
	}
	tag, _, _ = strings.Cut(tag, ":")
	if tag != "F" && tag != "P" {
		return logCRIEntry{}, fmt.Errorf("cri: tag %q: want F or P", logTrimReason(tag))
	}
	return logCRIEntry{time: t, stream: stream, partial: tag == "P", text: text}, nil
}
