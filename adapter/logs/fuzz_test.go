package logs

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/podkit/podkit/internal/memberconf"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The fuzz tests feed arbitrary bytes to each parser and check what must
// hold whatever the input: no panic, records that are valid JSON lines of
// valid UTF-8, bounded in size, and no line lost. Their seeds are real
// lines, and the sample logs of testdata/logs.

// logsFuzzMaxLine keeps the fuzzed lines short enough to be cut now and
// then.
const logsFuzzMaxLine = 4096

// logsSeed adds each line of the named sample logs as a seed.
func logsSeed(f *testing.F, files ...string) {
	for _, name := range files {
		for _, line := range logsReadLines(f, name) {
			f.Add(line)
		}
	}
}

// logsFuzzLines parses the lines of data with l and checks the records;
// it returns them. With simple set (no multiline, no partial lines), every
// line that is not blank must give one record.
func logsFuzzLines(t *testing.T, l Adapter, data string, simple bool) []Record {
	if l.MaxLineBytes == 0 {
		l.MaxLineBytes = logsFuzzMaxLine
	}
	p, err := NewParser(l)
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return logsRef }
	m := logsTestMetrics(t, p)
	lines := strings.Split(data, "\n")
	var rs []Record
	for _, line := range lines {
		rs = append(rs, p.Parse(Line{Text: line, Time: logsRef})...)
	}
	rs = append(rs, p.Flush()...)
	logsFuzzCheck(t, rs, len(data))
	if simple {
		empty := int(testutil.ToFloat64(m.sanitizedVec.WithLabelValues("empty")))
		if len(rs)+empty != len(lines) {
			t.Fatalf("%d lines gave %d records and %d blank lines", len(lines), len(rs), empty)
		}
	}
	return rs
}

// logsFuzzCheck checks the invariants of records made from size bytes.
func logsFuzzCheck(t *testing.T, rs []Record, size int) {
	t.Helper()
	for _, r := range rs {
		b := r.AppendJSON(nil)
		if !json.Valid(b) || !utf8.Valid(b) || strings.ContainsAny(string(b), "\n\r") {
			t.Fatalf("not a valid JSON line: %q", b)
		}
		// Escapes make at most 6 bytes of one; warnings and the adapter's
		// fields are bounded.
		if limit := 12*size + 4096; len(b) > limit {
			t.Fatalf("record of %d bytes from %d bytes of input", len(b), size)
		}
		if r.ParseError != "" && strings.TrimSpace(r.Msg) == "" {
			t.Fatalf("parse error without the raw line: %s", b)
		}
		if r.Time.IsZero() {
			t.Fatalf("record without a time: %s", b)
		}
	}
}

func FuzzLogJSON(f *testing.F) {
	for _, s := range []string{
		`{"level":"info","ts":1732554123.123456,"caller":"main.go:42","msg":"listening","addr":":8080"}`,
		`{"time":"2024-11-25T17:02:03+01:00","level":"warning","msg":"logrus","n":1}`,
		`{"level":30,"time":1732554123456,"msg":"pino"}`,
		`{"log":"docker\n","stream":"stderr","time":"2024-11-25T17:02:03.000000001Z"}`,
		`{"msg":"nested","a":{"b":[1,2,{"c":null}]},"big":123456789012345678901234567890}`,
		`{"msg":"dup","k":1,"k":2}`, `{"msg":"\ud800"}`, `{"msg":"cut`, `[1]`, `{}`, `{"a":1}{}`, "{\"\xff\":1}",
	} {
		f.Add(s)
	}
	logsSeed(f, "zap.log", "logrus.log", "garbage.log")
	f.Fuzz(func(t *testing.T, data string) {
		logsFuzzLines(t, Adapter{Format: FormatJSON}, data, true)
		// One line: parsed exactly when encoding/json finds it valid.
		line := strings.TrimPrefix(strings.TrimSuffix(data, "\r"), "\ufeff")
		if strings.ContainsAny(data, "\n") || len(data) > logsFuzzMaxLine || strings.TrimSpace(line) == "" {
			return
		}
		fields, err := logParseJSON([]Field{}, line)
		var obj map[string]json.RawMessage
		valid := json.Unmarshal([]byte(line), &obj) == nil && obj != nil
		if (err == nil) != valid {
			t.Fatalf("%q: parsed %v, encoding/json says valid %v", line, err == nil, valid)
		}
		// The fast scan reads what encoding/json's decoder reads.
		if slow, slowErr := logParseJSONSlow(line); err == nil && (slowErr != nil || !reflect.DeepEqual(fields, slow)) {
			t.Fatalf("%q: scanned %#v, decoded %#v (%v)", line, fields, slow, slowErr)
		}
	})
}

