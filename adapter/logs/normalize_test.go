package logs

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogLevels(t *testing.T) {
	tests := map[string][]any{
		"trace": {"TRACE", "trace", "T", "trc", "finest", json.Number("10")},
		"debug": {"DEBUG", "debug", "D", "dbg", "fine", json.Number("7"), json.Number("20"), "20"},
		"info":  {"INFO", "Info", "I", "inf", "information", "notice", "NOTICE", json.Number("6"), json.Number("30"), "30", "5"},
		"warn":  {"WARN", "warn", "WARNING", "warning", "W", "wrn", json.Number("4"), "4", json.Number("40")},
		"error": {"ERROR", "error", "ERR", "err", "E", "SEVERE", "dpanic", json.Number("3"), json.Number("50")},
		"fatal": {"FATAL", "fatal", "F", "crit", "CRITICAL", "alert", "emerg", "panic", json.Number("0"), json.Number("2"), json.Number("60")},
		// Others are kept, in lower case.
		"audit": {"AUDIT", " Audit "},
		"99":    {json.Number("99")},
		// Not levels at all.
		"": {"", "  ", map[string]any{"a": "b"}, true, nil},
	}
	for want, values := range tests {
		for _, v := range values {
			assert.Equal(t, want, logLevelOf(v), "level of %#v", v)
		}
	}
}

func TestLogTimeLayouts(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	tests := []struct {
		name    string
		layouts []string
		zone    string
		value   any
		want    time.Time
	}{
		// Defaults.
		{"rfc3339 with nanoseconds", nil, "", "2024-11-25T17:02:03.123456789Z", time.Date(2024, 11, 25, 17, 2, 3, 123456789, time.UTC)},
		{"rfc3339 with an offset", nil, "", "2024-11-25T17:02:03+01:00", time.Date(2024, 11, 25, 16, 2, 3, 0, time.UTC)},
		{"iso8601 without a zone is in TimeZone", nil, "Europe/Paris", "2024-11-25T17:02:03.5", time.Date(2024, 11, 25, 17, 2, 3, 5e8, paris)},
		{"space instead of T", nil, "", "2024-11-25 17:02:03.25Z", time.Date(2024, 11, 25, 17, 2, 3, 25e7, time.UTC)},
		{"python's comma", nil, "", "2024-11-25 17:02:03,123", time.Date(2024, 11, 25, 17, 2, 3, 123e6, time.UTC)},
		{"go's time.String", nil, "", "2024-11-25 17:02:03.5 +0100 CET", time.Date(2024, 11, 25, 16, 2, 3, 5e8, time.UTC)},
		{"rfc1123", nil, "", "Mon, 25 Nov 2024 17:02:03 GMT", time.Date(2024, 11, 25, 17, 2, 3, 0, time.UTC)},
		{"clf", nil, "", "25/Nov/2024:17:02:03 -0700", time.Date(2024, 11, 26, 0, 2, 3, 0, time.UTC)},
		{"syslog stamp, year from the read time", nil, "", "Nov 25 17:02:03", time.Date(2024, 11, 25, 17, 2, 3, 0, time.UTC)},
		{"zap float seconds", nil, "", json.Number("1732554123.123456"), time.Date(2024, 11, 25, 17, 2, 3, 123456000, time.UTC)},
		{"seconds with nanoseconds, exactly", nil, "", json.Number("1732554123.123456789"), time.Date(2024, 11, 25, 17, 2, 3, 123456789, time.UTC)},
		{"integer seconds", nil, "", json.Number("1732554123"), time.Date(2024, 11, 25, 17, 2, 3, 0, time.UTC)},
		{"milliseconds", nil, "", json.Number("1732554123456"), time.Date(2024, 11, 25, 17, 2, 3, 456e6, time.UTC)},
		{"microseconds", nil, "", json.Number("1732554123456789"), time.Date(2024, 11, 25, 17, 2, 3, 456789e3, time.UTC)},
		{"nanoseconds", nil, "", json.Number("1732554123456789012"), time.Date(2024, 11, 25, 17, 2, 3, 456789012, time.UTC)},
		{"exponent", nil, "", json.Number("1.732554123e9"), time.Date(2024, 11, 25, 17, 2, 3, 0, time.UTC)},
		{"numeric string", nil, "", "1732554123", time.Date(2024, 11, 25, 17, 2, 3, 0, time.UTC)},
		// Configured.
		{"go layout", []string{"02.01.2006 15:04:05.000"}, "", "25.11.2024 17:02:03.250", time.Date(2024, 11, 25, 17, 2, 3, 25e7, time.UTC)},
		{"the first that parses", []string{"rfc3339", "unix_ms"}, "", json.Number("1732554123456"), time.Date(2024, 11, 25, 17, 2, 3, 456e6, time.UTC)},
		{"unix_ms with a fraction", []string{"unix_ms"}, "", "1732554123456.789", time.Date(2024, 11, 25, 17, 2, 3, 456789000, time.UTC)},
		{"unix as a small number", []string{"unix"}, "", json.Number("5"), time.Unix(5, 0)},
		{"unix_us", []string{"unix_us"}, "", json.Number("1732554123000001"), time.Date(2024, 11, 25, 17, 2, 3, 1000, time.UTC)},
		{"unix_ns", []string{"unix_ns"}, "", json.Number("1732554123000000001"), time.Date(2024, 11, 25, 17, 2, 3, 1, time.UTC)},
		{"named", []string{"RFC1123Z"}, "", "Mon, 25 Nov 2024 17:02:03 +0000", time.Date(2024, 11, 25, 17, 2, 3, 0, time.UTC)},
		{"stampmilli in a zone", []string{"stampmilli"}, "Europe/Paris", "Nov 25 17:02:03.500", time.Date(2024, 11, 25, 16, 2, 3, 5e8, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := logsNewParser(t, Adapter{TimeLayouts: tt.layouts, TimeZone: tt.zone})
			got, err := p.parseTime(tt.value, logsRef)
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %s, want %s", got, tt.want)
		})
	}

	for _, bad := range []struct {
		layouts []string
		value   any
		want    string
	}{
		{nil, "yesterday", `"yesterday": no known layout`},
		{nil, map[string]any{}, "not a time"},
		{nil, "", "empty"},
		{[]string{"unix"}, "abc", `"abc" is not a number`},
		{[]string{"unix_ns"}, json.Number("1e400"), `"1e400" is not a number`},
		{[]string{"unix"}, json.Number("99999999999999999999"), "out of range"},
		{[]string{"2006-01-02"}, "2024-13-01", `month out of range`},
	} {
		p := logsNewParser(t, Adapter{TimeLayouts: bad.layouts})
		_, err := p.parseTime(bad.value, logsRef)
		require.Error(t, err, "%v", bad.value)
		assert.Contains(t, err.Error(), bad.want)
	}
}

