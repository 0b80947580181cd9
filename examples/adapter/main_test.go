package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/examples/internal/exampletest"
	"github.com/podkit/podkit/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// get GETs url until it answers 200 with a body containing want.
func get(t *testing.T, url, want string) string {
	t.Helper()
	var body string
	require.Eventually(t, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		body = string(data)
		return resp.StatusCode == http.StatusOK && strings.Contains(body, want)
	}, 10*time.Second, 50*time.Millisecond, "GET %s: %s", url, body)
	return body
}

func TestAdapters(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "promtool")
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer // written by run, read after it returns
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:19102", "127.0.0.1:18086", &out) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	// The adapters start before the app: wait until the app is read.
	metrics := get(t, "http://127.0.0.1:19102/metrics", `podkit_adapter_source_up{source="app"} 1`)
	assert.Contains(t, metrics, "# TYPE app_requests_total counter")
	assert.Contains(t, metrics, `app_queue_depth{queue="email"} 3`)
	assert.Contains(t, metrics, "app_uptime_seconds 1.234")
	assert.Contains(t, metrics, `podkit_adapter_source_up{source="app"} 1`)
	check := exec.Command("promtool", "check", "metrics")
	check.Stdin = strings.NewReader(metrics)
	msg, err := check.CombinedOutput()
	assert.NoError(t, err, "promtool check metrics:\n%s", msg)

	health := get(t, "http://127.0.0.1:18086/healthz?verbose", "healthz check passed")
	assert.Contains(t, health, "[+]app ok")
	assert.Contains(t, health, "[+]port ok")
	assert.Contains(t, health, "healthz check passed")
}

func TestManifest(t *testing.T) {
	exampletest.CheckManifest(t, ".")
}