func FuzzLogfmt(f *testing.F) {
	for _, s := range []string{
		`level=info ts=2024-11-25T17:02:06.123Z caller=main.go:42 msg="server started" addr=:8080`,
		`time="2024-11-25T17:02:05+01:00" level=fatal msg="The ice breaks!" err="&{0x2082280c0 map[animal:orca]}"`,
		`at=info method=GET path="/" fwd="204.204.204.204" dyno=web.1 connect=1ms status=200`,
		`msg="say \"hi\"\tnow" debug empty= eq=a=b`, `msg="oops`, `="x"`, `k="a"b`, `a=1 "b"`, "k=\"\\xff\" \x00=1",
	} {
		f.Add(s)
	}
	logsSeed(f, "logrus.log")
	f.Fuzz(func(t *testing.T, data string) {
		logsFuzzLines(t, Adapter{Format: FormatLogfmt}, data, true)
		fields, err := logParseLogfmt(nil, data, false)
		if err != nil {
			return
		}
		for _, f := range fields {
			if f.Key == "" || strings.ContainsAny(f.Key, " =\"\t\n") {
				t.Fatalf("bad key %q", f.Key)
			}
		}
	})
}

func FuzzLogRegex(f *testing.F) {
	f.Add(`^(?P<time>\S+ \S+) (?P<level>[A-Z]+) +\[(?P<thread>[^\]]+)\] (?P<logger>\S+) - (?P<msg>.*)$`,
		`2024-11-25 17:02:04,456 ERROR [main] com.example.App - request failed`)
	f.Add(`(?P<msg>\w+)(?: (?P<code>\d+))?`, "done 200\nnothing")
	f.Add(`(?s)(?P<level>.)(?P<msg>.*)`, "\xff\x00")
	f.Add(`(?P<time>\d+) (?P<msg>.*)`, "1732554123 unix seconds\n99999999999999999999999 big")
	f.Fuzz(func(t *testing.T, pattern, data string) {
		re, err := regexp.Compile(pattern)
		if err != nil || len(pattern) > 256 {
			return
		}
		l := Adapter{Format: FormatRegex, Regex: pattern}
		if _, err := NewParser(l); err != nil {
			return // no named group
		}
		for _, r := range logsFuzzLines(t, l, data, true) {
			if r.ParseError != "" && re.MatchString(r.Msg) && len(r.Msg) < logsFuzzMaxLine {
				t.Fatalf("%q matches %q, but is a parse error: %s", r.Msg, pattern, r.ParseError)
			}
		}
	})
}

func FuzzLogCRI(f *testing.F) {
	for _, s := range []string{
		`2024-11-25T17:02:03.123456789Z stdout F {"level":"info","msg":"hello"}`,
		"2024-11-25T17:02:03.1Z stderr P part one \n2024-11-25T17:02:03.2Z stderr F and two",
		"2024-11-25T17:02:03Z stdout P a\n2024-11-25T17:02:03Z stderr F b\n2024-11-25T17:02:03Z stdout F c",
		`2024-11-25T17:02:03Z stdout F:x tagged`, `2024-11-25T17:02:03Z stdin F x`, `not cri`, `2024-11-25T17:02:03Z stdout`,
	} {
		f.Add(s)
	}
	logsSeed(f, "cri.log")
	f.Fuzz(func(t *testing.T, data string) {
		logsFuzzLines(t, Adapter{Format: FormatCRI, Inner: FormatAuto}, data, false)
		logsFuzzLines(t, Adapter{Format: FormatCRI, Inner: FormatJSON, MaxLineBytes: 64}, data, false)
	})
}

