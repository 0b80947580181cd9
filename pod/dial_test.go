package pod_test

import (
	"bufio"
	"context"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

func TestDialContext(t *testing.T) {
	server, env := helperCommand(t, "listen", "127.0.0.1:7072")
	p, _, cancel := startPod(t, "dial", pod.Spec{
		Hostname:   "inside",
		Containers: []pod.Container{{Name: "server", Command: server, Env: env}},
	})
	waitLogs(t, p, "server", 1)
	ctx := context.Background()

	greet := func(addr string) (string, net.Conn, error) {
		c, err := p.DialContext(ctx, "tcp", addr)
		if err != nil {
			return "", nil, err
		}
		defer c.Close()
		line, err := bufio.NewReader(c).ReadString('\n')
		return line, c, err
	}
	// More dials at once than the dialer keeps sockets for.
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			line, c, err := greet("127.0.0.1:7072")
			if assert.NoError(t, err) {
				assert.Equal(t, "hello from inside\n", line)
				assert.Equal(t, "127.0.0.1:7072", c.RemoteAddr().String())
				assert.IsType(t, &net.TCPConn{}, c)
			}
		})
	}
	wg.Wait()
	line, _, err := greet("localhost:7072") // a name: dialed by the dialer's thread
	require.NoError(t, err)
	assert.Equal(t, "hello from inside\n", line)

	_, err = p.DialContext(ctx, "tcp", "127.0.0.1:7073")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	var opErr *net.OpError
	assert.ErrorAs(t, err, &opErr, "as net.Dialer's errors")
	_, err = p.DialContext(ctx, "tcp", "[::1]:7072") // IPv6 loopback, where nothing listens
	assert.Error(t, err)

	cancel()
	_ = p.Wait()
	_, err = p.DialContext(ctx, "tcp", "127.0.0.1:7072")
	assert.ErrorIs(t, err, pod.ErrNotRunning)
}

func TestTCPProbeRefused(t *testing.T) {
	_, rec, _ := startPod(t, "tcp-refused", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"},
			ReadinessProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 7074}, Period: 50 * time.Millisecond}}},
	})
	ev := rec.until("unhealthy", isReason(pod.EventUnhealthy, "c"))
	assert.Contains(t, ev.Message, "Readiness probe failed")
	assert.Contains(t, ev.Message, "connection refused")
}
