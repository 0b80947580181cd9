package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/memberconf"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetricsConfigErrors(t *testing.T) {
	jsonSrc := &JSONSource{Address: "127.0.0.1:8080", Mappings: []JSONMapping{{Path: "a", Name: "a"}}}
	for _, tc := range []struct {
		m    Adapter
		want string
	}{
		{Adapter{}, "listen: required"},
		{Adapter{Listen: "9102"}, `listen: "9102"`},
		{Adapter{Listen: ":9102", Path: "metrics"}, `path: "metrics" does not start with /`},
		{Adapter{Listen: ":9102"}, "sources: at least one is required"},
		{Adapter{Listen: ":9102", ScrapeTimeout: -1, Sources: []Source{{Name: "a", JSON: jsonSrc}}}, "scrapeTimeout: -1ns is negative"},
		{Adapter{Listen: ":9102", MaxSeries: -1, Sources: []Source{{Name: "a", JSON: jsonSrc}}}, "maxSeries: -1 is negative"},
		{Adapter{Listen: ":9102", MaxResponseBytes: -1, Sources: []Source{{Name: "a", JSON: jsonSrc}}}, "maxResponseBytes: -1 is negative"},
		{Adapter{Listen: ":9102", MaxHeaderBytes: -1, Sources: []Source{{Name: "a", JSON: jsonSrc}}}, "maxHeaderBytes: -1 is negative"},
		{Adapter{Listen: ":9102", Sources: []Source{{JSON: jsonSrc}}}, "sources[0].name: required"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "\xff", JSON: jsonSrc}}}, "sources[0].name: \"\\xff\" is not valid UTF-8"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", JSON: jsonSrc}, {Name: "a", JSON: jsonSrc}}}, `sources[1].name: "a" is not unique`},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a"}}}, "sources[0]: exactly one of json, statsd, text and command must be set (0 are)"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", JSON: jsonSrc,
			Text: &TextSource{Address: "127.0.0.1:1"}}}}, "sources[0]: exactly one of json, statsd, text and command must be set (2 are)"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", JSON: &JSONSource{}}}}, "sources[0].json.address: required"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", JSON: &JSONSource{Address: "x:1", Path: "stats"}}}}, "sources[0].json.path"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", JSON: &JSONSource{Address: "x:1"}}}}, "sources[0].json.mappings: at least one is required"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", JSON: &JSONSource{Address: "x:1",
			Mappings: []JSONMapping{{Path: "a..b", Name: "x"}}}}}}, "sources[0].json.mappings[0].path"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", JSON: &JSONSource{Address: "x:1",
			Mappings: []JSONMapping{{Path: "a", Name: "x.y"}}}}}}, "sources[0].json.mappings[0].name"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", JSON: &JSONSource{Address: "x:1",
			Mappings: []JSONMapping{{Path: "a", Name: "x", Unit: "Parsecs"}}}}}}, "sources[0].json.mappings[0].unit"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", JSON: &JSONSource{Address: "x:1",
			Mappings: []JSONMapping{{Path: "a", Name: "x", Labels: map[string]string{"l": "$1"}}}}}}}, "sources[0].json.mappings[0].labels"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", Command: &CommandSource{Command: []string{"true"}}}}}, "sources[0].command.container: required"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", Command: &CommandSource{Container: "c"}}}}, "sources[0].command.command: required"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", Text: &TextSource{Address: "x:1",
			TextRules: TextRules{Mappings: []TextMapping{{Match: "a"}}}}}}}, "sources[0].text.mappings[0].name: required"},
		{Adapter{Listen: ":9102", Sources: []Source{{Name: "a", StatsD: &StatsDSource{Listen: "x"}}}}, "sources[0].statsd.listen"},
	} {
		_, err := tc.m.Container("metrics")
		require.Error(t, err, tc.want)
		assert.Contains(t, err.Error(), "metrics: "+tc.want)
	}
	_, err := Adapter{Listen: ":9102", Sources: []Source{{Name: "a", JSON: jsonSrc}}}.Container("")
	assert.EqualError(t, err, "metrics: name: required")
}

