package metrics

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/httpserve/httpservetest"
)

// runLimited runs the test configuration with set applied, on a free
// port, until the test ends, and returns its address once it listens.
func runLimited(t *testing.T, set func(*Adapter)) string {
	t.Helper()
	app := metricsApp(t)
	m := metricsTestConfig(app.Listener.Addr().String())
	m.Listen = metricsFreePort(t)
	set(&m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", m.Listen)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
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
