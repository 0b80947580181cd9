package metrics

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetricsSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"requests":               "requests",
		"requestCount":           "request_count",
		"HTTPServerErrors":       "http_server_errors",
		"api.getUser.time":       "api_get_user_time",
		"a..b--c":                "a_b_c",
		"__reserved":             "reserved",
		"trailing.":              "trailing",
		"9lives":                 "_9lives",
		"db0:keys":               "db0_keys",
		"caf\xc3\xa9 latt\xe9":   "caf_latt",
		"\xff\xfe":               "",
		"...":                    "",
		"a1B":                    "a1_b",
		"ABC":                    "abc",
		strings.Repeat("a", 300): "",
	} {
		got := metricsSanitizeName(in)
		assert.Equal(t, want, got, "%q", in)
		if got != "" {
			assert.True(t, metricsValidName(got), got)
		}
	}
}

func TestMetricsFinalName(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  Type
		unit string
		want string
	}{
		{"requests", Counter, "", "requests_total"},
		{"requests_total", Counter, "", "requests_total"},
		{"cpu", Counter, "seconds", "cpu_seconds_total"},
		{"cpu_seconds_total", Counter, "seconds", "cpu_seconds_total"},
		{"latency", Histogram, "seconds", "latency_seconds"},
		{"heap_bytes", Gauge, "bytes", "heap_bytes"},
		{"queue", Gauge, "", "queue"},
	} {
		assert.Equal(t, tc.want, metricsFinalName(tc.name, tc.typ, tc.unit))
	}
}

func TestMetricsUnits(t *testing.T) {
	for in, want := range map[string]metricsUnit{
		"":        {factor: 1},
		"ms":      {"seconds", 1e-3},
		"KiB":     {"bytes", 1024},
		"percent": {"ratio", 0.01},
		"celsius": {"celsius", 1},
	} {
		got, err := metricsParseUnit(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"Celsius", "m/s", "two words"} {
		_, err := metricsParseUnit(bad)
		assert.Error(t, err, bad)
	}
}

func TestMetricsTemplate(t *testing.T) {
	tpl, err := metricsParseTemplate("a_$1_${2}x$$")
	require.NoError(t, err)
	assert.Equal(t, 2, tpl.max)
	assert.Equal(t, "a_one_twox$", tpl.expand([]string{"one", "two"}, nil))
	assert.Equal(t, "a_ONE_TWOx$", tpl.expand([]string{"one", "two"}, strings.ToUpper))
	for _, bad := range []string{"$", "$x", "${1", "${}", "$0", "${100}"} {
		_, err := metricsParseTemplate(bad)
		assert.Error(t, err, bad)
	}

	nt, err := metricsParseNameTemplate("app_$1", Counter, "seconds", 1)
	require.NoError(t, err)
	assert.Equal(t, "app_get_user_seconds_total", nt.expand([]string{"getUser"}))
	assert.Equal(t, "", nt.expand([]string{"..."}), "a capture with nothing valid")
	nt, err = metricsParseNameTemplate("$1", Gauge, "", 1)
	require.NoError(t, err)
	assert.Equal(t, "_1st", nt.expand([]string{"1st"}))
	assert.Equal(t, "", nt.expand([]string{"***"}), "nothing valid")

	for _, bad := range []struct {
		name string
		caps int
	}{{"app-x", 0}, {"$2", 1}, {"podkit_adapter_x", 0}, {"", 0}, {"1x", 0}} {
		_, err := metricsParseNameTemplate(bad.name, Gauge, "", bad.caps)
		assert.Error(t, err, bad.name)
	}
}

func TestMetricsGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		caps          []string
		ok            bool
	}{
		{"a.b.c", "a.b.c", nil, true},
		{"a.b.c", "a.b", nil, false},
		{"a.b", "a.b.c", nil, false},
		{"a.*.c", "a.users.c", []string{"users"}, true},
		{"a.*.c", "a..c", nil, false},
		{"*.*", "x.y", []string{"x", "y"}, true},
		{"db*_keys", "db0_keys", []string{"0"}, true},
		{"db*_keys", "db_keys", nil, false},
		{"*_*", "a_b_c", []string{"a", "b_c"}, true},
		{"x*y*z", "xAyBz", []string{"A", "B"}, true},
		{"x*y*z", "xyz", nil, false},
		{"*", "a.b", nil, false},
	} {
		g, err := metricsParseGlob(tc.pattern)
		require.NoError(t, err, tc.pattern)
		caps, ok := g.match(tc.name, nil)
		assert.Equal(t, tc.ok, ok, "%s ~ %s", tc.pattern, tc.name)
		if tc.ok {
			assert.Equal(t, tc.caps, caps, "%s ~ %s", tc.pattern, tc.name)
		}
	}
	for _, bad := range []string{"", "a..b", ".a", "a.**"} {
		_, err := metricsParseGlob(bad)
		assert.Error(t, err, bad)
	}
}

func TestMetricsNormalizeLabels(t *testing.T) {
	labels, ok := metricsNormalizeLabels([]metricsLabel{{"b", "1"}, {"a", "x"}, {"b", "2"}, {"le", "\xff"}}, Histogram)
	require.True(t, ok)
	assert.Equal(t, []metricsLabel{{"a", "x"}, {"b", "2"}, {"exported_le", "\uFFFD"}}, labels)
	_, ok = metricsNormalizeLabels([]metricsLabel{{"__name__", "x"}}, Gauge)
	assert.False(t, ok)
	_, ok = metricsNormalizeLabels([]metricsLabel{{"a", strings.Repeat("x", metricsMaxValueBytes+1)}}, Gauge)
	assert.False(t, ok)
}
