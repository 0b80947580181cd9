package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/podkit/podkit/adapter/internal/jsonenc"
)

// normalize makes into r the record of a parsed line: time, level and
// message taken out of the fields, then Rename, Types and Drop. With sc,
// r's fields are sc's memory (see makeRecord).
func (p *Parser) normalize(parsed *logParsed, meta *logMeta, sc *logScratch, r *Record) {
	cfg := p.cfg
	*r = Record{Time: meta.time, Truncated: meta.truncated}
	fields := parsed.fields
	// The fields taken out, by index: time, level and message.
	taken := [3]int{-1, -1, -1}
	if parsed.fixed {
		if !parsed.time.IsZero() {
			r.Time = parsed.time
		}
		if parsed.level != "" {
			r.Level = logNormalizeLevel(parsed.level)
		}
		r.Msg = parsed.msg
	} else {
		for _, name := range cfg.timeFields {
			i := logFieldIndex(fields, name, taken[:])
			if i < 0 {
				continue
			}
			t, err := p.parseTime(fields[i].Value, meta.time)
			if err == nil {
				r.Time, taken[0] = t, i
				break
			}
			if cfg.timeExplicit {
				r.Warnings = append(r.Warnings, logTrimReason("time: "+name+": "+err.Error()))
				p.metrics.sanitized("field_error")
			}
		}
		for _, name := range cfg.levelFields {
			if i := logFieldIndex(fields, name, taken[:]); i >= 0 {
				if lvl := logLevelOf(fields[i].Value); lvl != "" {
					r.Level, taken[1] = lvl, i
					break
				}
			}
		}
		for _, name := range cfg.msgFields {
			if i := logFieldIndex(fields, name, taken[:]); i >= 0 {
				r.Msg, taken[2] = logMessage(fields[i].Value), i
				break
			}
		}
	}

	b := logFieldList{fields: sc.take(len(fields) + len(p.enrich) + 2)}
	for i, f := range fields {
		if i == taken[0] || i == taken[1] || i == taken[2] {
			continue
		}
		key := f.Key
		if nk, ok := cfg.rename[key]; ok {
			key = nk
		}
		if logIsReserved(key) || p.isMeta(key, *meta) {
			key = "app_" + key
		}
		v := f.Value
		if t, ok := cfg.types[key]; ok {
			if cv, err := logCast(v, t); err == nil {
				v = cv
			} else {
				r.Warnings = append(r.Warnings, logTrimReason("types: "+key+": "+err.Error()))
				p.metrics.sanitized("field_error")
			}
		}
		if !cfg.drop[key] {
			b.set(key, v)
		}
	}
	r.Fields = p.appendMeta(b.fields, *meta)
	sc.keep(r.Fields)
	if cfg.dropTime {
		r.Time = time.Time{}
	}
	if cfg.dropLevel {
		r.Level = ""
	}
}

// logFieldIndex returns the index of the field named key, but for the
// indexes in taken; -1 if there is none.
func logFieldIndex(fields []Field, key string, taken []int) int {
	for i := range fields {
		if fields[i].Key == key && !slices.Contains(taken, i) {
			return i
		}
	}
	return -1
}

// logMessage is the text of a message field's value.
func logMessage(v any) string {
	switch v := v.(type) {
	case string:
		// Docker's json-file "log" keeps the newline.
		return strings.TrimSuffix(strings.TrimSuffix(v, "\n"), "\r")
	case nil:
		return ""
	}
	return logText(v)
}

// logText is a value as text: a scalar as written, an object or array as
// compact JSON.
func logText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Time:
		return v.UTC().Format(jsonenc.TimeLayout)
	case nil:
		return "null"
	}
	return string(jsonenc.AppendValue(nil, v))
}

// logsLevels maps the level names and numbers in use to the six levels.
var logsLevels = func() map[string]string {
	m := map[string]string{}
	for level, names := range map[string][]string{
		"trace": {"trace", "trc", "t", "finest", "finer", "10"},
		"debug": {"debug", "dbg", "d", "fine", "config", "verbose", "7", "20"},
		"info":  {"info", "inf", "i", "information", "informational", "notice", "5", "6", "30"},
		"warn":  {"warn", "warning", "wrn", "w", "4", "40"},
		"error": {"error", "err", "eror", "e", "severe", "dpanic", "3", "50"},
		"fatal": {"fatal", "ftl", "f", "crit", "critical", "alert", "emerg", "emergency", "panic", "0", "1", "2", "60"},
	} {
		for _, n := range names {
			m[n] = level
		}
	}
	return m
}()

