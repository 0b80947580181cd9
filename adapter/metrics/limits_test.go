package metrics

import (
	"slices"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/httpserve/httpservetest"
	"github.com/podkit/podkit/internal/testenv"
)

// runLimited runs the test configuration with set applied, on a free
// port, until the test ends, and returns its address once it listens.
func runLimited(t *testing.T, set func(*Adapter)) string {
	t.Helper()
	app := metricsApp(t)
	m := metricsTestConfig(app.Listener.Addr().String())
	// The limits concern connections, not sources: without the slow
	// source a scrape answers at once.
	m.Sources = slices.DeleteFunc(m.Sources, func(s Source) bool { return s.Name == "slow" })
	m.Listen = testenv.FreeAddr(t)
	set(&m)
	testenv.Run(t, m.Run)
	testenv.WaitListening(t, m.Listen)
	return m.Listen
}

func TestMetricsMaxConns(t *testing.T) {
	addr := runLimited(t, func(m *Adapter) { m.MaxConns = 3 })
	httpservetest.MaxConns(t, addr, "/metrics", 3)
}

func TestMetricsIdleTimeout(t *testing.T) {
	addr := runLimited(t, func(m *Adapter) { m.IdleTimeout = 200 * time.Millisecond })
	httpservetest.IdleTimeout(t, addr, "/metrics", 200*time.Millisecond)
}

func TestMetricsHeaderTimeout(t *testing.T) {
	addr := runLimited(t, func(m *Adapter) { m.ReadHeaderTimeout = 300 * time.Millisecond })
	httpservetest.HeaderTimeout(t, addr, "/metrics", 300*time.Millisecond)
}
