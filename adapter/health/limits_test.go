package health_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/internal/httpserve/httpservetest"
	"github.com/podkit/podkit/internal/testenv"
)

// healthRunLimited runs an adapter with one passing TCP check and set
// applied, outside a pod, until the test ends, and returns its address
// once it listens.
func healthRunLimited(t *testing.T, set func(*health.Adapter)) string {
	t.Helper()
	target, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { target.Close() })
	h := health.Adapter{Listen: testenv.FreeAddr(t),
		Checks: []health.Check{{Name: "up", TCP: &health.TCP{Address: target.Addr().String()}}}}
	set(&h)
	testenv.Run(t, h.Run)
	testenv.WaitListening(t, h.Listen)
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
