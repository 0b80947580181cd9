package health_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
)

// healthPodClient is an HTTP client whose connections start inside the pod.
func healthPodClient(p *pod.Pod) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: p.DialContext, DisableKeepAlives: true}}
}

// healthHostClient is an HTTP client that keeps no connection open.
func healthHostClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

// healthReady reports whether the named container is ready.
func healthReady(p *pod.Pod, name string) bool {
	c, _ := p.Status().Container(name)
	return c.Ready
}

// healthRefusedAddr returns a local address that refuses connections
// until the end of the test: its port is bound to a socket that does not
// listen, so that no one else takes it meanwhile.
func healthRefusedAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// healthGet gets url and returns the status and body.
func healthGet(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// healthTryGet gets url and returns the body, or "" on any error.
func healthTryGet(client *http.Client, url string) string {
	resp, err := client.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// healthServe serves h (outside a pod) for the test, and returns the
// request function for its endpoints.
func healthServe(t *testing.T, h health.Adapter) func(path string) (int, string) {
	t.Helper()
	handler, err := h.Handler(t.Context())
	require.NoError(t, err)
	return func(path string) (int, string) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
}

// healthCheckOnce runs one check through /healthz/<name> and returns its
// failure's reason, or "" if it passed.
func healthCheckOnce(t *testing.T, c health.Check, timeout time.Duration) string {
	t.Helper()
	if c.Name == "" {
		c.Name = "check"
	}
	get := healthServe(t, health.Adapter{Listen: "127.0.0.1:0", Checks: []health.Check{c}, Timeout: timeout})
	code, body := get("/healthz/" + c.Name)
	if code == http.StatusOK {
		require.Equal(t, "ok", body)
		return ""
	}
	require.Equal(t, http.StatusInternalServerError, code, body)
	reason, ok := strings.CutPrefix(strings.TrimSuffix(body, "\n"), "internal server error: ")
	require.True(t, ok, body)
	require.NotEmpty(t, reason)
	return reason
}

// healthRedisServer starts redis-server on a free port with args, until the
// end of the test, and returns its address and a function that kills it.
func healthRedisServer(t *testing.T, args ...string) (addr string, kill func()) {
	t.Helper()
	testenv.RequireTool(t, "redis-server")
	addr = testenv.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	args = append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--dir", t.TempDir()}, args...)
	cmd := exec.Command("redis-server", args...)
	require.NoError(t, cmd.Start())
	var once sync.Once
	kill = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(kill)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "redis-server does not listen on %s", addr)
	return addr, kill
}
