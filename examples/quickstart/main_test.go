package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/pod/podtest"
	"github.com/podkit/podkit/podapi"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func get(t *testing.T, url, want string) {
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
	}, 15*time.Second, 50*time.Millisecond, "GET %s: %q", url, body)
}

func TestQuickstart(t *testing.T) {
	testenv.RequireRoot(t)
	a := addrs{web: "127.0.0.1:18080", metrics: "127.0.0.1:19112", health: "127.0.0.1:18096"}
	runDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	out := &podtest.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, a, runDir, out) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()

	get(t, "http://"+a.web+"/", "hello from a podkit pod")
	get(t, "http://"+a.web+"/stock", "42 items in stock (from the backend, outside the pod)")
	get(t, "http://"+a.metrics+"/metrics", "web_requests_total 2")
	get(t, "http://"+a.health+"/healthz?verbose", "healthz check passed")

	require.Eventually(t, func() bool { return strings.Contains(out.String(), "The pod is ready. Try:") },
		15*time.Second, 20*time.Millisecond, "no hints printed")

	// The podkit command's API answers for the pod.
	c := podapi.NewClient(runDir, "quickstart")
	defer c.Close()
	st, err := c.Status(context.Background())
	require.NoError(t, err)
	assert.Equal(t, pod.PhaseRunning, st.Status.Phase)

	cancel()
	require.NoError(t, <-done)
	stopped = true
	got := out.String()
	assert.Contains(t, got, "setup       | writing the app's configuration")
	assert.Contains(t, got, "log-shipper | ")
	assert.Contains(t, got, "GET /stock")
	assert.NotContains(t, got, "SIGKILL", "a member did not stop gracefully")
	assert.Contains(t, got, "pod quickstart finished")
}
