package proxy

import (
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestUpstreamDownAtStart(t *testing.T) {
	checkFDs(t)
	dead := deadAddr(t)
	live := newServer(t, echo)
	clk := clocktesting.NewFakeClock(time.Unix(1e9, 0))
	p, addr := startProxy(t, Config{
		Upstreams: []Upstream{{Addr: dead}, {Addr: live.Addr()}},
		Clock:     clk,
	})

	// Every connection succeeds: a refused connect is retried on the live
	// upstream, until the dead one is ejected and skipped.
	for range 10 {
		roundTrip(t, dial(t, addr), "x")
	}
	d := upstreamStats(p, dead)
	require.EqualValues(t, 3, d.ConnectErrors, "EjectAfter defaults to 3")
	require.True(t, d.Ejected)
	require.EqualValues(t, 3, p.Stats().Retries)
	require.EqualValues(t, 10, live.accepted.Load())

	// After RetryTimeout the dead upstream is tried once more and, failing,
	// ejected again at once.
	clk.Step(30 * time.Second)
	require.False(t, upstreamStats(p, dead).Ejected)
	for range 2 {
		roundTrip(t, dial(t, addr), "x")
	}
	d = upstreamStats(p, dead)
	require.EqualValues(t, 4, d.ConnectErrors)
	require.True(t, d.Ejected)

	// Once it is back, the next try after RetryTimeout succeeds and clears
	// the ejection.
	ln, err := net.Listen("tcp", dead)
	require.NoError(t, err)
	revived := serveOn(t, ln, echo)
	clk.Step(30 * time.Second)
	for range 2 {
		roundTrip(t, dial(t, addr), "x")
	}
	require.EqualValues(t, 1, revived.accepted.Load())
	require.False(t, upstreamStats(p, dead).Ejected)
}

func TestAllUpstreamsDown(t *testing.T) {
	checkFDs(t)
	a, b := deadAddr(t), deadAddr(t)
	reg := prometheus.NewRegistry()
	p, addr := startProxy(t, Config{
		Upstreams:  []Upstream{{Addr: a}, {Addr: b}},
		Registerer: reg,
	})
	// Each connection tries both, fails, and is closed.
	for range 3 {
		expectClosed(t, dial(t, addr), 2*time.Second)
	}
	s := p.Stats()
	require.EqualValues(t, 3, s.Upstreams[0].ConnectErrors)
	require.EqualValues(t, 3, s.Upstreams[1].ConnectErrors)
	require.True(t, s.Upstreams[0].Ejected && s.Upstreams[1].Ejected)
	require.Zero(t, s.Rejected)

	// Now no upstream is available: new connections are closed at once and
	// counted as rejected, not queued and not dialled.
	start := time.Now()
	for range 2 {
		expectClosed(t, dial(t, addr), time.Second)
	}
	require.Less(t, time.Since(start), 500*time.Millisecond)
	s = p.Stats()
	require.EqualValues(t, 2, s.Rejected)
	require.EqualValues(t, 3, s.Upstreams[0].ConnectErrors)
	require.Equal(t, 2.0, testutil.ToFloat64(gaugeOf(t, reg, "podkit_proxy_rejected_connections_total", "reason", "no_upstream")))
	require.Equal(t, 0.0, testutil.ToFloat64(gaugeOf(t, reg, "podkit_proxy_upstream_up", "upstream", a)))
	require.Equal(t, 3.0, testutil.ToFloat64(gaugeOf(t, reg, "podkit_proxy_upstream_connect_errors_total", "upstream", b)))
	require.Equal(t, 3.0, testutil.ToFloat64(gaugeOf(t, reg, "podkit_proxy_retries_total", "", "")))
}

// gaugeOf extracts one sample of a gathered metric as a collector, for
// testutil.ToFloat64. An empty label matches the unlabelled metric.
func gaugeOf(t *testing.T, reg *prometheus.Registry, name, label, value string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				match = match || (lp.GetName() == label && lp.GetValue() == value)
			}
			if match {
				v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
				return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return v })
			}
		}
	}
	t.Fatalf("no sample %s{%s=%q}", name, label, value)
	return nil
}

// An upstream that resets mid-stream: the client gets the bytes sent
// before, then a reset (not a clean EOF that would pass a truncated reply
// for a complete one), and the connection is released.
func TestUpstreamResetMidStream(t *testing.T) {
	for _, path := range []string{"splice", "buffered"} {
		t.Run(path, func(t *testing.T) {
			checkFDs(t)
			up := newServer(t, func(_ *server, c net.Conn) {
				c.Write(make([]byte, 1000))
				var ack [1]byte
				io.ReadFull(c, ack[:])
				c.(*net.TCPConn).SetLinger(0)
				c.Close() // RST
			})
			cfg := Config{Upstreams: []Upstream{{Addr: up.Addr()}}}
			if path == "buffered" {
				cfg.Dial = opaqueDial
			}
			p, addr := startProxy(t, cfg)
			c := dial(t, addr)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
			_, err := io.ReadFull(c, make([]byte, 1000))
			require.NoError(t, err)
			_, err = c.Write([]byte{'k'})
			require.NoError(t, err)
			_, err = c.Read(make([]byte, 1))
			require.ErrorIs(t, err, syscall.ECONNRESET)
			require.Eventually(t, func() bool { return p.Stats().Active == 0 }, 2*time.Second, 5*time.Millisecond)
		})
	}
}

