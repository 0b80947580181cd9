package ambassador_test

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/pod"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// podClient is an HTTP client whose connections start inside the pod.
func podClient(p *pod.Pod) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return p.DialContext(ctx, network, addr)
		},
		DisableKeepAlives: true,
	}}
}

// waitReady waits until the named container is ready.
func waitReady(t *testing.T, p *pod.Pod, name string) {
	t.Helper()
	require.Eventually(t, func() bool {
		c, _ := p.Status().Container(name)
		return c.Ready
	}, 20e9, 10e6, "container %s is not ready", name)
}
