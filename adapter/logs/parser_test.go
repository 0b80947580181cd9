package logs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/promreg"
)

// logsCheck checks the invariants of records: valid JSON on one line, valid
// UTF-8, and "time" and "msg" as they must be.
func logsCheck(t testing.TB, rs []Record) {
	t.Helper()
	for _, r := range rs {
		b := r.AppendJSON(nil)
		if !json.Valid(b) || !utf8.Valid(b) || strings.ContainsAny(string(b), "\n\r") {
			t.Fatalf("record is not a valid JSON line: %q", b)
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		if _, ok := m["msg"]; !ok {
			t.Fatalf("record without msg: %s", b)
		}
	}
}

// logsTestMetrics gives p metrics in a registry of its own.
func logsTestMetrics(t testing.TB, p *Parser) *logMetrics {
	t.Helper()
	m := newLogMetrics("test")
	require.NoError(t, m.register(promreg.New(prometheus.NewRegistry())))
	p.metrics = m
	return m
}

func TestLogPartialLines(t *testing.T) {
	p := logsNewParser(t, Adapter{Format: FormatJSON})
	// Pieces of two streams interleave; each stream's pieces are joined.
	assert.Empty(t, p.Parse(Line{Text: `{"msg":"out `, Partial: true, Stream: "stdout", Time: logsRef}))
	assert.Empty(t, p.Parse(Line{Text: `{"msg":"err `, Partial: true, Stream: "stderr", Time: logsRef}))
	rs := p.Parse(Line{Text: `line"}`, Stream: "stdout"})
	require.Len(t, rs, 1)
	assert.Equal(t, `{"time":"2024-11-25T18:00:00.000000000Z","msg":"out line","stream":"stdout"}`, string(rs[0].AppendJSON(nil)))
	// The stderr piece is written once its source is quiet, as it is.
	next, ok := p.NextFlush()
	require.True(t, ok)
	assert.Equal(t, logsRef.Add(logsDefaultFlushAfter), next)
	assert.Empty(t, p.FlushIdle(logsRef.Add(logsDefaultFlushAfter-1)))
	rs = p.FlushIdle(logsRef.Add(logsDefaultFlushAfter))
	require.Len(t, rs, 1)
	assert.Equal(t, `{"msg":"err `, rs[0].Msg)
	assert.NotEmpty(t, rs[0].ParseError)
	_, ok = p.NextFlush()
	assert.False(t, ok)
}

func TestLogTruncation(t *testing.T) {
	p := logsNewParser(t, Adapter{Format: FormatJSON, MaxLineBytes: 100})
	m := logsTestMetrics(t, p)

	// A whole line that is too long.
	long := `{"msg":"` + strings.Repeat("x", 200) + `"}`
	rs := p.Parse(Line{Text: long, Time: logsRef})
	require.Len(t, rs, 1)
	assert.True(t, rs[0].Truncated)
	assert.Equal(t, long[:100], rs[0].Msg)
	assert.NotEmpty(t, rs[0].ParseError, "a cut JSON line does not parse")
	assert.Equal(t, float64(len(long)-100), testutil.ToFloat64(m.droppedBytes))

	// A line of megabytes in pieces holds no more than the limit.
	piece := strings.Repeat("y", 64<<10)
	for range 32 {
		assert.Empty(t, p.Parse(Line{Text: piece, Partial: true}))
		for _, s := range p.sources {
			assert.LessOrEqual(t, cap(s.join), 4096, "the pieces past the limit are not kept")
		}
	}
	rs = p.Parse(Line{Text: "end"})
	require.Len(t, rs, 1)
	assert.True(t, rs[0].Truncated)
	assert.Len(t, rs[0].Msg, 100)
	assert.Equal(t, float64(len(long)-100+32*(64<<10)+3-100), testutil.ToFloat64(m.droppedBytes))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.sanitizedVec.WithLabelValues("truncated")))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.parseErrors.WithLabelValues("json")))

	// A cut does not split a UTF-8 sequence.
	p = logsNewParser(t, Adapter{Format: FormatText, MaxLineBytes: 4})
	rs = p.Parse(Line{Text: "abcé"})
	assert.Equal(t, "abc", rs[0].Msg)
}