// logNormalizeLevel returns one of the six levels for a known name (any
// case), another name in lower case, or "" for none.
func logNormalizeLevel(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if l, ok := logsLevels[s]; ok {
		return l
	}
	return s
}

// logLevelOf is the normalised level of a field's value; "" if it cannot
// be one (an object, an empty string).
func logLevelOf(v any) string {
	switch v := v.(type) {
	case string:
		return logNormalizeLevel(v)
	case json.Number, int64:
		return logNormalizeLevel(logText(v))
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e6 {
			return logNormalizeLevel(strconv.FormatInt(int64(v), 10))
		}
	}
	return ""
}

// logLayout is one of Adapter.TimeLayouts: a Go layout, or a unit of a
// number (ns per unit) when unit is set.
type logLayout struct {
	layout string
	unit   int64
	noYear bool
}

var logsNamedLayouts = map[string]string{
	"rfc3339": time.RFC3339, "rfc3339nano": time.RFC3339Nano, "rfc1123": time.RFC1123, "rfc1123z": time.RFC1123Z,
	"rfc822": time.RFC822, "rfc822z": time.RFC822Z, "ansic": time.ANSIC, "unixdate": time.UnixDate,
	"rubydate": time.RubyDate, "stamp": time.Stamp, "stampmilli": time.StampMilli, "stampmicro": time.StampMicro,
	"stampnano": time.StampNano, "datetime": time.DateTime, "clf": logsCLFTime,
}

var logsUnits = map[string]int64{"unix": 1e9, "unix_ms": 1e6, "unix_us": 1e3, "unix_ns": 1}

// logsDefaultLayouts are tried on a string time when Adapter.TimeLayouts is
// empty. A fraction of a second is accepted after the seconds by every
// one, with a '.' or a ','.
var logsDefaultLayouts = func() []logLayout {
	var ls []logLayout
	for _, s := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00",
		"2006-01-02 15:04:05 -0700 MST", "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05",
		time.RFC1123Z, time.RFC1123, logsCLFTime, time.Stamp} {
		l, _ := logParseLayout(s)
		ls = append(ls, l)
	}
	return ls
}()

// logsCheckTime checks layouts: it differs from Go's reference time in
// every part, so that a layout formats it differently from itself.
var logsCheckTime = time.Date(2019, 11, 10, 23, 47, 58, 123456789, time.FixedZone("CET", 3600))

// logParseLayout checks a time layout: a name, or a Go layout that formats
// a time, and parses it back.
func logParseLayout(s string) (logLayout, error) {
	if u, ok := logsUnits[strings.ToLower(s)]; ok {
		return logLayout{unit: u}, nil
	}
	layout := s
	if named, ok := logsNamedLayouts[strings.ToLower(s)]; ok {
		layout = named
	}
	formatted := logsCheckTime.Format(layout)
	if formatted == layout {
		return logLayout{}, fmt.Errorf("%q: not a time layout (Go's, such as \"2006-01-02 15:04:05\", or a name such as rfc3339 or unix_ms)", s)
	}
	if _, err := time.Parse(layout, formatted); err != nil {
		return logLayout{}, fmt.Errorf("%q: %w", s, err)
	}
	noYear := !strings.Contains(layout, "2006") && !strings.Contains(layout, "06")
	return logLayout{layout: layout, noYear: noYear}, nil
}

