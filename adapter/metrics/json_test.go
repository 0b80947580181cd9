package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetricsJSONPath(t *testing.T) {
	doc, err := metricsDecodeJSON([]byte(`{
		"requests": 42,
		"up": true,
		"version": "1.2",
		"name": "web",
		"nothing": null,
		"queues": {"mail": {"depth": 3}, "sms": {"depth": 1}},
		"workers": [{"busy": 1}, {"busy": 0}, {"busy": 1}],
		"a.b": {"c[0]": 7},
		"matrix": [[1, 2], [3]]
	}`))
	require.NoError(t, err)
	type hit struct {
		value any
		caps  string
	}
	for _, tc := range []struct {
		path      string
		wildcards int
		want      []hit
	}{
		{"requests", 0, []hit{{"42", ""}}},
		{"$.requests", 0, []hit{{"42", ""}}},
		{"$", 0, nil}, // the document: an object
		{"queues.mail.depth", 0, []hit{{"3", ""}}},
		{"queues.*.depth", 1, []hit{{"3", "mail"}, {"1", "sms"}}},
		{"queues[*].depth", 1, nil}, // [*] is for arrays
		{"workers[1].busy", 0, []hit{{"0", ""}}},
		{"workers[-1].busy", 0, []hit{{"1", ""}}},
		{"workers[9].busy", 0, nil},
		{"workers[*].busy", 1, []hit{{"1", "0"}, {"0", "1"}, {"1", "2"}}},
		{"workers.*.busy", 1, []hit{{"1", "0"}, {"0", "1"}, {"1", "2"}}},
		{`["a.b"]["c[0]"]`, 0, []hit{{"7", ""}}},
		{"matrix[*][*]", 2, []hit{{"1", "0,0"}, {"2", "0,1"}, {"3", "1,0"}}},
		{"missing.key", 0, nil},
	} {
		steps, wildcards, err := metricsParseJSONPath(tc.path)
		require.NoError(t, err, tc.path)
		assert.Equal(t, tc.wildcards, wildcards, tc.path)
		var got []hit
		metricsWalkJSON(doc, steps, nil, func(v any, caps []string) {
			if _, ok := v.(map[string]any); ok {
				return
			}
			got = append(got, hit{fmt.Sprint(v), strings.Join(caps, ",")})
		})
		assert.Equal(t, tc.want, got, tc.path)
	}

	for _, bad := range []string{"a..b", ".a", "a.", "a[", "a[x]", `a["x]`, `a["x"`, "$a", "a]b", "a[1", `a.b"c`} {
		_, _, err := metricsParseJSONPath(bad)
		assert.Error(t, err, bad)
	}
}

func TestMetricsJSONNumber(t *testing.T) {
	doc, err := metricsDecodeJSON([]byte(`[1.5, true, false, " 7 ", "x", null, {}, 1e999]`))
	require.NoError(t, err)
	want := []struct {
		v   float64
		ok  bool
		err bool
	}{{1.5, true, false}, {1, true, false}, {0, true, false}, {7, true, false}, {0, false, true},
		{0, false, false}, {0, false, true}, {0, false, true}}
	for i, v := range doc.([]any) {
		got, ok, err := metricsJSONNumber(v)
		assert.Equal(t, want[i].ok, ok, i)
		assert.Equal(t, want[i].err, err != nil, i)
		if ok {
			assert.Equal(t, want[i].v, got, i)
		}
	}

	for _, bad := range []string{``, `{`, `{"a":1} {"b":2}`, `{"a":1}x`, "\xff"} {
		_, err := metricsDecodeJSON([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// The JSON source emits the mapped values, with units, captured labels
// and the naming rules, and counts what it cannot use.
func TestMetricsJSONEmit(t *testing.T) {
	src := &JSONSource{Address: "127.0.0.1:1", Path: "/stats", Mappings: []JSONMapping{
		{Path: "requests", Name: "app_requests", Type: Counter, Help: "Requests served."},
		{Path: "latency_ms", Name: "app_latency", Unit: "ms"},
		{Path: "queues.*.depth", Name: "app_queue_depth", Labels: map[string]string{"queue": "$1", "app": "web"}},
		{Path: "stats.*", Name: "app_$1"},
		{Path: "bad", Name: "app_bad"},
		{Path: "negative", Name: "app_negative", Type: Counter},
	}}
	cfg, err := src.compile("json")
	require.NoError(t, err)
	doc, err := metricsDecodeJSON([]byte(`{"requests": 10, "latency_ms": 250, "bad": {"x": 1}, "negative": -1,
		"queues": {"mail": {"depth": 3}, "sms\u00e9": {"depth": 1}},
		"stats": {"cacheHits": 5, "***": 1, "requests_total": 2}}`))
	require.NoError(t, err)
	stats := &metricsStats{}
	ch := make(chan prometheus.Metric, 100)
	e := metricsNewEmitter(ch, stats, metricsNewDescCache(), 100)
	cfg.emit(doc, e)
	close(ch)
	got := metricsCollected(t, ch)
	// stats.requests_total, a gauge, clashes with the counter app_requests.
	assert.Equal(t, map[string]float64{
		`app_requests_total`:                      10,
		`app_latency_seconds`:                     0.25,
		`app_queue_depth{app="web",queue="mail"}`: 3,
		`app_queue_depth{app="web",queue="smsé"}`: 1,
		`app_cache_hits`:                          5,
	}, got)
	assert.Equal(t, uint64(1), stats.parseErrors.Load(), "bad: an object")
	assert.Equal(t, uint64(2), stats.dropped[metricsDropInvalid].Load(), "negative counter, *** capture")
	assert.Equal(t, uint64(1), stats.dropped[metricsDropConflict].Load(), "app_requests_total as a gauge")
}
