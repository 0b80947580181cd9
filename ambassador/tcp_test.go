package ambassador_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/ambassador"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/pod/podtest"
)

// upstream is a server on the host's loopback that greets each connection
// with its name, then echoes what it reads until EOF, then says "bye".
type upstream struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup
}

func newUpstream(t *testing.T, name string, cfg *tls.Config) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	u := &upstream{name: name, ln: ln}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				defer c.Close()
				fmt.Fprintf(c, "%s\n", name)
				_, _ = io.Copy(c, c)
				fmt.Fprint(c, "bye\n")
			}()
		}
	}()
	t.Cleanup(u.close)
	return u
}

func (u *upstream) addr() string { return u.ln.Addr().String() }

func (u *upstream) close() {
	u.ln.Close()
	u.wg.Wait()
}

// greeting connects through the pod to addr and returns the first line.
func greeting(t *testing.T, p *pod.Pod, addr string) string {
	t.Helper()
	c, err := p.DialContext(context.Background(), "tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSpace(line)
}

func TestTCPAmbassadorIsThePodsWayOut(t *testing.T) {
	a, b := newUpstream(t, "a", nil), newUpstream(t, "b", nil)
	reg := prometheus.NewRegistry()
	amb, err := ambassador.TCP{
		Listen:     "127.0.0.1:6379",
		Upstreams:  []ambassador.Upstream{{Addr: a.addr(), Weight: 3}, {Addr: b.addr(), Weight: 1}},
		Registerer: reg,
	}.Container("redis-ambassador")
	require.NoError(t, err)
	_, bPort, _ := net.SplitHostPort(b.addr())
	p := podtest.Start(t, "tcp-ambassador", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		InitContainers: []pod.Container{amb},
		Containers: []pod.Container{
			// A process in the pod talks to "its Redis" on localhost...
			{Name: "app", Command: []string{"sh", "-c", "echo ping | busybox nc 127.0.0.1 6379"}},
			// ... and cannot reach the upstream directly.
			{Name: "direct", Command: []string{"sh", "-c", "echo ping | busybox nc -w 1 127.0.0.1 " + bPort}},
		},
	})
	err = p.Wait()
	require.Error(t, err, "a container reached an upstream without the ambassador")
	app, _ := p.Status().Container("app")
	assert.Equal(t, 0, app.State.Terminated.ExitCode)
	logs, err := p.Logs("app", pod.LogOptions{})
	require.NoError(t, err)
	var lines []string
	for _, e := range logs {
		lines = append(lines, e.Text)
	}
	assert.Equal(t, []string{"a", "ping", "bye"}, lines, "the first connection goes to the heavier upstream, both ways, with half-close")
	direct, _ := p.Status().Container("direct")
	assert.NotEqual(t, 0, direct.State.Terminated.ExitCode)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	assert.Empty(t, mfs, "the stopped ambassador left its metrics registered")
}

