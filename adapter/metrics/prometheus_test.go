package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/testenv"
)

// A real Prometheus server scrapes the adapter every second (in
// OpenMetrics, which it asks for first) and serves its series back through
// its HTTP API.
func TestMetricsPrometheusScrapes(t *testing.T) {
	testenv.RequireTool(t, "prometheus")
	defer http.DefaultClient.CloseIdleConnections()
	app := metricsApp(t)
	m := metricsTestConfig(app.Listener.Addr().String())
	m.Listen = testenv.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 5s
  scrape_timeout: 5s
scrape_configs:
  - job_name: podkit
    static_configs:
      - targets: [%q]
`, m.Listen)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644))
	promAddr := testenv.FreeAddr(t)
	var logs bytes.Buffer
	prom := exec.Command("prometheus", "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr, "--log.level=warn")
	prom.Stdout, prom.Stderr = &logs, &logs
	prom.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, prom.Start())
	stopped := false
	defer func() {
		if !stopped {
			prom.Process.Kill()
			prom.Wait()
		}
	}()

	query := func(q string) (float64, bool) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var r struct {
			Status string `json:"status"`
			Data   struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || r.Status != "success" || len(r.Data.Result) != 1 {
			return 0, false
		}
		s, _ := r.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	require.Eventually(t, func() bool {
		v, ok := query(`app_requests_total`)
		return ok && v == 1234
	}, 60*time.Second, 200*time.Millisecond, "prometheus never got the series; its log:\n%s", &logs)

	for q, want := range map[string]float64{
		`up{job="podkit"}`:                        1,
		`app_latency_seconds`:                     0.0125,
		`app_queue_depth{queue="mail"}`:           3,
		`worker_jobs_total`:                       42,
		`podkit_adapter_source_up{source="json"}`: 1,
		`podkit_adapter_source_up{source="slow"}`: 0,
		`podkit_adapter_source_up{source="down"}`: 0,
	} {
		v, ok := query(q)
		assert.True(t, ok, q)
		assert.Equal(t, want, v, q)
	}
	// The scrape had every series, those of the failed sources' neighbours
	// included: as many samples as the text format has.
	text, _ := metricsScrape(t, http.DefaultClient, "http://"+m.Listen+"/metrics", metricsAcceptText)
	samples := 0
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			samples++
		}
	}
	v, ok := query(`scrape_samples_scraped{job="podkit"}`)
	assert.True(t, ok)
	assert.InDelta(t, samples, v, 2, "samples scraped by Prometheus")

	// Prometheus read OpenMetrics: only that format carries units.
	resp, err := http.Get("http://" + promAddr + "/api/v1/metadata?metric=app_latency_seconds")
	require.NoError(t, err)
	var metadata struct {
		Data map[string][]struct {
			Type string `json:"type"`
			Unit string `json:"unit"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&metadata))
	resp.Body.Close()
	require.NotEmpty(t, metadata.Data["app_latency_seconds"])
	assert.Equal(t, "gauge", metadata.Data["app_latency_seconds"][0].Type)
	assert.Equal(t, "seconds", metadata.Data["app_latency_seconds"][0].Unit)

	// The target's last scrape had no error.
	resp, err = http.Get("http://" + promAddr + "/api/v1/targets")
	require.NoError(t, err)
	var targets struct {
		Data struct {
			ActiveTargets []struct {
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&targets))
	resp.Body.Close()
	require.Len(t, targets.Data.ActiveTargets, 1)
	assert.Equal(t, "up", targets.Data.ActiveTargets[0].Health)
	assert.Empty(t, targets.Data.ActiveTargets[0].LastError)

	// Stop Prometheus cleanly.
	require.NoError(t, prom.Process.Signal(syscall.SIGTERM))
	waited := make(chan error, 1)
	go func() { waited <- prom.Wait() }()
	select {
	case err := <-waited:
		stopped = true
		require.NoError(t, err, "prometheus exit; its log:\n%s", &logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("prometheus did not stop; its log:\n%s", &logs)
	}
	_, err = net.Dial("tcp", promAddr)
	assert.Error(t, err, "prometheus no longer listens")
}