func FuzzLogKlog(f *testing.F) {
	for _, s := range []string{
		`I1125 17:02:03.123456   12345 file.go:42] msg`,
		`I1125 17:02:03.200001       1 controller.go:116] "Pod status updated" pod="kube-system/kubedns" status="ready"`,
		`E1125 17:02:05.000000       1 server.go:5] "Failed" err="bind: address already in use" port=80`,
		`W0229 23:59:60.999999 1 leap.go:1] leap`, `F1301 00:00:00.000000 1 a.go:1] bad month`,
		`I1125 17:02:03.123456 99999999999999999999999 a.go:1] big thread`, `I1125 17:02:03.123456 1 a.go:1]`,
		"I1125 17:02:03.123456 1 a.go:1] \"unterminated",
	} {
		f.Add(s)
	}
	logsSeed(f, "klog.log")
	f.Fuzz(func(t *testing.T, data string) {
		logsFuzzLines(t, Adapter{Format: FormatKlog}, data, true)
		logsFuzzLines(t, Adapter{Format: FormatKlog, TimeZone: "America/New_York"}, data, true)
	})
}

func FuzzLogCLF(f *testing.F) {
	for _, s := range []string{
		`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`,
		`93.184.216.34 - - [25/Nov/2024:17:02:03 +0000] "GET / HTTP/1.1" 304 0 "-" "Mozilla/5.0 (X11; Linux x86_64)"`,
		`192.168.1.5 - - [25/Nov/2024:17:02:05 +0000] "\x16\x03\x01" 400 157 "-" "-"`,
		`1.2.3.4 - - [25/Nov/2024:17:02:05 +0000] "GET /\"q\" HTTP/1.1" 200 99999999999999999999999 "r" "ua" "xff"`,
		`1.2.3.4 - - [32/Nov/2024:17:02:05 +0000] "GET / HTTP/1.1" 200 1`, `1.2.3.4 - - [] "" - -`,
	} {
		f.Add(s)
	}
	logsSeed(f, "nginx.log", "apache.log")
	f.Fuzz(func(t *testing.T, data string) {
		logsFuzzLines(t, Adapter{Format: FormatCLF}, data, true)
		logsFuzzLines(t, Adapter{Format: FormatCombined}, data, true)
	})
}

func FuzzLogAuto(f *testing.F) {
	logsSeed(f, "zap.log", "logrus.log", "klog.log", "nginx.log", "apache.log", "java.log", "garbage.log")
	f.Add("x=1 is prose\n{\"msg\":\n\tindented")
	f.Fuzz(func(t *testing.T, data string) {
		rs := logsFuzzLines(t, Adapter{Enrich: true, Types: map[string]FieldType{"status": Int, "n": Float, "ok": Bool}},
			data, true)
		for _, r := range rs {
			if r.ParseError != "" {
				t.Fatalf("auto gave a parse error: %q", r.ParseError)
			}
		}
	})
}

