package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatsDParseLine(t *testing.T) {
	for _, tc := range []struct {
		line    string
		name    string
		influx  string
		dog     string
		samples []statsdSample
	}{
		{"hits:1|c", "hits", "", "", []statsdSample{{statsdCounter, 1, false, 1}}},
		{"hits:2|c|@0.5", "hits", "", "", []statsdSample{{statsdCounter, 2, false, 0.5}}},
		{"temp:21.5|g", "temp", "", "", []statsdSample{{statsdGauge, 21.5, false, 1}}},
		{"temp:+3|g", "temp", "", "", []statsdSample{{statsdGauge, 3, true, 1}}},
		{"temp:-3|g|@0.1", "temp", "", "", []statsdSample{{statsdGauge, -3, true, 1}}},
		{"lat:320|ms", "lat", "", "", []statsdSample{{statsdTimer, 320, false, 1}}},
		{"size:10|h", "size", "", "", []statsdSample{{statsdHistogram, 10, false, 1}}},
		{"size:10|d", "size", "", "", []statsdSample{{statsdHistogram, 10, false, 1}}},
		{"multi:1|c:2|c:3|ms", "multi", "", "", []statsdSample{
			{statsdCounter, 1, false, 1}, {statsdCounter, 2, false, 1}, {statsdTimer, 3, false, 1}}},
		{"req:1|c|#env:prod,region:eu-1", "req", "", "env:prod,region:eu-1", []statsdSample{{statsdCounter, 1, false, 1}}},
		{"req,env=prod,host=a:1|c", "req", "env=prod,host=a", "", []statsdSample{{statsdCounter, 1, false, 1}}},
		{"req:1|c|@0.1|#a:b|c:container|T1700000000", "req", "", "a:b", []statsdSample{{statsdCounter, 1, false, 0.1}}},
	} {
		var l statsdLine
		require.NoError(t, statsdParseLine([]byte(tc.line), &l), tc.line)
		assert.Equal(t, tc.name, string(l.name), tc.line)
		assert.Equal(t, tc.influx, string(l.influxTags), tc.line)
		assert.Equal(t, tc.dog, string(l.dogTags), tc.line)
		assert.Equal(t, tc.samples, l.samples, tc.line)
	}
	for _, bad := range []string{
		"", "hits", ":1|c", "hits:", "hits:1", "hits:1|", "hits:1|x", "hits:x|c", "users:3|s",
		"hits:1|c|@0", "hits:1|c|@2", "hits:1|c|@x", "hits:-1|c", "hits:NaN|g", "hits:Inf|ms",
		",a=b:1|c", "hits:1|c:", "hits:1|c::2|c", strings.Repeat("x", statsdMaxLine) + ":1|c",
	} {
		var l statsdLine
		assert.Error(t, statsdParseLine([]byte(bad), &l), "%.40q", bad)
	}
}

// statsdTestSource returns a StatsD source fed by hand.
func statsdTestSource(t *testing.T, src StatsDSource, max int) *statsdSource {
	t.Helper()
	if src.Listen == "" {
		src.Listen = "127.0.0.1:8125"
	}
	cfg, err := src.compile("statsd")
	require.NoError(t, err)
	return statsdNewSource("app", cfg, max, &metricsStats{})
}

// collect collects s, without its own metrics.
func (s *statsdSource) collectTest(t *testing.T) map[string]float64 {
	ch := make(chan prometheus.Metric, 1000)
	s.Collect(ch)
	close(ch)
	got := metricsCollected(t, ch)
	for k := range got {
		if strings.HasPrefix(k, metricsOwnPrefix) {
			delete(got, k)
		}
	}
	return got
}

func TestStatsDSource(t *testing.T) {
	s := statsdTestSource(t, StatsDSource{
		Mappings: []StatsDMapping{
			{Match: "api.*.*.requests", Name: "api_requests", Labels: map[string]string{"endpoint": "$1", "code": "$2"}},
			{Match: "api.*.latency", Name: "api_latency", MatchType: "observer", Labels: map[string]string{"endpoint": "$1"},
				Buckets: []float64{0.1, 0.5, 1}},
			{Match: "api.*.size", Name: "api_response_size_bytes", MatchType: "observer", ObserverType: Summary},
			{Match: "debug.*", Drop: true},
		},
	}, 100)
	s.handlePacket([]byte(strings.Join([]string{
		"api.users.200.requests:1|c",
		"api.users.200.requests:2|c|@0.5", // 4
		"api.users.500.requests:1|c",
		"api.users.latency:50|ms",       // 0.05s
		"api.users.latency:700|ms|@0.5", // 0.7s, twice
		"api.users.size:100|h",
		"api.users.size:300|h",
		"queue.depth:10|g",
		"queue.depth:+5|g",
		"queue.depth:-3|g", // 12
		"cacheHits,region=eu:7|c|#tier:gold",
		"debug.noise:1|c",
		"garbage",
		"users:1|s",
		"",
		"_e{5,4}:title|text",
	}, "\n")))

	got := s.collectTest(t)
	assert.Equal(t, map[string]float64{
		`api_requests_total{code="200",endpoint="users"}`: 5,
		`api_requests_total{code="500",endpoint="users"}`: 1,
		`api_latency_seconds{endpoint="users"}`:           3,
		`api_response_size_bytes`:                         2,
		`queue_depth`:                                     12,
		`cache_hits_total{region="eu",tier="gold"}`:       7,
	}, got)
	assert.Equal(t, uint64(2), s.stats.parseErrors.Load())
	assert.Equal(t, uint64(1), s.stats.dropped[metricsDropUnmapped].Load())
	assert.Equal(t, uint64(12), s.samples.Load())
	assert.Equal(t, uint64(1), s.packets.Load())

	// The histogram's buckets and sum, in seconds.
	ch := make(chan prometheus.Metric, 100)
	s.Collect(ch)
	close(ch)
	var found bool
	for m := range ch {
		if metricsDescName(m.Desc()) != "api_latency_seconds" {
			continue
		}
		found = true
		pb := metricsWrite(t, m)
		assert.InDelta(t, 0.05+2*0.7, pb.Histogram.GetSampleSum(), 1e-9)
		var counts []uint64
		for _, b := range pb.Histogram.Bucket {
			counts = append(counts, b.GetCumulativeCount())
		}
		assert.Equal(t, []uint64{1, 1, 3}, counts, "le 0.1, 0.5, 1")
	}
	assert.True(t, found)
}

