package logs

import (
	"time"

	"github.com/podkit/podkit/adapter/internal/jsonenc"
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
func (r *Record) appendJSON(b []byte, tc *jsonenc.TimeCache) []byte {
	b = logAppendHead(b, r.Time, r.Level, r.Msg, tc)
	for _, f := range r.Fields {
		b = append(b, ',')
		b = jsonenc.AppendString(b, f.Key)
		b = append(b, ':')
		b = jsonenc.AppendValue(b, f.Value)
	}
	if r.ParseError != "" {
		b = append(b, `,"parse_error":true,"error":`...)
		b = jsonenc.AppendString(b, r.ParseError)
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
			b = jsonenc.AppendString(b, w)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// logAppendHead appends the start of a record: '{', "time" (unless it is
// zero), "level" (unless it is empty) and "msg".
func logAppendHead(b []byte, t time.Time, level, msg string, tc *jsonenc.TimeCache) []byte {
	b = append(b, '{')
	if !t.IsZero() {
		b = append(b, `"time":"`...)
		b = tc.Append(b, t)
		b = append(b, `",`...)
	}
	if level != "" {
		b = append(b, `"level":`...)
		b = jsonenc.AppendString(b, level)
		b = append(b, ',')
	}
	b = append(b, `"msg":`...)
	return jsonenc.AppendString(b, msg)
}