func TestLogTimeFieldFailure(t *testing.T) {
	// A field that was only guessed to be the time stays a field.
	assert.Equal(t, []string{`{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","app_time":"soon"}`},
		logsJSON(t, Adapter{Format: FormatJSON}, `{"time":"soon","msg":"m"}`))
	// The named one gives a warning.
	assert.Equal(t, []string{`{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","when":"soon","warnings":["time: when: \"soon\": no known layout"]}`},
		logsJSON(t, Adapter{Format: FormatJSON, TimeField: "when"}, `{"when":"soon","msg":"m"}`))
	// The first of the default names that holds a time wins.
	assert.Equal(t, []string{`{"time":"2024-11-25T17:00:00.000000000Z","msg":"m","app_time":"later"}`},
		logsJSON(t, Adapter{Format: FormatJSON}, `{"time":"later","ts":1732554000,"msg":"m"}`))
}

func TestLogNormalize(t *testing.T) {
	tests := []struct {
		name string
		l    Adapter
		line string
		want string
	}{
		{"rename", Adapter{Format: FormatJSON, Rename: map[string]string{"caller": "source", "M": "method"}},
			`{"msg":"m","caller":"a.go:1","M":"GET"}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","source":"a.go:1","method":"GET"}`},
		{"rename onto an existing field: the later wins", Adapter{Format: FormatJSON, Rename: map[string]string{"a": "b"}},
			`{"msg":"m","b":1,"a":2}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","b":2}`},
		{"drop", Adapter{Format: FormatJSON, Drop: []string{"caller", "stacktrace", "time", "level"}},
			`{"level":"info","ts":1,"msg":"m","caller":"a.go:1","stacktrace":"..."}`,
			`{"msg":"m"}`},
		{"drop after rename", Adapter{Format: FormatJSON, Rename: map[string]string{"a": "b"}, Drop: []string{"b"}},
			`{"msg":"m","a":1,"c":2}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","c":2}`},
		{"casts", Adapter{Format: FormatLogfmt, Types: map[string]FieldType{"status": Int, "latency": Float,
			"cached": Bool, "id": String, "n": Int}},
			`msg=m status=200 latency=0.25 cached=true id=007 n=3.0`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","status":200,"latency":0.25,"cached":true,"id":"007","n":3}`},
		{"casts of JSON values", Adapter{Format: FormatJSON, Types: map[string]FieldType{"a": String, "b": String,
			"c": Int, "d": Bool, "e": Float, "f": Int}},
			`{"msg":"m","a":12,"b":{"x":[1]},"c":"42","d":1,"e":"1e3","f":null}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","a":"12","b":"{\"x\":[1]}","c":42,"d":true,"e":1000,"f":null}`},
		{"failed casts keep the value, with a warning", Adapter{Format: FormatLogfmt, Types: map[string]FieldType{
			"status": Int, "ratio": Float, "ok": Bool}},
			`msg=m status=abc ratio=NaN ok=maybe`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","status":"abc","ratio":"NaN","ok":"maybe","warnings":["types: status: \"abc\" is not an int","types: ratio: \"NaN\" is not a finite float","types: ok: \"maybe\" is not a bool"]}`},
		{"cast of an object to int", Adapter{Format: FormatJSON, Types: map[string]FieldType{"o": Int}},
			`{"msg":"m","o":{"a":1}}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","o":{"a":1},"warnings":["types: o: \"{\\\"a\\\":1}\" cannot be cast to int"]}`},
		{"the line's fields do not take the adapter's names", Adapter{Format: FormatJSON, TimeField: "ts", LevelField: "severity"},
			`{"ts":1732554000,"time":"x","severity":"E","level":"custom","msg":"m","truncated":"no","parse_error":1,"warnings":[]}`,
			`{"time":"2024-11-25T17:00:00.000000000Z","level":"error","msg":"m","app_time":"x","app_level":"custom","app_truncated":"no","app_parse_error":1,"app_warnings":[]}`},
		{"a message field name", Adapter{Format: FormatJSON, MessageField: "text"},
			`{"text":"t","msg":"other"}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"t","app_msg":"other"}`},
		{"the first level field that holds a level", Adapter{Format: FormatJSON},
			`{"level":{"n":1},"severity":"W","msg":"m"}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","level":"warn","msg":"m","app_level":{"n":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, []string{tt.want}, logsJSON(t, tt.l, tt.line))
		})
	}
}