func FuzzLogMultiline(f *testing.F) {
	java := strings.Join(logsReadLines(f, "java.log"), "\n")
	goPanic := strings.Join(logsReadLines(f, "goroutine.log"), "\n")
	f.Add(java, uint8(0), uint64(0))
	f.Add(java, uint8(1), uint64(0b1010))
	f.Add(goPanic, uint8(2), uint64(0))
	f.Add(goPanic, uint8(3), uint64(1<<63))
	f.Add("a\n b\n c\n d\n e\nf", uint8(4), uint64(0b11))
	f.Fuzz(func(t *testing.T, data string, mode uint8, partials uint64) {
		ml := &Multiline{MaxLines: 3 + int(mode>>4), MaxBytes: 64 + int(mode>>4)*32}
		switch mode % 3 {
		case 0:
			ml.StartPattern = `^\d{4}-`
		case 1:
			ml.Indented = true
		case 2:
			ml.ContinuePattern = `^(\s|$|goroutine|main\.)`
		}
		format := []Format{FormatText, FormatJSON, FormatAuto, FormatLogfmt}[mode>>2&3]
		p, err := NewParser(Adapter{Format: format, Multiline: ml, MaxLineBytes: 100})
		if err != nil {
			t.Fatal(err)
		}
		now := logsRef
		p.now = func() time.Time { return now }
		var rs []Record
		for i, line := range strings.Split(data, "\n") {
			now = now.Add(100 * time.Millisecond)
			partial := i < 64 && partials&(1<<i) != 0
			rs = append(rs, p.Parse(Line{Text: line, Partial: partial, Stream: []string{"stdout", "stderr"}[i%2]})...)
			if i%5 == 4 {
				rs = append(rs, p.FlushIdle(now.Add(time.Duration(i)*100*time.Millisecond))...)
			}
			for _, s := range p.sources {
				if len(s.join) > 100 || len(s.ml) > ml.MaxBytes+100 {
					t.Fatalf("source holds %d bytes of line and %d of record", len(s.join), len(s.ml))
				}
			}
		}
		rs = append(rs, p.Flush()...)
		if _, ok := p.NextFlush(); ok {
			t.Fatal("something is held after Flush")
		}
		logsFuzzCheck(t, rs, len(data))
		for _, r := range rs {
			if format == FormatText && strings.Count(r.Msg, "\n") >= ml.MaxLines {
				t.Fatalf("record of more than %d lines: %q", ml.MaxLines, r.Msg)
			}
		}
	})
}

func FuzzLogTime(f *testing.F) {
	f.Add("2024-11-25T17:02:03.123456789Z", "")
	f.Add("1732554123.123456", "unix")
	f.Add("1732554123456.5", "unix_ms")
	f.Add("-1.5e300", "unix_ns")
	f.Add("99999999999999999999.99999999999999999999", "")
	f.Add("Nov 25 17:02:03", "stamp")
	f.Add("25.11.2024 17:02", "02.01.2006 15:04")
	f.Add("2024-11-25 17:02:03,5", "2006-01-02 15:04:05")
	f.Fuzz(func(t *testing.T, value, layout string) {
		l := Adapter{TimeZone: "Europe/Paris"}
		if layout != "" {
			l.TimeLayouts = []string{layout}
		}
		p, err := NewParser(l)
		if err != nil {
			return
		}
		for _, v := range []any{value, json.Number(value)} {
			tm, err := p.parseTime(v, logsRef)
			if err == nil && (tm.Year() < 1 || tm.Year() > 9999) && layout != "" {
				t.Fatalf("%q as %q: year %d", value, layout, tm.Year())
			}
		}
	})
}

func FuzzLogsConfig(f *testing.F) {
	f.Add(`{"stdin":true,"format":"logfmt","multiline":{"startPattern":"^\\S","flushAfter":"2s"},"types":{"n":"float"}}`)
	f.Add(`{"files":{"volume":"logs","patterns":["*.log"],"pollInterval":"250ms"},"format":"cri","inner":"json","drop":["stream"]}`)
	f.Add(`{"stdin":true,"format":"regex","regex":"(?P<msg>.*)","timeLayouts":["unix_ms","2006-01-02"],"timeZone":"UTC"}`)
	f.Fuzz(func(t *testing.T, config string) {
		l, err := Parse([]byte(config))
		if err != nil {
			return
		}
		data, err := memberconf.Encode(l)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(data); err != nil {
			t.Fatalf("%s does not read back: %v", data, err)
		}
	})
}
