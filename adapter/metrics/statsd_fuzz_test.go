package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func FuzzStatsDPacket(f *testing.F) {
	for _, p := range []string{
		"hits:1|c\nlat:320|ms|@0.1\ntemp:+3|g\nsize:10|h|#env:prod",
		"req,env=prod,host=a:1|c:2|c",
		"api.users.200.requests:1|c|#le:1,quantile:2,__name__:x",
		"users:1|s\n_e{5,4}:title|text\n_sc|check|0\n\r\n",
		"\xff\xfe:1|c\n:1|c\na:NaN|g\nb:1|c|@0\nc:1|ms|@0.0000001",
		"jobs:1|c\njobs_total:3|g\njobs:5|ms\njobs:1|h",
		"podkit.adapter.source.up:1|g",
	} {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, packet []byte) {
		cfg, err := (&StatsDSource{Listen: "127.0.0.1:8125", Mappings: []StatsDMapping{
			{Match: "api.*.*.requests", Name: "api_requests", Labels: map[string]string{"endpoint": "$1", "code": "$2"}},
			{Match: "*.summary", Name: "sum_$1", MatchType: "observer", ObserverType: Summary},
			{Match: "drop.*", Drop: true},
		}}).compile("statsd")
		if err != nil {
			t.Fatal(err)
		}
		s := statsdNewSource("fuzz", cfg, 20, &metricsStats{})
		s.handlePacket(packet)
		s.handlePacket(packet)
		if len(s.series) > 20 {
			t.Fatalf("%d series over the cap", len(s.series))
		}
		metricsCheckExposition(t, s)
	})
}

// The collector and the reader may run at once.
var _ prometheus.Collector = (*statsdSource)(nil)