func TestLogEnrich(t *testing.T) {
	t.Setenv("POD_NAME", "web-7d9f")
	t.Setenv("NODE_NAME", "node-3")
	p := logsNewParser(t, Adapter{Format: FormatJSON, Enrich: true})
	rs := p.Parse(Line{Text: `{"msg":"m","host":"db-1","pod":"other"}`, Stream: "stderr", Time: logsRef})
	require.Len(t, rs, 1)
	assert.Equal(t, `{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","app_host":"db-1","app_pod":"other","stream":"stderr","pod":"web-7d9f","host":"node-3"}`,
		string(rs[0].AppendJSON(nil)))

	// Without Enrich, "host" and "pod" are the line's own.
	assert.Equal(t, []string{`{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","host":"db-1"}`},
		logsJSON(t, Adapter{Format: FormatJSON}, `{"msg":"m","host":"db-1"}`))
	// Drop removes the adapter's fields too.
	p = logsNewParser(t, Adapter{Format: FormatJSON, Enrich: true, Drop: []string{"host", "stream"}})
	rs = p.Parse(Line{Text: `{"msg":"m"}`, Stream: "stdout", Time: logsRef})
	assert.Equal(t, `{"time":"2024-11-25T18:00:00.000000000Z","msg":"m","pod":"web-7d9f"}`, string(rs[0].AppendJSON(nil)))
}