func TestLogMultiline(t *testing.T) {
	java := []string{
		`2024-11-25 17:02:04,456 ERROR request failed`,
		`java.lang.IllegalStateException: boom`,
		"\tat com.example.App.main(App.java:10)",
		`Caused by: java.lang.NullPointerException`,
		"\t... 1 more",
		`2024-11-25 17:02:05,000 INFO next`,
	}
	t.Run("start pattern", func(t *testing.T) {
		out := logsJSON(t, Adapter{Format: FormatText, Multiline: &Multiline{StartPattern: `^\d{4}-`}}, java...)
		require.Len(t, out, 2)
		assert.Equal(t, strings.Join(java[:5], "\n"), logsDecode(t, out[0])["msg"])
		assert.Equal(t, java[5], logsDecode(t, out[1])["msg"])
	})
	t.Run("indented", func(t *testing.T) {
		out := logsJSON(t, Adapter{Format: FormatText, Multiline: &Multiline{Indented: true}}, java...)
		require.Len(t, out, 3)
		assert.Equal(t, java[0], logsDecode(t, out[0])["msg"])
		assert.Equal(t, strings.Join(java[1:5], "\n"), logsDecode(t, out[1])["msg"])
	})
	t.Run("continue pattern", func(t *testing.T) {
		out := logsJSON(t, Adapter{Format: FormatText, Multiline: &Multiline{ContinuePattern: `^(\s|java\.|Caused)`}}, java...)
		require.Len(t, out, 2)
	})
	t.Run("the first line starts a record even if it does not match", func(t *testing.T) {
		out := logsJSON(t, Adapter{Format: FormatText, Multiline: &Multiline{StartPattern: `^\d{4}-`}}, java[1:]...)
		require.Len(t, out, 2)
		assert.Equal(t, strings.Join(java[1:5], "\n"), logsDecode(t, out[0])["msg"])
	})
	t.Run("max lines", func(t *testing.T) {
		out := logsJSON(t, Adapter{Format: FormatText, Multiline: &Multiline{Indented: true, MaxLines: 2}}, "a", " 1", " 2", " 3", "b")
		require.Len(t, out, 3)
		assert.Equal(t, "a\n 1", logsDecode(t, out[0])["msg"])
		assert.Equal(t, " 2\n 3", logsDecode(t, out[1])["msg"])
	})
	t.Run("max bytes", func(t *testing.T) {
		out := logsJSON(t, Adapter{Format: FormatText, Multiline: &Multiline{Indented: true, MaxBytes: 10}}, "abcd", " efgh", " ijkl")
		require.Len(t, out, 2)
		assert.Equal(t, "abcd\n efgh", logsDecode(t, out[0])["msg"])
	})
	t.Run("json records with a stack trace after them", func(t *testing.T) {
		out := logsJSON(t, Adapter{Format: FormatJSON, Multiline: &Multiline{StartPattern: `^\{`}},
			`{"level":"error","msg":"x"}`, "\tat a.b(C.java:1)", `{"msg":"y"}`)
		require.Len(t, out, 2)
		assert.Equal(t, true, logsDecode(t, out[0])["parse_error"], "the joined text is no JSON: kept raw, not lost")
	})
	t.Run("streams are kept apart", func(t *testing.T) {
		p := logsNewParser(t, Adapter{Format: FormatText, Multiline: &Multiline{Indented: true}})
		var rs []Record
		for _, l := range []Line{{Text: "out", Stream: "stdout"}, {Text: "err", Stream: "stderr"},
			{Text: " out 2", Stream: "stdout"}, {Text: " err 2", Stream: "stderr"}} {
			rs = append(rs, p.Parse(l)...)
		}
		rs = append(rs, p.Flush()...)
		require.Len(t, rs, 2)
		assert.Equal(t, "out\n out 2", rs[0].Msg)
		assert.Equal(t, "err\n err 2", rs[1].Msg)
	})
	t.Run("flushed when quiet", func(t *testing.T) {
		p := logsNewParser(t, Adapter{Format: FormatText, Multiline: &Multiline{Indented: true, FlushAfter: time.Second}})
		assert.Empty(t, p.Parse(Line{Text: "panic: boom"}))
		now := logsRef.Add(500 * time.Millisecond)
		p.now = func() time.Time { return now }
		assert.Empty(t, p.Parse(Line{Text: "\tmain.go:1"}))
		next, ok := p.NextFlush()
		require.True(t, ok)
		assert.Equal(t, now.Add(time.Second), next)
		assert.Empty(t, p.FlushIdle(now.Add(999*time.Millisecond)))
		rs := p.FlushIdle(now.Add(time.Second))
		require.Len(t, rs, 1)
		assert.Equal(t, "panic: boom\n\tmain.go:1", rs[0].Msg)
		assert.Empty(t, p.Flush())
	})
	t.Run("truncated lines mark the record", func(t *testing.T) {
		out := logsJSON(t, Adapter{Format: FormatText, MaxLineBytes: 3, Multiline: &Multiline{Indented: true}}, "a", " bcdef")
		require.Len(t, out, 1)
		assert.Equal(t, `{"time":"2024-11-25T18:00:00.000000000Z","msg":"a\n bc","truncated":true}`, out[0])
	})
}