// The container's export is the adapter's flags (package memberconf),
// which read back into the same adapter.
func TestMetricsExportArgs(t *testing.T) {
	m := Adapter{
		Listen: "127.0.0.1:9102", ScrapeTimeout: 2 * time.Second, MaxSeries: 500,
		Sources: []Source{
			{Name: "app", JSON: &JSONSource{Address: "127.0.0.1:8080", Path: "/stats", Mappings: []JSONMapping{
				{Path: "queues.*.depth", Name: "app_queue_depth", Labels: map[string]string{"queue": "$1"}, Unit: "bytes"}}}},
			{Name: "statsd", StatsD: &StatsDSource{Listen: "127.0.0.1:8125", TTL: time.Minute, Buckets: []float64{0.1, 1},
				Mappings: []StatsDMapping{{Match: "a.*", Name: "a_$1", MatchType: "counter"}}}},
			{Name: "vars", Text: &TextSource{Address: "127.0.0.1:8080", TextRules: TextRules{Prefix: "app_", DropUnmapped: true}}},
			{Name: "cmd", Command: &CommandSource{Container: "app", Command: []string{"sh", "-c", "echo a 1"}}},
		},
	}
	c, err := m.Container("metrics")
	require.NoError(t, err)
	assert.Equal(t, []string{"adapter", "metrics"}, c.ExportArgs[:2])
	assert.Contains(t, c.ExportArgs, "--scrape-timeout=2s")
	assert.Contains(t, strings.Join(c.ExportArgs, " "), `"ttl":"1m0s"`)

	var back Adapter
	require.NoError(t, memberconf.Parse("metrics", c.ExportArgs[2:], &back))
	assert.Equal(t, m, back)
	c2, err := back.Container("metrics")
	require.NoError(t, err)
	assert.Equal(t, c.ExportArgs, c2.ExportArgs)
	assert.NotNil(t, c.StartupProbe)

	// Parse reads the same form, and checks it.
	doc, err := memberconf.Encode(m)
	require.NoError(t, err)
	parsed, err := Parse(doc)
	require.NoError(t, err)
	assert.Equal(t, m, parsed)
	for _, tc := range []struct{ config, err string }{
		{`{"listen":":1","sauces":[]}`, `metrics: config: sauces: unknown field`},
		{`{"listen":":1","scrapeTimeout":"soon","sources":[]}`, `metrics: config: scrapeTimeout: "soon": not a duration (such as 500ms, 10s or 1m30s)`},
		{`{"listen":":1","scrapeTimeout":true,"sources":[]}`,
			`metrics: config: scrapeTimeout: want a duration such as "10s", got true`},
		{`{"listen":"9102","sources":[]}`, `metrics: listen: "9102": address 9102: missing port in address`},
		{`{"listen":":1","sources":[]}`, `metrics: sources: at least one is required`},
		{`{"listen":":1","sources":[{"name":"a","statsd":{"listen":":1"}}]} {}`, `metrics: config: document: after the document: yaml: did not find expected <document start>`},
	} {
		_, err := Parse([]byte(tc.config))
		assert.EqualError(t, err, tc.err, tc.config)
	}
}