func TestTCPAmbassadorBalancesAndFailsOver(t *testing.T) {
	a, b := newUpstream(t, "a", nil), newUpstream(t, "b", nil)
	reg := prometheus.NewRegistry()
	amb, err := ambassador.TCP{
		Listen:     "127.0.0.1:7000",
		Upstreams:  []ambassador.Upstream{{Addr: a.addr(), Weight: 3}, {Addr: b.addr()}},
		Registerer: reg,
	}.Container("ambassador")
	require.NoError(t, err)
	p := podtest.Start(t, "tcp-failover", pod.Spec{
		InitContainers: []pod.Container{amb},
		Containers:     []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	waitReady(t, p, "ambassador")

	var got []string
	for range 8 {
		got = append(got, greeting(t, p, "127.0.0.1:7000"))
	}
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	assert.Equal(t, map[string]int{"a": 6, "b": 2}, count, "weights 3:1 over %v", got)

	a.close() // one upstream dies: every connection goes to the other
	for range 6 {
		assert.Equal(t, "b", greeting(t, p, "127.0.0.1:7000"))
	}
	// 14 connections, and the startup probe's.
	assert.Equal(t, 15.0, counterValue(t, reg, "podkit_proxy_connections_total", map[string]string{"ambassador": "ambassador"}))
	assert.GreaterOrEqual(t, counterValue(t, reg, "podkit_proxy_upstream_connect_errors_total", map[string]string{"upstream": a.addr()}), 1.0)
}

func TestTCPAmbassadorTLSBothWays(t *testing.T) {
	upstreamPKI := newPKI(t, "db.example")
	up := newUpstream(t, "secure", upstreamPKI.serverTLS)
	frontPKI := newPKI(t, "localhost")
	amb, err := ambassador.TCP{
		Listen:    "127.0.0.1:8443",
		Upstreams: []ambassador.Upstream{{Addr: up.addr()}},
		// Plaintext would do for the app; TLS from the clients is
		// terminated, and TLS to the upstream originated.
		ListenTLS: &ambassador.ServerTLS{CertFile: frontPKI.certFile, KeyFile: frontPKI.keyFile},
		TLS:       &ambassador.ClientTLS{CAFile: upstreamPKI.caFile, ServerName: "db.example"},
	}.Container("tls")
	require.NoError(t, err)
	p := podtest.Start(t, "tcp-tls", pod.Spec{
		InitContainers: []pod.Container{amb},
		Containers:     []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	waitReady(t, p, "tls")
	raw, err := p.DialContext(context.Background(), "tcp", "127.0.0.1:8443")
	require.NoError(t, err)
	c := tls.Client(raw, &tls.Config{RootCAs: frontPKI.roots(t), ServerName: "localhost"})
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "secure\n", line)
	_, err = c.Write([]byte("over tls\n"))
	require.NoError(t, err)
	require.NoError(t, c.CloseWrite())
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "over tls\nbye\n", string(rest))

	// An ambassador that does not trust the upstream's CA connects to
	// nothing.
	bad, err := ambassador.TCP{Listen: "127.0.0.1:8444", Upstreams: []ambassador.Upstream{{Addr: up.addr()}},
		TLS: &ambassador.ClientTLS{ServerName: "db.example"}}.Container("untrusting")
	require.NoError(t, err)
	q := podtest.Start(t, "tcp-tls-bad", pod.Spec{
		InitContainers: []pod.Container{bad},
		Containers:     []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	waitReady(t, q, "untrusting")
	c2, err := q.DialContext(context.Background(), "tcp", "127.0.0.1:8444")
	require.NoError(t, err)
	defer c2.Close()
	require.NoError(t, c2.SetDeadline(time.Now().Add(10*time.Second)))
	data, _ := io.ReadAll(c2)
	assert.Empty(t, data)
}

func TestTCPAmbassadorGracefulStop(t *testing.T) {
	up := newUpstream(t, "slow", nil)
	amb, err := ambassador.TCP{Listen: "127.0.0.1:7001", Upstreams: []ambassador.Upstream{{Addr: up.addr()}}}.Container("ambassador")
	require.NoError(t, err)
	p, err := pod.New("tcp-graceful", pod.Spec{
		TerminationGracePeriod: new(10 * time.Second),
		InitContainers:         []pod.Container{amb},
		Containers:             []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, p.Start(ctx))
	defer func() {
		cancel()
		_ = p.Wait()
	}()
	waitReady(t, p, "ambassador")
	c, err := p.DialContext(context.Background(), "tcp", "127.0.0.1:7001")
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	r := bufio.NewReader(c)
	_, err = r.ReadString('\n')
	require.NoError(t, err)

	// The pod stops while a transfer is open: the ambassador stops after
	// the app, and lets the transfer finish.
	cancel()
	time.Sleep(200 * time.Millisecond)
	for i := range 5 {
		_, err := fmt.Fprintf(c, "part %d\n", i)
		require.NoError(t, err)
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "part 0\npart 1\npart 2\npart 3\npart 4\nbye\n", string(rest))
	require.ErrorIs(t, p.Wait(), context.Canceled)
	s, _ := p.Status().Container("ambassador")
	assert.Equal(t, 0, s.State.Terminated.ExitCode)
}

func TestTCPValidation(t *testing.T) {
	tests := []struct {
		t    ambassador.TCP
		want string
	}{
		{ambassador.TCP{Listen: "x"}, `ambassador: tcp: listen: "x"`},
		{ambassador.TCP{Listen: ":1"}, "ambassador: tcp: proxy: upstreams"},
		{ambassador.TCP{Listen: ":1", Upstreams: []ambassador.Upstream{{Addr: "nope"}}}, "upstreams[0].addr"},
		{ambassador.TCP{Listen: ":1", Upstreams: []ambassador.Upstream{{Addr: "a:1"}}, Balance: "fastest"}, "balance"},
		{ambassador.TCP{Listen: ":1", Upstreams: []ambassador.Upstream{{Addr: "a:1"}}, TLS: &ambassador.ClientTLS{CAFile: "/no/such"}}, "tls: caFile"},
		{ambassador.TCP{Listen: ":1", Upstreams: []ambassador.Upstream{{Addr: "a:1"}}, ListenTLS: &ambassador.ServerTLS{}}, "listenTLS: certFile and keyFile: required"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := tt.t.Container("a")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// Every Balance the package names is one the proxy runs.
func TestTCPBalances(t *testing.T) {
	for _, b := range []ambassador.Balance{"", ambassador.RoundRobin, ambassador.LeastConn, ambassador.RandomTwo, ambassador.Hash} {
		_, err := ambassador.TCP{Listen: ":1", Upstreams: []ambassador.Upstream{{Addr: "a:1"}}, Balance: b}.Container("a")
		assert.NoError(t, err, "balance %q", b)
	}
}

// Every field of the configuration types has a lowerCamelCase json tag
// (command-line flags derive from them); the hooks for the host (metrics,
// logger) have "-".
func TestConfigJSONTags(t *testing.T) {
	for _, v := range []any{ambassador.TCP{}, ambassador.HTTP{}, ambassador.Upstream{}, ambassador.HealthCheck{},
		ambassador.HTTPUpstream{}, ambassador.Route{}, ambassador.Mirror{}, ambassador.ClientTLS{}, ambassador.ServerTLS{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			assert.NotEmpty(t, name, "%s.%s", typ.Name(), f.Name)
			assert.Equal(t, strings.ToLower(name[:min(len(name), 1)]), name[:min(len(name), 1)], "%s.%s: %q", typ.Name(), f.Name, name)
		}
	}
}
