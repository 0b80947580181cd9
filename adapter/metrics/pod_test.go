package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/pod/podtest"
)

// metricsPodApp is an in-process application of a pod: it serves JSON
// and text on the pod's 127.0.0.1:8080, and sends a StatsD counter and
// timer to the pod's 127.0.0.1:8125 every 20ms.
func metricsPodApp(sent *atomic.Int64) pod.Container {
	return pod.Container{Name: "app", Func: func(ctx context.Context) error {
		self, _ := pod.FromContext(ctx)
		ln, err := self.Pod.Listen(ctx, "tcp", "127.0.0.1:8080")
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"requests": 1234, "latency_ms": 12.5, "queues": {"mail": 3, "sms": 0}}`)
		})
		mux.HandleFunc("/vars", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "connections 7\nbytes.sent=1024\n")
		})
		srv := &http.Server{Handler: mux}
		served := make(chan struct{})
		go func() {
			defer close(served)
			_ = srv.Serve(ln)
		}()
		defer func() {
			srv.Close()
			<-served
		}()
		conn, err := self.Pod.DialContext(ctx, "udp", "127.0.0.1:8125")
		if err != nil {
			return err
		}
		defer conn.Close()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := conn.Write([]byte("app.logins:1|c|#method:password\napp.render:15|ms")); err == nil {
				sent.Add(1)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	}}
}

// The adapter in a real pod: it reaches the application's JSON and text
// endpoints and StatsD packets inside the pod's network namespace, runs a
// command in a process container with Exec, and serves /metrics on the
// host.
func TestMetricsInPod(t *testing.T) {
	testenv.RequireRoot(t)
	listen := testenv.FreeAddr(t)
	adapter, err := Adapter{
		Listen:        listen,
		ScrapeTimeout: 2 * time.Second,
		Sources: []Source{
			{Name: "app", JSON: &JSONSource{Address: "127.0.0.1:8080", Path: "/stats", Mappings: []JSONMapping{
				{Path: "requests", Name: "app_requests", Type: Counter, Help: "Requests served."},
				{Path: "latency_ms", Name: "app_latency", Unit: "ms"},
				{Path: "queues.*", Name: "app_queue_depth", Labels: map[string]string{"queue": "$1"}},
			}}},
			{Name: "vars", Text: &TextSource{Address: "127.0.0.1:8080", Path: "/vars", TextRules: TextRules{Prefix: "app_"}}},
			{Name: "statsd", StatsD: &StatsDSource{Listen: "127.0.0.1:8125", Mappings: []StatsDMapping{
				{Match: "app.*", Name: "app_$1"}}}},
			{Name: "worker", Command: &CommandSource{Container: "worker", Command: []string{"sh", "-c", "echo requests 42"},
				TextRules: TextRules{Prefix: "worker_"}}},
			// Exec cannot run in an in-process container: a source that
			// fails at every scrape.
			{Name: "broken", Command: &CommandSource{Container: "app", Command: []string{"true"}}},
		},
	}.Container("metrics")
	require.NoError(t, err)
	var sent atomic.Int64
	p := podtest.Start(t, "metrics-adapter", pod.Spec{
		InitContainers: []pod.Container{adapter},
		Containers: []pod.Container{
			metricsPodApp(&sent),
			{Name: "worker", Command: []string{"sleep", "1000"}},
		},
	})

	// The application listens in the pod only.
	_, err = (&net.Dialer{Timeout: time.Second}).Dial("tcp", "127.0.0.1:8080")
	if err == nil {
		t.Log("something else listens on the host's 127.0.0.1:8080")
	}
	url := "http://" + listen + "/metrics"
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var got map[string]float64
	require.Eventually(t, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		text, _ := metricsScrape(t, client, url, metricsAcceptText)
		got = metricsParseText(t, text)
		c, _ := p.Status().Container("worker")
		return got[`app_logins_total{method="password"}`] >= 3 && c.State.Running != nil &&
			got[`podkit_adapter_source_up{source="worker"}`] == 1
	}, 20*time.Second, 50*time.Millisecond, "metrics: %v", got)

	text, contentType := metricsScrape(t, client, url, metricsAcceptText)
	assert.Contains(t, contentType, "text/plain; version=0.0.4")
	got = metricsParseText(t, text)
	for series, want := range map[string]float64{
		`app_requests_total`:                                 1234,
		`app_latency_seconds`:                                0.0125,
		`app_queue_depth{queue="mail"}`:                      3,
		`app_connections`:                                    7,
		`app_bytes_sent`:                                     1024,
		`worker_requests`:                                    42,
		`podkit_adapter_source_up{source="app"}`:             1,
		`podkit_adapter_source_up{source="vars"}`:            1,
		`podkit_adapter_source_up{source="statsd"}`:          1,
		`podkit_adapter_source_up{source="worker"}`:          1,
		`podkit_adapter_source_up{source="broken"}`:          0,
		`podkit_adapter_parse_errors_total{source="statsd"}`: 0,
	} {
		assert.Equal(t, want, got[series], series)
	}
	logins := got[`app_logins_total{method="password"}`]
	assert.GreaterOrEqual(t, logins, 3.0)
	assert.LessOrEqual(t, logins, float64(sent.Load()))
	assert.Equal(t, logins, got[`app_render_seconds`], "one timer per counter: the histogram's count")
	assert.Contains(t, text, `app_render_seconds_bucket{le="0.025"}`)

	om, contentType := metricsScrape(t, client, url, metricsAcceptOpenMetrics)
	assert.Contains(t, contentType, "application/openmetrics-text; version=1.0.0")
	assert.Contains(t, om, "# UNIT app_render_seconds seconds\n")
	assert.Contains(t, om, "# TYPE app_logins counter\n")
	assert.Regexp(t, "# EOF\n$", om)

	t.Run("promtool", func(t *testing.T) { metricsPromtool(t, text) })
}
