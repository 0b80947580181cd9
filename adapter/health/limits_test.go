package health_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/internal/httpserve/httpservetest"
)

// healthRunLimited runs an adapter with one passing TCP check and set
// applied, outside a pod, until the test ends, and returns its address
// once it listens.
func healthRunLimited(t *testing.T, set func(*health.Adapter)) string {
	t.Helper()
	target, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { target.Close() })
	h := health.Adapter{Listen: healthFreeAddr(t),
		Checks: []health.Check{{Name: "up", TCP: &health.TCP{Address: target.Addr().String()}}}}
	set(&h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", h.Listen)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
	return h.Listen
}

func TestHealthMaxConns(t *testing.T) {
	addr := healthRunLimited(t, func(h *health.Adapter) { h.MaxConns = 3 })
	httpservetest.MaxConns(t, addr, "/readyz", 3)
}

func TestHealthIdleTimeout(t *testing.T) {
	addr := healthRunLimited(t, func(h *health.Adapter) { h.IdleTimeout = 200 * time.Millisecond })
	httpservetest.IdleTimeout(t, addr, "/readyz", 200*time.Millisecond)
}

func TestHealthHeaderTimeout(t *testing.T) {
	addr := healthRunLimited(t, func(h *health.Adapter) { h.ReadHeaderTimeout = 300 * time.Millisecond })
	httpservetest.HeaderTimeout(t, addr, "/readyz", 300*time.Millisecond)
}
