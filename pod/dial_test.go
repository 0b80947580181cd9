package pod_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/testenv"
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
	line, _, err := greet("localhost:7072") // a name: resolved, then dialed inside
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

// With Debian's /etc/hosts, where localhost is ::1 as well as 127.0.0.1,
// a name is dialled as net.Dialer dials it: each address in turn, inside
// the pod, so "localhost" reaches servers bound to 127.0.0.1 only and to
// ::1 only, and so do HTTP probes naming it. The hosts file is bind-mounted
// over /etc/hosts in a private mount namespace of a child test process;
// the host's file is never changed.
func TestDialNameTriesEveryAddress(t *testing.T) {
	if os.Getenv("PODKIT_TEST_DUAL_STACK_HOSTS") == "" {
		requireRoot(t)
		testenv.RequireTool(t, "unshare")
		hosts := filepath.Join(t.TempDir(), "hosts")
		require.NoError(t, os.WriteFile(hosts, []byte("::1 localhost ip6-localhost ip6-loopback\n127.0.0.1 localhost\n"), 0o644))
		cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount --bind "$1" /etc/hosts && exec "$2" -test.run '^TestDialNameTriesEveryAddress$' -test.count=1 -test.v`,
			"sh", hosts, os.Args[0])
		cmd.Env = append(os.Environ(), "PODKIT_TEST_DUAL_STACK_HOSTS=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "--- PASS: TestDialNameTriesEveryAddress", "%s", out)
		return
	}
	ctx := context.Background()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", "localhost")
	require.NoError(t, err)
	require.Equal(t, "::1", ips[0].String(), "the hosts file lists ::1 first")

	v4, env4 := helperCommand(t, "listen", "127.0.0.1:7075")
	v6, env6 := helperCommand(t, "listen", "[::1]:7076")
	web, envWeb := helperCommand(t, "http", "127.0.0.1:7077", "200")
	probe := &pod.Probe{HTTPGet: &pod.HTTPGetAction{Host: "localhost", Port: 7077}, Period: 20 * time.Millisecond}
	p, rec, _ := startPod(t, "dual-stack", pod.Spec{
		Hostname: "inside",
		Containers: []pod.Container{
			{Name: "v4", Command: v4, Env: env4},
			{Name: "v6", Command: v6, Env: env6},
			{Name: "web", Command: web, Env: envWeb, ReadinessProbe: probe},
		},
	})
	waitLogs(t, p, "v4", 1)
	waitLogs(t, p, "v6", 1)
	for _, port := range []string{"7075", "7076"} {
		c, err := p.DialContext(ctx, "tcp", "localhost:"+port)
		require.NoError(t, err, port)
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		require.NoError(t, err)
		assert.Equal(t, "hello from inside\n", line, port)
	}
	// The error is that of the first address, as net.Dialer's.
	_, err = p.DialContext(ctx, "tcp", "localhost:7078")
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.Contains(t, err.Error(), "[::1]:7078")
	rec.until("web ready", isReason(pod.EventReady, "web"))
}