// Beyond MaxSeries new series are dropped and counted; the TTL frees
// room.
func TestStatsDCardinalityCapAndTTL(t *testing.T) {
	s := statsdTestSource(t, StatsDSource{TTL: time.Hour}, 10)
	for i := range 1000 {
		s.handlePacket(fmt.Appendf(nil, "requests:1|c|#user:%d", i))
	}
	got := s.collectTest(t)
	assert.Len(t, got, 10)
	assert.Equal(t, uint64(990), s.stats.dropped[metricsDropLimit].Load())
	assert.LessOrEqual(t, len(s.cache), statsdCacheSize)

	// Age the series: the next collection drops them, and new ones fit.
	s.mu.Lock()
	for _, ser := range s.series {
		ser.last = ser.last.Add(-2 * time.Hour)
	}
	s.mu.Unlock()
	assert.Empty(t, s.collectTest(t))
	s.handlePacket([]byte("requests:1|c|#user:new"))
	assert.Equal(t, map[string]float64{`requests_total{user="new"}`: 1}, s.collectTest(t))
}

// A name used by two kinds of metric keeps the first (a counter
// "jobs_total" is the family "jobs" in OpenMetrics, so it takes both
// names); names that cannot be made valid, and unmapped ones when asked,
// are dropped.
func TestStatsDConflictsAndInvalid(t *testing.T) {
	s := statsdTestSource(t, StatsDSource{}, 100)
	s.handlePacket([]byte("jobs:1|c\njobs_total:3|g\njobs:5|g\n\xff\xfe:1|c\npodkit.adapter.x:1|g\nok:1|g|#le:1"))
	got := s.collectTest(t)
	assert.Equal(t, map[string]float64{"jobs_total": 1, `ok{le="1"}`: 1}, got)
	assert.Equal(t, uint64(3), s.stats.dropped[metricsDropConflict].Load(), "jobs_total and jobs as gauges, podkit_adapter_x")
	assert.Equal(t, uint64(1), s.stats.dropped[metricsDropInvalid].Load())

	s = statsdTestSource(t, StatsDSource{DropUnmapped: true, Mappings: []StatsDMapping{{Match: "keep.*", Name: "kept_$1"}}}, 100)
	s.handlePacket([]byte("keep.a:1|c\ndrop.b:1|c"))
	assert.Equal(t, map[string]float64{"kept_a_total": 1}, s.collectTest(t))
	assert.Equal(t, uint64(1), s.stats.dropped[metricsDropUnmapped].Load())
}

func TestStatsDConfig(t *testing.T) {
	for _, tc := range []struct {
		src  StatsDSource
		want string
	}{
		{StatsDSource{}, "statsd.listen: required"},
		{StatsDSource{Listen: "8125"}, "statsd.listen: \"8125\""},
		{StatsDSource{Listen: ":8125", TTL: -1}, "statsd.ttl: -1ns is negative"},
		{StatsDSource{Listen: ":8125", ObserverType: "gauge"}, "statsd.observerType"},
		{StatsDSource{Listen: ":8125", Buckets: []float64{1, 1}}, "statsd.buckets"},
		{StatsDSource{Listen: ":8125", Quantiles: []float64{1}}, "statsd.quantiles"},
		{StatsDSource{Listen: ":8125", Mappings: []StatsDMapping{{Match: "a..b", Name: "x"}}}, "statsd.mappings[0].match"},
		{StatsDSource{Listen: ":8125", Mappings: []StatsDMapping{{Match: "a", Name: "x", MatchType: "set"}}}, "statsd.mappings[0].matchType"},
		{StatsDSource{Listen: ":8125", Mappings: []StatsDMapping{{Match: "a"}}}, "statsd.mappings[0].name: required"},
		{StatsDSource{Listen: ":8125", Mappings: []StatsDMapping{{Match: "a.*", Name: "x_$2"}}}, "statsd.mappings[0].name"},
		{StatsDSource{Listen: ":8125", Mappings: []StatsDMapping{{Match: "a", Drop: true, Name: "x"}}}, "statsd.mappings[0].drop"},
		{StatsDSource{Listen: ":8125", Mappings: []StatsDMapping{{Match: "a", Name: "x", Labels: map[string]string{"a-b": "1"}}}}, "statsd.mappings[0].labels"},
	} {
		_, err := tc.src.compile("statsd")
		require.Error(t, err, tc.want)
		assert.Contains(t, err.Error(), "metrics: "+tc.want)
	}
}