// metricsApp is an application with a JSON and a text endpoint, and a
// slow and a broken one.
func metricsApp(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"requests": 1234, "latency_ms": 12.5, "queues": {"mail": 3, "sms": 0},
			"heap": {"used_kib": 2048}, "up": true, "comment": "not a number"}`)
	})
	mux.HandleFunc("/vars", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# app vars\nconnections 7\nbytes.sent=1024\nrequestsInFlight: 2\nnot a metric line\n")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	})
	mux.HandleFunc("/malformed", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"requests": 12, "oops"`)
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		line := strings.Repeat("x", 1<<20) + " 1\n"
		for range 5 {
			fmt.Fprint(w, line)
		}
	})
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("\x00\xff\xfe garbage\n" + strings.Repeat("y", 200<<10) + " 5\nok 1\n\xc3\x28 2\n"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// metricsTestConfig is an adapter of every kind of source, reaching app
// where the test runs.
func metricsTestConfig(app string) Adapter {
	return Adapter{
		// Long enough for the command source's shell on a slow machine;
		// the slow source takes all of it.
		ScrapeTimeout: 3 * time.Second,
		Sources: []Source{
			{Name: "json", JSON: &JSONSource{Address: app, Path: "/stats", Mappings: []JSONMapping{
				{Path: "requests", Name: "app_requests", Type: Counter, Help: "Requests served."},
				{Path: "latency_ms", Name: "app_latency", Unit: "ms", Help: "The last request's latency."},
				{Path: "queues.*", Name: "app_queue_depth", Labels: map[string]string{"queue": "$1"}},
				{Path: "heap.used_kib", Name: "app_heap_used", Unit: "KiB"},
				{Path: "up", Name: "app_healthy"},
				{Path: "comment", Name: "app_comment"},
			}}},
			{Name: "text", Text: &TextSource{Address: app, Path: "/vars", TextRules: TextRules{Prefix: "app_"}}},
			{Name: "command", Command: &CommandSource{Container: "app", Command: []string{"sh", "-c", "echo jobs_done 42; echo 'queue.length=3'"},
				TextRules: TextRules{Prefix: "worker_", Mappings: []TextMapping{{Match: "jobs_done", Name: "worker_jobs", Type: Counter}}}}},
			{Name: "statsd", StatsD: &StatsDSource{Listen: "127.0.0.1:0", Mappings: []StatsDMapping{
				{Match: "api.*.latency", Name: "api_request_duration", Labels: map[string]string{"endpoint": "$1"},
					Buckets: []float64{0.01, 0.1, 1}}}}},
			{Name: "slow", JSON: &JSONSource{Address: app, Path: "/slow", Mappings: []JSONMapping{{Path: "x", Name: "x"}}}},
			{Name: "malformed", JSON: &JSONSource{Address: app, Path: "/malformed", Mappings: []JSONMapping{{Path: "requests", Name: "y"}}}},
			{Name: "huge", Text: &TextSource{Address: app, Path: "/huge"}},
			{Name: "garbage", Text: &TextSource{Address: app, Path: "/garbage", TextRules: TextRules{Prefix: "garbage_"}}},
			{Name: "down", JSON: &JSONSource{Address: "127.0.0.1:1", Mappings: []JSONMapping{{Path: "x", Name: "z"}}}},
		},
	}
}

// Every kind of source, outside a pod: the values, the naming rules, the
// failed sources as 0, and both formats.
func TestMetricsAdapter(t *testing.T) {
	app := metricsApp(t)
	h, err := metricsTestConfig(app.Listener.Addr().String()).start(context.Background())
	require.NoError(t, err)
	defer h.Close()

	statsd, err := net.Dial("udp", h.statsd[0].conn.LocalAddr().String())
	require.NoError(t, err)
	defer statsd.Close()
	_, err = statsd.Write([]byte("api.users.latency:50|ms\napi.users.latency:500|ms\nlogins:3|c|#method:password\nbroken line"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return h.statsd[0].packets.Load() == 1 }, 5*time.Second, 5*time.Millisecond)

	srv := httptest.NewServer(h)
	defer srv.Close()
	start := time.Now()
	text, contentType := metricsScrape(t, srv.Client(), srv.URL, metricsAcceptText)
	assert.Less(t, time.Since(start), 30*time.Second, "the slow source (a minute) is bounded by the scrape timeout")
	assert.Contains(t, contentType, "text/plain; version=0.0.4")
	got := metricsParseText(t, text)

	for series, want := range map[string]float64{
		`app_requests_total`:                                                     1234,
		`app_latency_seconds`:                                                    0.0125,
		`app_queue_depth{queue="mail"}`:                                          3,
		`app_queue_depth{queue="sms"}`:                                           0,
		`app_heap_used_bytes`:                                                    2 << 20,
		`app_healthy`:                                                            1,
		`app_connections`:                                                        7,
		`app_bytes_sent`:                                                         1024,
		`app_requests_in_flight`:                                                 2,
		`worker_jobs_total`:                                                      42,
		`worker_queue_length`:                                                    3,
		`api_request_duration_seconds{endpoint="users"}`:                         2,
		`logins_total{method="password"}`:                                        3,
		`garbage_ok`:                                                             1,
		`podkit_adapter_source_up{source="json"}`:                                1,
		`podkit_adapter_source_up{source="text"}`:                                1,
		`podkit_adapter_source_up{source="command"}`:                             1,
		`podkit_adapter_source_up{source="statsd"}`:                              1,
		`podkit_adapter_source_up{source="garbage"}`:                             1,
		`podkit_adapter_source_up{source="slow"}`:                                0,
		`podkit_adapter_source_up{source="malformed"}`:                           0,
		`podkit_adapter_source_up{source="huge"}`:                                0,
		`podkit_adapter_source_up{source="down"}`:                                0,
		`podkit_adapter_parse_errors_total{source="json"}`:                       1, // comment
		`podkit_adapter_parse_errors_total{source="text"}`:                       1,
		`podkit_adapter_parse_errors_total{source="statsd"}`:                     1,
		`podkit_adapter_parse_errors_total{source="malformed"}`:                  1,
		`podkit_adapter_parse_errors_total{source="huge"}`:                       1,
		`podkit_adapter_parse_errors_total{source="garbage"}`:                    2,
		`podkit_adapter_dropped_series_total{reason="invalid",source="garbage"}`: 1,
		`podkit_adapter_parse_errors_total{source="down"}`:                       0,
		`podkit_adapter_statsd_packets_total{source="statsd"}`:                   1,
		`podkit_adapter_statsd_samples_total{source="statsd"}`:                   3,
		`podkit_adapter_series{source="json"}`:                                   6,
		`podkit_adapter_dropped_series_total{reason="limit",source="json"}`:      0,
	} {
		assert.Equal(t, want, got[series], series)
	}
	assert.NotContains(t, got, "y")
	assert.NotContains(t, text, "app_comment")
	assert.Contains(t, text, "# HELP app_requests_total Requests served.\n# TYPE app_requests_total counter\n")
	assert.Contains(t, text, `api_request_duration_seconds_bucket{endpoint="users",le="0.1"} 1`)

	om, contentType := metricsScrape(t, srv.Client(), srv.URL, metricsAcceptOpenMetrics)
	assert.Contains(t, contentType, "application/openmetrics-text; version=1.0.0")
	assert.True(t, strings.HasSuffix(om, "# EOF\n"))
	assert.Contains(t, om, "# TYPE app_requests counter\n")
	assert.Contains(t, om, "\napp_requests_total 1234.0\n")
	assert.Contains(t, om, "# UNIT app_latency_seconds seconds\n")
	assert.Contains(t, om, "# UNIT api_request_duration_seconds seconds\n")

	t.Run("promtool", func(t *testing.T) { metricsPromtool(t, text) })

	require.NoError(t, h.Close())
	require.NoError(t, h.Close(), "again")
	// A closed adapter answers, with every scrape-time source down.
	got = metricsParseText(t, func() string { s, _ := metricsScrape(t, srv.Client(), srv.URL, metricsAcceptText); return s }())
	assert.Equal(t, 0.0, got[`podkit_adapter_source_up{source="json"}`])
}

// A scrape-time source is read at each scrape, and no more.
func TestMetricsScrapeTime(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"n": %d}`, hits.Add(1))
	}))
	defer srv.Close()
	h, err := Adapter{Sources: []Source{{Name: "app", JSON: &JSONSource{Address: srv.Listener.Addr().String(),
		Mappings: []JSONMapping{{Path: "n", Name: "hits"}}}}}}.start(context.Background())
	require.NoError(t, err)
	defer h.Close()
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, int64(0), hits.Load(), "no background polling")
	for i := 1; i <= 3; i++ {
		mfs, err := h.Gather()
		require.NoError(t, err)
		assert.Equal(t, float64(i), metricsFamilies(mfs)["hits"])
	}
}

// Label values with quotes, backslashes, newlines and UTF-8 are escaped
// per format; the cap holds across a flood of series.
func TestMetricsEscapingAndCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{"weird": map[string]any{"a\"b\\c\nd": 1, "é ü": 2}}
		users := map[string]any{}
		for i := range 5000 {
			users[fmt.Sprintf("user%04d", i)] = i
		}
		doc["users"] = users
		json.NewEncoder(w).Encode(doc)
	}))
	defer srv.Close()
	h, err := Adapter{MaxSeries: 100, Sources: []Source{{Name: "app", JSON: &JSONSource{Address: srv.Listener.Addr().String(),
		Mappings: []JSONMapping{
			{Path: "weird.*", Name: "weird", Labels: map[string]string{"key": "$1"}},
			{Path: "users.*", Name: "user_value", Labels: map[string]string{"user": "$1"}},
		}}}}}.start(context.Background())
	require.NoError(t, err)
	defer h.Close()
	web := httptest.NewServer(h)
	defer web.Close()
	text, _ := metricsScrape(t, web.Client(), web.URL, metricsAcceptText)
	assert.Contains(t, text, `weird{key="a\"b\\c\nd"} 1`)
	assert.Contains(t, text, `weird{key="é ü"} 2`)
	got := metricsParseText(t, text)
	assert.Equal(t, 100.0, got[`podkit_adapter_series{source="app"}`])
	assert.Equal(t, 4902.0, got[`podkit_adapter_dropped_series_total{reason="limit",source="app"}`])
	assert.Equal(t, 97.0, got[`user_value{user="user0097"}`], "the first series in key order are kept")
	assert.NotContains(t, got, `user_value{user="user0098"}`)
	t.Run("promtool", func(t *testing.T) { metricsPromtool(t, text) })
}

// Run serves on Listen until its context is done, and leaves nothing
// behind.
func TestMetricsRun(t *testing.T) {
	app := metricsApp(t)
	m := metricsTestConfig(app.Listener.Addr().String())
	m.Listen = testenv.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var text string
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + m.Listen + "/metrics")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)
	text, _ = metricsScrape(t, http.DefaultClient, "http://"+m.Listen+"/metrics", metricsAcceptText)
	assert.Contains(t, text, "app_requests_total 1234")
	resp, err := http.Get("http://" + m.Listen + "/other")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// A second adapter on the same address fails at once.
	err = m.Run(context.Background())
	assert.ErrorContains(t, err, "metrics: ")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	http.DefaultClient.CloseIdleConnections()
	_, err = net.Dial("tcp", m.Listen)
	assert.Error(t, err, "no longer listening")
}

// An adapter that scraped every kind of source leaves no file descriptor
// open once its Handler's context is done (goroutines are checked by
// TestMain).
func TestMetricsNoFDLeak(t *testing.T) {
	app := metricsApp(t)
	count := func() int {
		fds, err := os.ReadDir("/proc/self/fd")
		require.NoError(t, err)
		return len(fds)
	}
	before := count()
	ctx, cancel := context.WithCancel(context.Background())
	h, err := metricsTestConfig(app.Listener.Addr().String()).Handler(ctx)
	require.NoError(t, err)
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		require.Contains(t, rec.Body.String(), `podkit_adapter_source_up{source="json"} 1`)
	}
	// The end of Handler's context stops the adapter: its sources are
	// gone from later answers, and its sockets are closed.
	cancel()
	assert.Eventually(t, func() bool {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return !strings.Contains(rec.Body.String(), `podkit_adapter_source_up{source="json"} 1`)
	}, 5*time.Second, 10*time.Millisecond)
	app.CloseClientConnections()
	assert.Eventually(t, func() bool { return count() <= before }, 5*time.Second, 10*time.Millisecond,
		"%d file descriptors before, %d after", before, count())
}