func TestLogCRIPartials(t *testing.T) {
	p := logsNewParser(t, Adapter{Format: FormatCRI, Inner: FormatJSON})
	var rs []Record
	for _, line := range []string{
		`2024-11-25T17:02:03.1Z stdout P {"msg":"a `,
		`2024-11-25T17:02:03.2Z stderr P {"msg":"b `,
		`2024-11-25T17:02:03.3Z stdout P long `,
		`2024-11-25T17:02:03.4Z stdout F line"}`,
		`not cri at all`,
		`2024-11-25T17:02:03.5Z stderr F line"}`,
	} {
		rs = append(rs, p.Parse(Line{Text: line, File: "pods/app/0.log", Time: logsRef})...)
	}
	var got []string
	for _, r := range rs {
		got = append(got, string(r.AppendJSON(nil)))
	}
	assert.Equal(t, []string{
		`{"time":"2024-11-25T17:02:03.100000000Z","msg":"a long line","stream":"stdout","file":"pods/app/0.log"}`,
		`{"time":"2024-11-25T18:00:00.000000000Z","msg":"not cri at all","file":"pods/app/0.log","parse_error":true,"error":"cri: time \"not\": not RFC 3339"}`,
		`{"time":"2024-11-25T17:02:03.200000000Z","msg":"b line","stream":"stderr","file":"pods/app/0.log"}`,
	}, got)
}