// A client that never reads stalls only its own connection, and the proxy
// does not buffer what the upstream keeps sending: the upstream's writes
// block once the kernel's socket buffers are full.
func TestSlowClientDoesNotBuffer(t *testing.T) {
	checkFDs(t)
	var written atomic.Int64
	up := newServer(t, func(s *server, c net.Conn) {
		var cmd [1]byte
		if _, err := c.Read(cmd[:]); err != nil {
			return
		}
		if cmd[0] == 'e' {
			echo(s, c)
			return
		}
		buf := make([]byte, 64<<10)
		for written.Load() < 1<<30 {
			n, err := c.Write(buf)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	p, addr := startProxy(t, Config{Upstreams: []Upstream{{Addr: up.Addr()}}})

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	stuck := dial(t, addr)
	_, err := stuck.Write([]byte{'s'})
	require.NoError(t, err)
	// Wait until the upstream's writes stop moving.
	var last int64 = -1
	require.Eventually(t, func() bool {
		n := written.Load()
		stable := n == last && n > 0
		last = n
		return stable
	}, 10*time.Second, 300*time.Millisecond)
	// Bounded by socket buffers (tcp_rmem/tcp_wmem autotuning on loopback,
	// a few tens of MiB here) plus one splice pipe, far from the 1 GiB sent.
	require.Less(t, written.Load(), int64(128<<20))
	t.Logf("the upstream stalled after %d MiB", written.Load()>>20)

	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Less(t, int64(after.HeapAlloc)-int64(before.HeapAlloc), int64(8<<20), "the proxy buffered in user space")

	// Others are served meanwhile.
	for range 3 {
		c := dial(t, addr)
		_, err := c.Write([]byte{'e'})
		require.NoError(t, err)
		roundTrip(t, c, "not stalled")
		c.Close()
	}
	// The three echo connections may take a moment to be released.
	require.Eventually(t, func() bool { return p.Stats().Active == 1 }, 2*time.Second, 5*time.Millisecond)

	// When the stuck client goes away, its connection is released.
	stuck.Close()
	require.Eventually(t, func() bool { return p.Stats().Active == 0 }, 5*time.Second, 5*time.Millisecond)
}

func TestMaxConns(t *testing.T) {
	checkFDs(t)
	up := newServer(t, echo)
	reg := prometheus.NewRegistry()
	p, addr := startProxy(t, Config{Upstreams: []Upstream{{Addr: up.Addr()}}, MaxConns: 2, Registerer: reg})

	c1, c2 := dial(t, addr), dial(t, addr)
	roundTrip(t, c1, "1")
	roundTrip(t, c2, "2")

	// More clients connect (the kernel's backlog completes the handshake)
	// but are not served while two connections are open.
	waiting := []*net.TCPConn{dial(t, addr), dial(t, addr), dial(t, addr)}
	for i, c := range waiting {
		_, err := c.Write([]byte{byte('a' + i)})
		require.NoError(t, err)
	}
	require.NoError(t, waiting[0].SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, err := waiting[0].Read(make([]byte, 1))
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "served beyond MaxConns: %v", err)
	s := p.Stats()
	require.EqualValues(t, 2, s.Active)
	require.EqualValues(t, 1, s.MaxConnsWaits)
	require.EqualValues(t, 2, up.accepted.Load())

	// Each connection that ends lets one more in.
	c1.Close()
	c2.Close()
	for i, c := range waiting[:2] {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		b := make([]byte, 1)
		_, err := io.ReadFull(c, b)
		require.NoError(t, err)
		require.Equal(t, byte('a'+i), b[0])
		c.Close()
	}
	b := make([]byte, 1)
	require.NoError(t, waiting[2].SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadFull(waiting[2], b)
	require.NoError(t, err)
	waiting[2].Close()

	require.Eventually(t, func() bool { return p.Stats().Active == 0 }, 2*time.Second, 5*time.Millisecond)
	s = p.Stats()
	require.EqualValues(t, 5, s.Total)
	require.GreaterOrEqual(t, s.MaxConnsWaits, uint64(2))
	require.Equal(t, float64(s.MaxConnsWaits), testutil.ToFloat64(gaugeOf(t, reg, "podkit_proxy_max_conns_waits_total", "", "")))
	require.EqualValues(t, 5, up.accepted.Load())
}

// Many concurrent clients against a small MaxConns all get through, and
// nothing leaks.
func TestMaxConnsStress(t *testing.T) {
	checkFDs(t)
	up := newServer(t, echo)
	p, addr := startProxy(t, Config{Upstreams: []Upstream{{Addr: up.Addr()}}, MaxConns: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			msg := strings.Repeat(string(rune('a'+i%26)), 1000)
			if _, err := io.WriteString(c, msg); err != nil {
				errs <- err
				return
			}
			c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			if err != nil || string(got) != msg {
				errs <- errors.Join(errors.New("bad echo"), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return p.Stats().Active == 0 }, 2*time.Second, 5*time.Millisecond)
	require.EqualValues(t, 40, p.Stats().Total)
}

// When an upstream dies, new connections fail over to the others: those
// that pick it are retried, and it is soon ejected. Connections it carried
// end.
func TestFailover(t *testing.T) {
	checkFDs(t)
	a := newServer(t, named("a"))
	b := newServer(t, named("b"))
	p, addr := startProxy(t, Config{Upstreams: []Upstream{{Addr: a.Addr()}, {Addr: b.Addr()}}})

	var names []string
	var onA net.Conn
	for range 4 {
		c := dial(t, addr)
		n := readName(t, c, 1)
		names = append(names, n)
		if n == "a" && onA == nil {
			onA = c
		}
	}
	require.Equal(t, []string{"a", "b", "a", "b"}, names)

	a.Close()
	expectClosed(t, onA, 2*time.Second)
	for range 6 {
		require.Equal(t, "b", readName(t, dial(t, addr), 1))
	}
	s := upstreamStats(p, a.Addr())
	require.True(t, s.Ejected)
	require.EqualValues(t, 3, s.ConnectErrors)
	require.EqualValues(t, 3, p.Stats().Retries)
}

// The active checks take a dead upstream out after Fall failures and bring
// it back after Rise successes; in between it gets no connection.
func TestActiveHealthChecks(t *testing.T) {
	checkFDs(t)
	dead := deadAddr(t)
	live := newServer(t, named("L"))
	clk := clocktesting.NewFakeClock(time.Unix(1e9, 0))
	reg := prometheus.NewRegistry()
	p, addr := startProxy(t, Config{
		Upstreams:   []Upstream{{Addr: dead}, {Addr: live.Addr()}},
		HealthCheck: HealthCheck{Interval: 10 * time.Second, Rise: 2, Fall: 3},
		EjectAfter:  -1,
		Clock:       clk,
		Registerer:  reg,
	})
	checks := func() (n uint64) {
		for _, u := range p.ups {
			n += u.checks.Load()
		}
		return n
	}
	// One round: every prober has run once more.
	var rounds uint64
	round := func() {
		t.Helper()
		if rounds > 0 {
			clk.Step(10 * time.Second)
		}
		rounds++
		require.Eventually(t, func() bool { return checks() == 2*rounds }, 5*time.Second, time.Millisecond)
	}
	up := func(a string) float64 {
		return testutil.ToFloat64(gaugeOf(t, reg, "podkit_proxy_upstream_up", "upstream", a))
	}

	round() // the first check runs at start
	round()
	require.True(t, upstreamStats(p, dead).Healthy, "2 failures < Fall")
	round()
	require.False(t, upstreamStats(p, dead).Healthy)
	require.True(t, upstreamStats(p, live.Addr()).Healthy)
	require.Equal(t, 0.0, up(dead))
	require.Equal(t, 1.0, up(live.Addr()))

	// Unhealthy: skipped without a connect attempt.
	for range 4 {
		require.Equal(t, "L", readName(t, dial(t, addr), 1))
	}
	require.Zero(t, upstreamStats(p, dead).ConnectErrors)
	require.Zero(t, p.Stats().Retries)

	ln, err := net.Listen("tcp", dead)
	require.NoError(t, err)
	revived := serveOn(t, ln, named("D"))
	round() // probes also connect: discount them
	require.False(t, upstreamStats(p, dead).Healthy, "1 success < Rise")
	round()
	require.True(t, upstreamStats(p, dead).Healthy)
	require.Equal(t, 1.0, up(dead))
	// A probe succeeds when the kernel completes its handshake, which can
	// be before the server's Accept returns.
	require.Eventually(t, func() bool { return revived.accepted.Load() == 2 }, 5*time.Second, time.Millisecond,
		"the two probes were accepted")
	seen := map[string]int{}
	for range 4 {
		seen[readName(t, dial(t, addr), 1)]++
	}
	require.Equal(t, map[string]int{"D": 2, "L": 2}, seen)

	// Every upstream unhealthy: connections are rejected at once.
	revived.Close()
	live.Close()
	for range 3 {
		round()
	}
	require.False(t, upstreamStats(p, live.Addr()).Healthy)
	expectClosed(t, dial(t, addr), time.Second)
	require.EqualValues(t, 1, p.Stats().Rejected)
}
