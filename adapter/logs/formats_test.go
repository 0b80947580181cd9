package logs

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLogFormats parses real-world lines in each format; logsRef
// (2024-11-25T18:00:00Z) is when each line is read.
func TestLogFormats(t *testing.T) {
	tests := []struct {
		name string
		l    Adapter
		line string
		want string
	}{
		// JSON, as structured loggers write it.
		{"zap production", Adapter{Format: FormatJSON},
			`{"level":"info","ts":1732554123.123456,"caller":"server/main.go:42","msg":"listening","addr":":8080"}`,
			`{"time":"2024-11-25T17:02:03.123456000Z","level":"info","msg":"listening","caller":"server/main.go:42","addr":":8080"}`},
		{"zap error with stack trace", Adapter{Format: FormatJSON},
			`{"level":"error","ts":1732554124.25,"caller":"main.go:60","msg":"request failed","error":"unexpected EOF","stacktrace":"main.handle\n\t/app/main.go:60"}`,
			`{"time":"2024-11-25T17:02:04.250000000Z","level":"error","msg":"request failed","caller":"main.go:60","error":"unexpected EOF","stacktrace":"main.handle\n\t/app/main.go:60"}`},
		{"zap development ISO8601", Adapter{Format: FormatJSON},
			`{"L":"WARN","T":"2024-11-25T17:02:03.456+0100","M":"slow"}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"","L":"WARN","T":"2024-11-25T17:02:03.456+0100","M":"slow"}`},
		{"zap development with field names", Adapter{Format: FormatJSON, TimeField: "T", LevelField: "L", MessageField: "M",
			TimeLayouts: []string{"2006-01-02T15:04:05.000Z0700"}},
			`{"L":"WARN","T":"2024-11-25T17:02:03.456+0100","M":"slow"}`,
			`{"time":"2024-11-25T16:02:03.456000000Z","level":"warn","msg":"slow"}`},
		{"logrus", Adapter{Format: FormatJSON},
			`{"level":"warning","msg":"The group's number increased tremendously!","number":122,"omg":true,"time":"2024-11-25T17:02:04+01:00"}`,
			`{"time":"2024-11-25T16:02:04.000000000Z","level":"warn","msg":"The group's number increased tremendously!","number":122,"omg":true}`},
		{"slog", Adapter{Format: FormatJSON},
			`{"time":"2024-11-25T17:02:03.123456789Z","level":"WARN","msg":"slow request","duration":"1.5s","req":{"method":"GET","path":"/"}}`,
			`{"time":"2024-11-25T17:02:03.123456789Z","level":"warn","msg":"slow request","duration":"1.5s","req":{"method":"GET","path":"/"}}`},
		{"bunyan", Adapter{Format: FormatJSON},
			`{"name":"myapp","hostname":"banana.local","pid":40161,"level":30,"msg":"hi","time":"2013-01-04T18:46:23.851Z","v":0}`,
			`{"time":"2013-01-04T18:46:23.851000000Z","level":"info","msg":"hi","name":"myapp","hostname":"banana.local","pid":40161,"v":0}`},
		{"pino", Adapter{Format: FormatJSON},
			`{"level":50,"time":1732554123456,"pid":1,"hostname":"web-1","msg":"boom"}`,
			`{"time":"2024-11-25T17:02:03.456000000Z","level":"error","msg":"boom","pid":1,"hostname":"web-1"}`},
		{"docker json-file", Adapter{Format: FormatJSON},
			`{"log":"hello\n","stream":"stdout","time":"2024-11-25T17:02:03.000000001Z"}`,
			`{"time":"2024-11-25T17:02:03.000000001Z","msg":"hello","stream":"stdout"}`},
		{"nested values keep their JSON, keys sorted", Adapter{Format: FormatJSON},
			`{"msg":"req","http":{"status":200,"method":"GET"},"tags":["a",null,1.5e3],"ok":false}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"req","http":{"method":"GET","status":200},"tags":["a",null,1.5e3],"ok":false}`},
		{"big integers are not rounded", Adapter{Format: FormatJSON},
			`{"msg":"x","id":12345678901234567890123}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"x","id":12345678901234567890123}`},
		{"the last of duplicate keys wins, in the first's place", Adapter{Format: FormatJSON},
			`{"msg":"a","k":1,"j":0,"k":2}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"a","k":2,"j":0}`},
		{"a message that is not a string", Adapter{Format: FormatJSON},
			`{"msg":{"a":1}}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"{\"a\":1}"}`},
		{"malformed JSON", Adapter{Format: FormatJSON},
			`{"level":"info","msg":"cut`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"{\"level\":\"info\",\"msg\":\"cut","parse_error":true,"error":"json: unexpected end of line"}`},
		{"not an object", Adapter{Format: FormatJSON},
			`[1,2]`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"[1,2]","parse_error":true,"error":"json: not an object"}`},
		{"data after the object", Adapter{Format: FormatJSON},
			`{"msg":"a"} {"msg":"b"}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"{\"msg\":\"a\"} {\"msg\":\"b\"}","parse_error":true,"error":"json: data after the object"}`},

		// logfmt.
		{"go-kit logfmt", Adapter{Format: FormatLogfmt},
			`level=info ts=2024-11-25T17:02:06.123Z caller=main.go:42 msg="server started" addr=:8080`,
			`{"time":"2024-11-25T17:02:06.123000000Z","level":"info","msg":"server started","caller":"main.go:42","addr":":8080"}`},
		{"logrus text formatter", Adapter{Format: FormatLogfmt},
			`time="2024-11-25T17:02:05+01:00" level=fatal msg="The ice breaks!" number=100`,
			`{"time":"2024-11-25T16:02:05.000000000Z","level":"fatal","msg":"The ice breaks!","number":"100"}`},
		{"heroku router, no message", Adapter{Format: FormatLogfmt},
			`at=info method=GET path="/" fwd="204.204.204.204" dyno=web.1 connect=1ms status=200`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"","at":"info","method":"GET","path":"/","fwd":"204.204.204.204","dyno":"web.1","connect":"1ms","status":"200"}`},
		{"escapes and bare keys", Adapter{Format: FormatLogfmt},
			`msg="say \"hi\"\tnow" debug empty= eq=a=b`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"say \"hi\"\tnow","debug":true,"empty":"","eq":"a=b"}`},
		{"unterminated quote", Adapter{Format: FormatLogfmt},
			`msg="oops`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"msg=\"oops","parse_error":true,"error":"logfmt: value of \"msg\" at byte 4: unterminated quoted string"}`},
		{"prose is not logfmt", Adapter{Format: FormatLogfmt},
			`Starting server on port 8080`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"Starting server on port 8080","parse_error":true,"error":"logfmt: no key=value pair"}`},

		// Regular expressions.
		{"python logging", Adapter{Format: FormatRegex, Regex: `^(?P<time>\S+ \S+) (?P<level>[A-Z]+) +\[(?P<thread>[^\]]+)\] (?P<logger>\S+) - (?P<msg>.*)$`},
			`2024-11-25 17:02:04,456 ERROR [main] com.example.App - request failed`,
			`{"time":"2024-11-25T17:02:04.456000000Z","level":"error","msg":"request failed","thread":"main","logger":"com.example.App"}`},
		{"regex without a match", Adapter{Format: FormatRegex, Regex: `^(?P<level>[A-Z]+): (?P<msg>.*)$`},
			`no level here`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"no level here","parse_error":true,"error":"regex: no match"}`},
		{"optional groups that did not take part are left out", Adapter{Format: FormatRegex, Regex: `^(?P<msg>\w+)(?: (?P<code>\d+))?$`},
			`done`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"done"}`},

		// klog and glog.
		{"klog", Adapter{Format: FormatKlog},
			`I1125 17:02:03.123456   12345 file.go:42] msg`,
			`{"time":"2024-11-25T17:02:03.123456000Z","level":"info","msg":"msg","thread":12345,"caller":"file.go:42"}`},
		{"klog structured", Adapter{Format: FormatKlog},
			`I1125 17:02:03.200001       1 controller.go:116] "Pod status updated" pod="kube-system/kubedns" status="ready"`,
			`{"time":"2024-11-25T17:02:03.200001000Z","level":"info","msg":"Pod status updated","thread":1,"caller":"controller.go:116","pod":"kube-system/kubedns","status":"ready"}`},
		{"klog structured error", Adapter{Format: FormatKlog},
			`E1125 17:02:05.000000       1 server.go:5] "Failed to start server" err="listen tcp :80: bind: address already in use" port=80`,
			`{"time":"2024-11-25T17:02:05.000000000Z","level":"error","msg":"Failed to start server","thread":1,"caller":"server.go:5","err":"listen tcp :80: bind: address already in use","port":"80"}`},
		{"klog quoted message that is not structured", Adapter{Format: FormatKlog},
			`W1125 17:02:04.000000       7 warnings.go:70] "quoted" then prose`,
			`{"time":"2024-11-25T17:02:04.000000000Z","level":"warn","msg":"\"quoted\" then prose","thread":7,"caller":"warnings.go:70"}`},
		{"glog", Adapter{Format: FormatKlog},
			`F1125 17:02:06.000000 1 main.go:9] cannot continue`,
			`{"time":"2024-11-25T17:02:06.000000000Z","level":"fatal","msg":"cannot continue","thread":1,"caller":"main.go:9"}`},
		{"klog in a zone", Adapter{Format: FormatKlog, TimeZone: "Europe/Paris"},
			`I1125 17:02:03.000000 1 a.go:1] local`,
			`{"time":"2024-11-25T16:02:03.000000000Z","level":"info","msg":"local","thread":1,"caller":"a.go:1"}`},
		{"not klog", Adapter{Format: FormatKlog},
			`I1325 17:02:03.000000 1 a.go:1] month 13`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"I1325 17:02:03.000000 1 a.go:1] month 13","parse_error":true,"error":"klog: time: 13-25 17:02:03 is not a date"}`},

		// Access logs.
		{"apache common", Adapter{Format: FormatCLF},
			`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`,
			`{"time":"2000-10-10T20:55:36.000000000Z","msg":"GET /apache_pb.gif HTTP/1.0","remote_addr":"127.0.0.1","user":"frank","method":"GET","path":"/apache_pb.gif","protocol":"HTTP/1.0","status":200,"bytes":2326}`},
		{"apache common, no bytes", Adapter{Format: FormatCLF},
			`::1 - - [25/Nov/2024:17:02:03 +0100] "OPTIONS * HTTP/1.0" 200 -`,
			`{"time":"2024-11-25T16:02:03.000000000Z","msg":"OPTIONS * HTTP/1.0","remote_addr":"::1","method":"OPTIONS","path":"*","protocol":"HTTP/1.0","status":200,"bytes":0}`},
		{"nginx combined", Adapter{Format: FormatCombined},
			`93.184.216.34 - - [25/Nov/2024:17:02:03 +0000] "GET /index.html HTTP/1.1" 304 0 "-" "Mozilla/5.0 (X11; Linux x86_64)"`,
			`{"time":"2024-11-25T17:02:03.000000000Z","msg":"GET /index.html HTTP/1.1","remote_addr":"93.184.216.34","method":"GET","path":"/index.html","protocol":"HTTP/1.1","status":304,"bytes":0,"user_agent":"Mozilla/5.0 (X11; Linux x86_64)"}`},
		{"nginx combined with x-forwarded-for", Adapter{Format: FormatCombined},
			`10.0.0.7 - alice [25/Nov/2024:17:02:04 +0000] "POST /api/v1/login HTTP/2.0" 401 38 "https://example.com/login" "curl/8.4.0" "203.0.113.9"`,
			`{"time":"2024-11-25T17:02:04.000000000Z","msg":"POST /api/v1/login HTTP/2.0","remote_addr":"10.0.0.7","user":"alice","method":"POST","path":"/api/v1/login","protocol":"HTTP/2.0","status":401,"bytes":38,"referer":"https://example.com/login","user_agent":"curl/8.4.0","extra":"\"203.0.113.9\""}`},
		{"nginx escapes a TLS handshake", Adapter{Format: FormatCombined},
			`192.168.1.5 - - [25/Nov/2024:17:02:05 +0000] "\x16\x03\x01\x00\xa5" 400 157 "-" "-"`,
			`{"time":"2024-11-25T17:02:05.000000000Z","msg":"\u0016\u0003\u0001\u0000\ufffd","remote_addr":"192.168.1.5","request":"\u0016\u0003\u0001\u0000\ufffd","status":400,"bytes":157}`},
		{"apache escapes quotes", Adapter{Format: FormatCombined},
			`172.17.0.1 - - [25/Nov/2024:17:02:06 +0000] "GET /q HTTP/1.1" 200 5 "-" "agent \"quoted\""`,
			`{"time":"2024-11-25T17:02:06.000000000Z","msg":"GET /q HTTP/1.1","remote_addr":"172.17.0.1","method":"GET","path":"/q","protocol":"HTTP/1.1","status":200,"bytes":5,"user_agent":"agent \"quoted\""}`},
		{"combined wants a user agent", Adapter{Format: FormatCombined},
			`127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1","parse_error":true,"error":"combined: no \"referer\" \"user agent\" after the bytes"}`},

		// CRI.
		{"cri", Adapter{Format: FormatCRI},
			`2024-11-25T17:02:03.123456789Z stderr F plain text`,
			`{"time":"2024-11-25T17:02:03.123456789Z","msg":"plain text","stream":"stderr"}`},
		{"cri with json inside", Adapter{Format: FormatCRI, Inner: FormatJSON},
			`2024-11-25T17:02:03.123456789Z stdout F {"level":"info","msg":"hello","ts":1732554000}`,
			`{"time":"2024-11-25T17:00:00.000000000Z","level":"info","msg":"hello","stream":"stdout"}`},
		{"cri with klog inside", Adapter{Format: FormatCRI, Inner: FormatKlog},
			`2024-11-25T17:02:03.5Z stderr F I1125 17:02:03.123456       1 a.go:1] up`,
			`{"time":"2024-11-25T17:02:03.123456000Z","level":"info","msg":"up","thread":1,"caller":"a.go:1","stream":"stderr"}`},
		{"cri with broken json inside", Adapter{Format: FormatCRI, Inner: FormatJSON},
			`2024-11-25T17:02:03Z stdout F oops`,
			`{"time":"2024-11-25T17:02:03.000000000Z","msg":"oops","stream":"stdout","parse_error":true,"error":"json: invalid character 'o' looking for beginning of value"}`},
		{"not cri", Adapter{Format: FormatCRI},
			`2024-11-25T17:02:03Z stdin F x`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"2024-11-25T17:02:03Z stdin F x","parse_error":true,"error":"cri: stream \"stdin\": want stdout or stderr"}`},

		// Text and auto.
		{"text", Adapter{Format: FormatText},
			`{"not":"parsed"}`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"{\"not\":\"parsed\"}"}`},
		{"auto json", Adapter{}, `{"msg":"j"}`, `{"time":"2024-11-25T18:00:00.000000000Z","msg":"j"}`},
		{"auto broken json is text", Adapter{}, `{"msg":`, `{"time":"2024-11-25T18:00:00.000000000Z","msg":"{\"msg\":"}`},
		{"auto klog", Adapter{}, `W1125 17:02:04.000000 7 w.go:70] careful`,
			`{"time":"2024-11-25T17:02:04.000000000Z","level":"warn","msg":"careful","thread":7,"caller":"w.go:70"}`},
		{"auto access log", Adapter{}, `::1 - - [25/Nov/2024:17:02:03 +0000] "GET / HTTP/1.1" 200 3 "-" "curl/8"`,
			`{"time":"2024-11-25T17:02:03.000000000Z","msg":"GET / HTTP/1.1","remote_addr":"::1","method":"GET","path":"/","protocol":"HTTP/1.1","status":200,"bytes":3,"user_agent":"curl/8"}`},
		{"auto logfmt", Adapter{}, `level=debug msg=hi`, `{"time":"2024-11-25T18:00:00.000000000Z","level":"debug","msg":"hi"}`},
		{"auto prose with an equals sign", Adapter{}, `x=1 is not logfmt`,
			`{"time":"2024-11-25T18:00:00.000000000Z","msg":"x=1 is not logfmt"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, []string{tt.want}, logsJSON(t, tt.l, tt.line))
		})
	}
}

