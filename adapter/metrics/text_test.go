package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetricsParseTextLine(t *testing.T) {
	for _, tc := range []struct {
		line  string
		key   string
		value string
		ok    bool
	}{
		{"requests 42", "requests", "42", true},
		{"requests=42", "requests", "42", true},
		{"requests = 42", "requests", "42", true},
		{"uptime_in_seconds:3600", "uptime_in_seconds", "3600", true},
		{"  mem.used\t-1.5e3\r", "mem.used", "-1.5e3", true},
		{"redis_version:7.2.4", "redis_version", "7.2.4", true},
		{"", "", "", false},
		{"   ", "", "", false},
		{"# a comment", "", "", false},
	} {
		key, value, ok, err := metricsParseTextLine([]byte(tc.line))
		require.NoError(t, err, tc.line)
		assert.Equal(t, tc.ok, ok, tc.line)
		assert.Equal(t, tc.key, key, tc.line)
		assert.Equal(t, tc.value, string(value), tc.line)
	}
	for _, bad := range []string{"requests", "=42", "requests 4 2", "a b c", ":"} {
		_, _, _, err := metricsParseTextLine([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// Lines become gauges named after their keys unless mapped; bad lines are
// counted and skipped.
func TestMetricsTextRules(t *testing.T) {
	rules := TextRules{Prefix: "redis_", Mappings: []TextMapping{
		{Match: "total_commands_processed", Name: "redis_commands_processed", Type: Counter},
		{Match: "db*_keys", Name: "redis_db_keys", Labels: map[string]string{"db": "db$1"}},
		{Match: "used_memory", Name: "redis_memory_used", Unit: "bytes"},
		{Match: "noise", Drop: true},
		{Match: "redis_version", Drop: true},
	}}
	r, err := rules.compile("text", "test")
	require.NoError(t, err)
	stats := &metricsStats{}
	ch := make(chan prometheus.Metric, 100)
	e := metricsNewEmitter(ch, stats, metricsNewDescCache(), 100)
	r.emit([]byte(strings.Join([]string{
		"# Server",
		"redis_version:7.2.4",
		"connected_clients:5",
		"total_commands_processed:1000",
		"db0_keys=10",
		"db1_keys 20",
		"used_memory: 1048576",
		"usedCPU.sys 1.5",
		"noise 1",
		"role:master",
		"\x00\x01\x02 binary",
		strings.Repeat("x", metricsMaxTextLine+1) + " 1",
		"connected_clients:6",
	}, "\r\n")), e)
	close(ch)
	assert.Equal(t, map[string]float64{
		"redis_connected_clients":        5,
		"redis_commands_processed_total": 1000,
		`redis_db_keys{db="db0"}`:        10,
		`redis_db_keys{db="db1"}`:        20,
		"redis_memory_used_bytes":        1 << 20,
		"redis_used_cpu_sys":             1.5,
	}, metricsCollected(t, ch))
	assert.Equal(t, uint64(3), stats.parseErrors.Load(), "role (not a number), binary, long line")
	assert.Equal(t, uint64(2), stats.dropped[metricsDropUnmapped].Load(), "noise, redis_version")
	assert.Equal(t, uint64(1), stats.dropped[metricsDropDuplicate].Load(), "connected_clients twice")

	_, err = (&TextRules{Prefix: "a-b"}).compile("text", "test")
	assert.ErrorContains(t, err, "metrics: text.prefix:")
	_, err = (&TextRules{Mappings: []TextMapping{{Match: "a", Name: "b", Type: Histogram}}}).compile("text", "test")
	assert.ErrorContains(t, err, "metrics: text.mappings[0].type:")
}