// parseTime reads a time field's value with the layouts of Adapter, or the
// default ones; ref completes a time without a year.
func (p *Parser) parseTime(v any, ref time.Time) (time.Time, error) {
	var s string
	numeric := false
	switch v := v.(type) {
	case time.Time:
		return v, nil
	case string:
		s = strings.TrimSpace(v)
		numeric = logIsDecimal(s)
	case json.Number:
		s, numeric = string(v), true
	case int64:
		s, numeric = strconv.FormatInt(v, 10), true
	case float64:
		s, numeric = strconv.FormatFloat(v, 'f', -1, 64), true
	default:
		return time.Time{}, errors.New("not a time")
	}
	if s == "" {
		return time.Time{}, errors.New("empty")
	}
	layouts := p.cfg.layouts
	if len(layouts) == 0 {
		if numeric {
			return logParseUnix(s, 0)
		}
		layouts = logsDefaultLayouts
	}
	var firstErr error
	for _, l := range layouts {
		var t time.Time
		var err error
		switch {
		case l.unit != 0 && numeric:
			t, err = logParseUnix(s, l.unit)
		case l.unit != 0:
			err = fmt.Errorf("%q is not a number", s)
		default:
			t, err = time.ParseInLocation(l.layout, s, p.cfg.loc)
			if err == nil && l.noYear {
				t, err = logDate(ref, p.cfg.loc, int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond())
			}
		}
		if err == nil && (t.Year() < 1 || t.Year() > 9999) {
			err = fmt.Errorf("year %d: out of range", t.Year())
		}
		if err == nil {
			return t, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if len(p.cfg.layouts) == 0 {
		return time.Time{}, fmt.Errorf("%q: no known layout", s)
	}
	return time.Time{}, firstErr
}

// logIsDecimal reports whether s is a decimal number: digits, with a sign
// and a fraction or an exponent.
func logIsDecimal(s string) bool {
	if s == "" {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' || r == 'e' || r == 'E')
	}) < 0
}

// logParseUnix reads a number of units (ns per unit) since the epoch,
// exactly when it is written as digits with a fraction (zap's ts seconds
// keep their nanoseconds). unit 0 guesses it from the magnitude: seconds
// up to 1e11 (the year 5138), then milli-, micro- and nanoseconds.
func logParseUnix(s string, unit int64) (time.Time, error) {
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	digits := strings.TrimLeft(intPart, "+-")
	if strings.ContainsAny(s, "eE") || !logAllDigits(digits) || !logAllDigits(frac) || len(digits) > 19 {
		// An exponent, or too long for an int64: float precision will do.
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return time.Time{}, fmt.Errorf("%q is not a number", s)
		}
		if unit == 0 {
			unit = logGuessUnit(math.Abs(f))
		}
		ns := f * float64(unit)
		if math.Abs(ns) > math.MaxInt64 {
			return time.Time{}, fmt.Errorf("%s: out of range", s)
		}
		return time.Unix(0, int64(ns)).UTC(), nil
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: out of range", s)
	}
	if unit == 0 {
		unit = logGuessUnit(float64(n))
	}
	if n > math.MaxInt64/unit {
		return time.Time{}, fmt.Errorf("%s: out of range", s)
	}
	ns := n * unit
	if len(frac) > 0 {
		// The fraction's first 18 digits are plenty: at most a unit of 1e9.
		frac = frac[:min(len(frac), 18)]
		f, _ := strconv.ParseInt(frac, 10, 64)
		scale := int64(1)
		for range len(frac) {
			scale *= 10
		}
		// unit/scale*f loses nothing while scale <= unit; past it, the
		// digits below a nanosecond are dropped.
		if scale <= unit {
			ns += f * (unit / scale)
		} else {
			ns += f / (scale / unit)
		}
	}
	if neg {
		ns = -ns
	}
	return time.Unix(0, ns).UTC(), nil
}

func logAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func logGuessUnit(v float64) int64 {
	switch {
	case v < 1e11:
		return 1e9
	case v < 1e14:
		return 1e6
	case v < 1e17:
		return 1e3
	}
	return 1
}

// logCast casts a field's value to t.
func logCast(v any, t FieldType) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case String:
		return logText(v), nil
	case Bool:
		switch v := v.(type) {
		case bool:
			return v, nil
		case string, json.Number, int64:
			b, err := strconv.ParseBool(strings.TrimSpace(logText(v)))
			if err != nil {
				return nil, fmt.Errorf("%s is not a bool", logQuoteShort(logText(v)))
			}
			return b, nil
		}
	case Int:
		switch v := v.(type) {
		case int64:
			return v, nil
		case string, json.Number, float64:
			s := strings.TrimSpace(logText(v))
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<63 {
				return int64(f), nil
			}
			return nil, fmt.Errorf("%s is not an int", logQuoteShort(s))
		}
	case Float:
		switch v := v.(type) {
		case float64:
			return v, nil
		case string, json.Number, int64:
			s := strings.TrimSpace(logText(v))
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%s is not a finite float", logQuoteShort(s))
			}
			return f, nil
		}
	}
	return nil, fmt.Errorf("%s cannot be cast to %s", logQuoteShort(logText(v)), t)
}

// logQuoteShort quotes s for an error, cut to a readable length.
func logQuoteShort(s string) string {
	if len(s) > 64 {
		s = s[:logCut(s, 64)] + "..."
	}
	return strconv.Quote(s)
}