// TestLogKlogYear gives klog lines, which have no year, the year that puts
// them just before they were read.
func TestLogKlogYear(t *testing.T) {
	p := logsNewParser(t, Adapter{Format: FormatKlog})
	read := time.Date(2025, 1, 1, 0, 0, 30, 0, time.UTC)
	rs := p.Parse(Line{Text: `I1231 23:59:59.000000 1 a.go:1] last of the year`, Time: read})
	require.Len(t, rs, 1)
	assert.Equal(t, time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC), rs[0].Time)
	rs = p.Parse(Line{Text: `I0101 00:00:31.000000 1 a.go:1] a second ahead: clocks differ`, Time: read})
	assert.Equal(t, time.Date(2025, 1, 1, 0, 0, 31, 0, time.UTC), rs[0].Time)
	rs = p.Parse(Line{Text: `I0229 12:00:00.000000 1 a.go:1] leap day`, Time: read})
	assert.Equal(t, time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), rs[0].Time)
}

var logsUpdate = flag.Bool("logs.update", false, "rewrite the golden files of the log adapter's tests")

// TestLogGolden adapts the sample logs in testdata/logs and compares the
// records with the .golden files; -logs.update rewrites them.
func TestLogGolden(t *testing.T) {
	tests := []struct {
		file string
		l    Adapter
	}{
		{"nginx.log", Adapter{Format: FormatCombined, Types: map[string]FieldType{"status": String}}},
		{"apache.log", Adapter{Format: FormatCLF}},
		{"klog.log", Adapter{Format: FormatKlog, Rename: map[string]string{"caller": "source"}}},
		{"zap.log", Adapter{Format: FormatJSON, Drop: []string{"caller"}}},
		{"logrus.log", Adapter{Types: map[string]FieldType{"number": Int, "status": Int, "omg": String}}},
		{"java.log", Adapter{Format: FormatRegex, Multiline: &Multiline{StartPattern: `^\d{4}-\d\d-\d\d `},
			Regex: `(?s)^(?P<time>\S+ \S+) (?P<level>[A-Z]+) +\[(?P<thread>[^\]]+)\] (?P<logger>\S+) - (?P<msg>.*)$`}},
		{"goroutine.log", Adapter{Format: FormatText, Multiline: &Multiline{StartPattern: `^(panic: |exit status )`}}},
		{"cri.log", Adapter{Format: FormatCRI, Inner: FormatAuto}},
		{"garbage.log", Adapter{Format: FormatJSON}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var got strings.Builder
			for _, r := range logsJSON(t, tt.l, logsReadLines(t, tt.file)...) {
				got.WriteString(r + "\n")
			}
			golden := filepath.Join("testdata", "logs", strings.TrimSuffix(tt.file, ".log")+".golden")
			if *logsUpdate {
				require.NoError(t, os.WriteFile(golden, []byte(got.String()), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), got.String())
			for _, line := range logsLines(got.String()) {
				logsDecode(t, line)
			}
		})
	}
}

// logsReadLines returns the lines of a file of testdata/logs.
func logsReadLines(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "logs", name))
	require.NoError(t, err)
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	return lines
}