// TestLogBadInput feeds what applications and disks produce on a bad day;
// every line comes out, as a valid JSON line.
func TestLogBadInput(t *testing.T) {
	inputs := []string{
		"\x00\x00\x00\x00",
		"\xff\xfe\xfd binary \x01\x02\x03\x7f",
		"{\"msg\":\"\xc3\x28 invalid\"}",
		"{\"msg\":\"nul \\u0000 inside\"}",
		"{\"msg\":\"raw nul \x00 inside\"}",
		"{\"\xff\":\"bad key\"}",
		`{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
		`{"a":"\ud800 lone surrogate"}`,
		"line separator \u2028 and \u2029",
		"msg=\"\xff\" k=\x00",
		"I1125 17:02:03.123456 1 a.go:1] \xff\x00",
		"2024-11-25T17:02:03Z stdout F \xff\x00{",
		strings.Repeat("\xe2\x82", 1000),
	}
	for _, format := range []Format{FormatAuto, FormatText, FormatJSON, FormatLogfmt, FormatKlog, FormatCLF, FormatCombined, FormatCRI} {
		p := logsNewParser(t, Adapter{Format: format, MaxLineBytes: 1 << 20})
		m := logsTestMetrics(t, p)
		n := 0
		for _, in := range inputs {
			rs := p.Parse(Line{Text: in})
			logsCheck(t, rs)
			n += len(rs)
		}
		assert.Equal(t, len(inputs), n, "format %s: a line was lost", format)
		assert.Positive(t, testutil.ToFloat64(m.sanitizedVec.WithLabelValues("invalid_utf8")))
		assert.Positive(t, testutil.ToFloat64(m.sanitizedVec.WithLabelValues("nul")))
	}
}

func TestLogEmptyLinesAreSkipped(t *testing.T) {
	p := logsNewParser(t, Adapter{Format: FormatJSON})
	m := logsTestMetrics(t, p)
	assert.Empty(t, p.Parse(Line{Text: ""}))
	assert.Empty(t, p.Parse(Line{Text: " \t\r"}))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.sanitizedVec.WithLabelValues("empty")))
	assert.Zero(t, testutil.ToFloat64(m.parseErrors.WithLabelValues("json")))
}

func TestLogManySources(t *testing.T) {
	p := logsNewParser(t, Adapter{Format: FormatText})
	for i := range 1000 {
		p.Parse(Line{Text: "x", File: strings.Repeat("f", i%300) + ".log"})
	}
	assert.LessOrEqual(t, len(p.sources), logsKeepSources+1, "sources with nothing held are forgotten")
}

func TestLogAppendJSON(t *testing.T) {
	r := Record{Time: time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600)), Level: "info", Msg: "a\"b\\c\n\t\x01\u2028é\xff",
		Fields: []Field{{"s", "v"}, {"i", int64(-3)}, {"n", 7}, {"f", 1.5}, {"nan", 0.0 / func() float64 { return 0 }()},
			{"num", json.Number("12e3")}, {"badnum", json.Number("12x")}, {"nil", nil}, {"t", true},
			{"obj", map[string]any{"b": "<&>", "a": []any{1.0}}}, {"at", time.Unix(0, 0)}, {"\xff", "k"}},
		ParseError: "why", Truncated: true, Warnings: []string{"w1", "w2"}}
	got := string(r.AppendJSON(nil))
	assert.Equal(t, `{"time":"2024-01-02T02:04:05.000000006Z","level":"info","msg":"a\"b\\c\n\t\u0001\u2028é\ufffd",`+
		`"s":"v","i":-3,"n":7,"f":1.5,"nan":null,"num":12e3,"badnum":"12x","nil":null,"t":true,"obj":{"a":[1],"b":"<&>"},`+
		`"at":"1970-01-01T00:00:00.000000000Z","\ufffd":"k","parse_error":true,"error":"why","truncated":true,"warnings":["w1","w2"]}`, got)
	assert.True(t, json.Valid([]byte(got)))
}

// TestLogStateless checks when the lines of a batch can be made into jobs
// apart, and that such jobs are those parseLine makes.
func TestLogStateless(t *testing.T) {
	whole := []Line{{Text: "a\r"}, {Text: strings.Repeat("b", 30)}}
	for _, tc := range []struct {
		name  string
		l     Adapter
		batch []Line
		held  *Line
		want  bool
	}{
		{"whole lines of a reader", Adapter{Format: FormatJSON}, whole, nil, true},
		{"multiline", Adapter{Multiline: &Multiline{Indented: true}}, whole, nil, false},
		{"cri", Adapter{Format: FormatCRI}, whole, nil, false},
		{"a piece", Adapter{}, []Line{{Text: "a", Partial: true}}, nil, false},
		{"a file", Adapter{}, []Line{{Text: "a", File: "f"}}, nil, false},
		{"a stream", Adapter{}, []Line{{Text: "a", Stream: "stdout"}}, nil, false},
		{"a piece held", Adapter{}, whole, &Line{Text: "a", Partial: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.l.MaxLineBytes = 20
			p := logsNewParser(t, tc.l)
			if tc.held != nil {
				p.parseLine(*tc.held, logsRef)
			}
			assert.Equal(t, tc.want, p.stateless(tc.batch))
			if !tc.want {
				return
			}
			for i := range tc.batch {
				p.parseLine(tc.batch[i], logsRef)
				var j logJob
				p.wholeLine(&j, &tc.batch[i], logsRef)
				assert.Equal(t, p.jobs[i], j)
			}
		})
	}
}
