package logs

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// logsBenchLines are a typical line of each format.
var logsBenchLines = []struct {
	name string
	l    Adapter
	line string
}{
	{"json", Adapter{Format: FormatJSON}, `{"level":"info","ts":1732554123.123456,"caller":"server/main.go:42","msg":"request","method":"GET","path":"/api/v1/users","status":200,"latency":0.000123}`},
	{"logfmt", Adapter{Format: FormatLogfmt}, `level=info ts=2024-11-25T17:02:06.123Z caller=main.go:42 msg="request" method=GET path=/api/v1/users status=200`},
	{"klog", Adapter{Format: FormatKlog}, `I1125 17:02:03.200001       1 controller.go:116] "Pod status updated" pod="kube-system/kubedns" status="ready"`},
	{"combined", Adapter{Format: FormatCombined}, `93.184.216.34 - - [25/Nov/2024:17:02:03 +0000] "GET /index.html HTTP/1.1" 200 615 "-" "Mozilla/5.0 (X11; Linux x86_64)"`},
	{"auto-text", Adapter{}, `Starting server on port 8080 with 4 workers`},
	{"text-of-json", Adapter{Format: FormatText}, `{"level":"info","ts":1732554123.000731,"caller":"server/handler.go:40","msg":"request served","method":"GET","path":"/api/v1/users","status":200,"latency":0,"request_id":"00000000"}`},
}

// BenchmarkLogParse measures a record's cost through the API, Parse and
// AppendJSON, per format on a typical line.
func BenchmarkLogParse(b *testing.B) {
	for _, bc := range logsBenchLines {
		b.Run(bc.name, func(b *testing.B) {
			p := logsNewParser(b, bc.l)
			var buf []byte
			b.SetBytes(int64(len(bc.line)))
			b.ReportAllocs()
			for b.Loop() {
				for _, r := range p.Parse(Line{Text: bc.line, Time: logsRef}) {
					buf = r.AppendJSON(buf[:0])
				}
			}
		})
	}
}

// BenchmarkLogEncode measures a record's cost as Run makes it, on one
// goroutine: parseLine, then a logEncoder.
func BenchmarkLogEncode(b *testing.B) {
	for _, bc := range logsBenchLines {
		b.Run(bc.name, func(b *testing.B) {
			p := logsNewParser(b, bc.l)
			var e logEncoder
			b.SetBytes(int64(len(bc.line)))
			b.ReportAllocs()
			for b.Loop() {
				p.parseLine(Line{Text: bc.line, Time: logsRef}, logsRef)
				e.encode(p, p.jobs)
				p.clearJobs()
				e.reset()
			}
		})
	}
}

// BenchmarkLogsRun measures Run as the process form uses it: a reader of
// many lines in, records buffered out to a file (/dev/null).
func BenchmarkLogsRun(b *testing.B) {
	for _, bc := range logsBenchLines {
		if bc.name != "json" && bc.name != "text-of-json" {
			continue
		}
		data := []byte(strings.Repeat(bc.line+"\n", (8<<20)/(len(bc.line)+1)))
		b.Run(bc.name, func(b *testing.B) {
			l := bc.l
			l.OutputFile = os.DevNull
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				l.Reader = bytes.NewReader(data)
				if err := l.Run(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
