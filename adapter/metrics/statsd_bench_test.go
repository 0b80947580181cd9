package metrics

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkStatsDIngest measures packets through the StatsD parser and
// mapper into the series: packets of 10 lines, over 200 names, mapped and
// unmapped, with tags, counters, gauges and timers.
func BenchmarkStatsDIngest(b *testing.B) {
	cfg, err := (&StatsDSource{Listen: "127.0.0.1:8125", Mappings: []StatsDMapping{
		{Match: "api.*.*.requests", Name: "api_requests", Labels: map[string]string{"endpoint": "$1", "code": "$2"}},
		{Match: "api.*.latency", Name: "api_latency", MatchType: "observer", Labels: map[string]string{"endpoint": "$1"}},
	}}).compile("statsd")
	if err != nil {
		b.Fatal(err)
	}
	s := statsdNewSource("bench", cfg, 10000, &metricsStats{})
	var packets [][]byte
	for i := range 20 {
		var lines []string
		for j := range 10 {
			n := i*10 + j
			switch j % 4 {
			case 0:
				lines = append(lines, fmt.Sprintf("api.endpoint%d.200.requests:1|c", n))
			case 1:
				lines = append(lines, fmt.Sprintf("api.endpoint%d.latency:%d|ms|@0.5", n, n))
			case 2:
				lines = append(lines, fmt.Sprintf("queue%d.depth:%d|g", n, n))
			case 3:
				lines = append(lines, fmt.Sprintf("worker.jobs%d:1|c|#env:prod,region:eu", n))
			}
		}
		packets = append(packets, []byte(strings.Join(lines, "\n")))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(packets[0])))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.handlePacket(packets[i%len(packets)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	if s.stats.parseErrors.Load() > 0 || len(s.series) != 200 {
		b.Fatalf("%d parse errors, %d series", s.stats.parseErrors.Load(), len(s.series))
	}
}
