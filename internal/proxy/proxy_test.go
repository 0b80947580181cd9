package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestNewValidation(t *testing.T) {
	one := []Upstream{{Addr: "127.0.0.1:1"}}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no upstreams", Config{}, "proxy: upstreams: at least one is required"},
		{"no port", Config{Upstreams: []Upstream{{Addr: "redis"}}}, "proxy: upstreams[0].addr: want host:port: "},
		{"empty host", Config{Upstreams: []Upstream{{Addr: ":6379"}}}, "proxy: upstreams[0].addr: \":6379\": empty host"},
		{"port zero", Config{Upstreams: []Upstream{{Addr: "a:1"}, {Addr: "b:0"}}}, "proxy: upstreams[1].addr: \"b:0\": port \"0\""},
		{"named port", Config{Upstreams: []Upstream{{Addr: "a:http"}}}, "proxy: upstreams[0].addr: \"a:http\": port \"http\""},
		{"duplicate", Config{Upstreams: []Upstream{{Addr: "a:1"}, {Addr: "b:2"}, {Addr: "a:1"}}}, "proxy: upstreams[2].addr: \"a:1\" duplicates upstreams[0]"},
		{"negative weight", Config{Upstreams: []Upstream{{Addr: "a:1", Weight: -1}}}, "proxy: upstreams[0].weight: -1"},
		{"huge weight", Config{Upstreams: []Upstream{{Addr: "a:1", Weight: 2_000_000}}}, "proxy: upstreams[0].weight: 2000000"},
		{"balance", Config{Upstreams: one, Balance: "random"}, "proxy: balance: unknown \"random\""},
		{"connect timeout", Config{Upstreams: one, ConnectTimeout: -1}, "proxy: connectTimeout: negative"},
		{"check interval", Config{Upstreams: one, HealthCheck: HealthCheck{Interval: -1}}, "proxy: healthCheck.interval: negative"},
		{"check timeout", Config{Upstreams: one, HealthCheck: HealthCheck{Timeout: -1}}, "proxy: healthCheck.timeout: negative"},
		{"check rise", Config{Upstreams: one, HealthCheck: HealthCheck{Rise: -1}}, "proxy: healthCheck.rise: negative"},
		{"check fall", Config{Upstreams: one, HealthCheck: HealthCheck{Fall: -1}}, "proxy: healthCheck.fall: negative"},
		{"retry timeout", Config{Upstreams: one, RetryTimeout: -1}, "proxy: retryTimeout: negative"},
		{"label clash", Config{Upstreams: one, Registerer: prometheus.NewRegistry(), ConstLabels: prometheus.Labels{"upstream": "x"}}, "proxy: registerer: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.cfg)
			require.ErrorContains(t, err, tt.want)
			require.True(t, strings.HasPrefix(err.Error(), tt.want), "error %q", err)
			require.Nil(t, p)
		})
	}

	t.Run("wraps causes", func(t *testing.T) {
		_, err := New(Config{Upstreams: []Upstream{{Addr: "redis"}}})
		var ae *net.AddrError
		require.ErrorAs(t, err, &ae)

		reg := prometheus.NewRegistry()
		p, err := New(Config{Upstreams: one, Registerer: reg})
		require.NoError(t, err)
		defer p.Close()
		_, err = New(Config{Upstreams: one, Registerer: reg})
		var are prometheus.AlreadyRegisteredError
		require.ErrorAs(t, err, &are)
	})

	t.Run("defaults", func(t *testing.T) {
		p, err := New(Config{Upstreams: []Upstream{{Addr: "a:1"}, {Addr: "b:2", Weight: 3}}})
		require.NoError(t, err)
		defer p.Close()
		require.Equal(t, defaultConnectTimeout, p.connectTimeout)
		require.Equal(t, 1, p.retries, "bounded by upstreams-1")
		require.Equal(t, defaultEjectAfter, p.ejectAfter)
		require.Equal(t, defaultRetryTimeout, p.retryTimeout)
		require.Equal(t, HealthCheck{Timeout: time.Second, Rise: 2, Fall: 3}, p.health)
		require.IsType(t, &roundRobin{}, p.bal)
		require.Equal(t, DefaultMaxConns, cap(p.sem))
		require.Equal(t, DefaultIdleTimeout, p.idleTimeout)
		s := p.Stats()
		require.Equal(t, []UpstreamStats{{Addr: "a:1", Weight: 1, Healthy: true}, {Addr: "b:2", Weight: 3, Healthy: true}}, s.Upstreams)

		p2, err := New(Config{Upstreams: one, Retries: -1, EjectAfter: -1, IdleTimeout: 100 * time.Millisecond})
		require.NoError(t, err)
		defer p2.Close()
		require.Equal(t, 0, p2.retries)
		require.Equal(t, -1, p2.ejectAfter)
		require.Equal(t, 100*time.Millisecond, p2.idleTimeout)

		// Negative MaxConns and IdleTimeout: no cap, never idle.
		p3, err := New(Config{Upstreams: one, MaxConns: -1, IdleTimeout: -1})
		require.NoError(t, err)
		defer p3.Close()
		require.Nil(t, p3.sem)
		require.Zero(t, p3.idleTimeout)
	})
}

func TestProxyEchoAndMetrics(t *testing.T) {
	for _, path := range []string{"splice", "buffered"} {
		t.Run(path, func(t *testing.T) {
			checkFDs(t)
			up := newServer(t, echo)
			reg := prometheus.NewRegistry()
			cfg := Config{
				Upstreams:   []Upstream{{Addr: up.Addr()}},
				Registerer:  reg,
				ConstLabels: prometheus.Labels{"ambassador": "redis"},
			}
			if path == "buffered" {
				cfg.Dial = opaqueDial
			}
			p, addr := startProxy(t, cfg)

			// 8 MiB each way, concurrently, then a half-close: the counters
			// must be exact whichever path copied the bytes.
			const size = 8 << 20
			payload := make([]byte, size)
			_, err := rand.Read(payload)
			require.NoError(t, err)
			c := dial(t, addr)
			got := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(c)
				got <- b
			}()
			_, err = c.Write(payload)
			require.NoError(t, err)
			require.NoError(t, c.CloseWrite())
			require.True(t, bytes.Equal(payload, <-got), "echoed bytes differ")

			require.Eventually(t, func() bool { return p.Stats().Active == 0 }, 2*time.Second, 5*time.Millisecond)
			s := p.Stats()
			require.EqualValues(t, 1, s.Total)
			require.EqualValues(t, size, s.BytesUpstream)
			require.EqualValues(t, size, s.BytesDownstream)

			expected := fmt.Sprintf(`
# HELP podkit_proxy_bytes_total Bytes delivered, by direction: upstream (client to upstream) or downstream (upstream to client).
# TYPE podkit_proxy_bytes_total counter
podkit_proxy_bytes_total{ambassador="redis",direction="downstream"} %[1]d
podkit_proxy_bytes_total{ambassador="redis",direction="upstream"} %[1]d
# HELP podkit_proxy_connections_active Client connections open now, including those connecting to an upstream.
# TYPE podkit_proxy_connections_active gauge
podkit_proxy_connections_active{ambassador="redis"} 0
# HELP podkit_proxy_connections_total Client connections accepted.
# TYPE podkit_proxy_connections_total counter
podkit_proxy_connections_total{ambassador="redis"} 1
# HELP podkit_proxy_upstream_up 1 if the upstream may receive connections (healthy and not ejected), else 0.
# TYPE podkit_proxy_upstream_up gauge
podkit_proxy_upstream_up{ambassador="redis",upstream="%[2]s"} 1
# HELP podkit_proxy_rejected_connections_total Client connections closed at once, by reason (no_upstream: every upstream unhealthy or ejected).
# TYPE podkit_proxy_rejected_connections_total counter
podkit_proxy_rejected_connections_total{ambassador="redis",reason="no_upstream"} 0
`, size, up.Addr())
			require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(expected),
				"podkit_proxy_bytes_total", "podkit_proxy_connections_active", "podkit_proxy_connections_total",
				"podkit_proxy_upstream_up", "podkit_proxy_rejected_connections_total"))
			problems, err := testutil.GatherAndLint(reg)
			require.NoError(t, err)
			require.Empty(t, problems)

			// Closing unregisters, so a new proxy can take the same names.
			require.NoError(t, p.Close())
			n, err := testutil.GatherAndCount(reg)
			require.NoError(t, err)
			require.Zero(t, n)
			p2, err := New(cfg)
			require.NoError(t, err)
			require.NoError(t, p2.Close())
		})
	}
}

// Bytes of a long transfer are counted while it runs, not only at its end,
// although splice moves them.
func TestBytesCountedDuringTransfer(t *testing.T) {
	checkFDs(t)
	up := newServer(t, func(s *server, c net.Conn) {
		io.Copy(io.Discard, c)
	})
	p, addr := startProxy(t, Config{Upstreams: []Upstream{{Addr: up.Addr()}}})
	c := dial(t, addr)
	_, err := c.Write(make([]byte, 1<<20))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.Stats().BytesUpstream == 1<<20 }, 2*time.Second, 5*time.Millisecond)
	require.EqualValues(t, 1, p.Stats().Active, "the connection is still open")
}

func TestHalfClose(t *testing.T) {
	for _, path := range []string{"splice", "buffered"} {
		t.Run(path, func(t *testing.T) {
			var dialer func(context.Context, string, string) (net.Conn, error)
			if path == "buffered" {
				dialer = opaqueDial
			}

			t.Run("client closes first", func(t *testing.T) {
				checkFDs(t)
				// The upstream reads the whole request, then replies.
				up := newServer(t, func(_ *server, c net.Conn) {
					req, _ := io.ReadAll(c)
					fmt.Fprintf(c, "got %q", req)
				})
				_, addr := startProxy(t, Config{Upstreams: []Upstream{{Addr: up.Addr()}}, Dial: dialer})
				c := dial(t, addr)
				_, err := io.WriteString(c, "ping")
				require.NoError(t, err)
				require.NoError(t, c.CloseWrite())
				require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
				reply, err := io.ReadAll(c)
				require.NoError(t, err)
				require.Equal(t, `got "ping"`, string(reply))
			})

			t.Run("upstream closes first", func(t *testing.T) {
				checkFDs(t)
				// The upstream sends a banner and closes its write side, then
				// still reads what the client sends.
				received := make(chan string, 1)
				up := newServer(t, func(_ *server, c net.Conn) {
					io.WriteString(c, "banner")
					closeWrite(c)
					b, _ := io.ReadAll(c)
					received <- string(b)
				})
				_, addr := startProxy(t, Config{Upstreams: []Upstream{{Addr: up.Addr()}}, Dial: dialer})
				c := dial(t, addr)
				require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
				banner, err := io.ReadAll(c)
				require.NoError(t, err)
				require.Equal(t, "banner", string(banner))
				_, err = io.WriteString(c, "after EOF")
				require.NoError(t, err)
				require.NoError(t, c.CloseWrite())
				select {
				case got := <-received:
					require.Equal(t, "after EOF", got)
				case <-time.After(5 * time.Second):
					t.Fatal("upstream did not receive the client's data after its half-close")
				}
			})
		})
	}
}

func TestIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	for _, path := range []string{"splice", "buffered"} {
		t.Run(path, func(t *testing.T) {
			checkFDs(t)
			// "hold" reads until EOF and then keeps the connection open
			// without a byte either way.
			up := newServer(t, func(s *server, c net.Conn) {
				var first [1]byte
				if _, err := c.Read(first[:]); err != nil {
					return
				}
				if first[0] == 'e' {
					echo(s, c)
					return
				}
				io.Copy(io.Discard, c)
				<-s.done
			})
			cfg := Config{Upstreams: []Upstream{{Addr: up.Addr()}}, IdleTimeout: idle}
			if path == "buffered" {
				cfg.Dial = opaqueDial
			}
			p, addr := startProxy(t, cfg)

			silent := dial(t, addr)
			_, err := io.WriteString(silent, "h")
			require.NoError(t, err)
			halfClosed := dial(t, addr)
			_, err = io.WriteString(halfClosed, "h")
			require.NoError(t, err)
			require.NoError(t, halfClosed.CloseWrite())
			busy := dial(t, addr)
			_, err = io.WriteString(busy, "e")
			require.NoError(t, err)
			start := time.Now()

			// The busy connection trickles a byte every idle/4 for 4×idle
			// and must survive; the two silent ones must not.
			for time.Since(start) < 4*idle {
				roundTrip(t, busy, "x")
				time.Sleep(idle / 4)
			}
			expectClosed(t, silent, time.Second)
			expectClosed(t, halfClosed, time.Second)
			roundTrip(t, busy, "still open")
			require.EqualValues(t, 2, p.Stats().IdleTimeouts)

			// And an idle connection is closed neither early nor very late.
			lone := dial(t, addr)
			_, err = io.WriteString(lone, "h")
			require.NoError(t, err)
			start = time.Now()
			expectClosed(t, lone, 2*time.Second)
			elapsed := time.Since(start)
			require.GreaterOrEqual(t, elapsed, idle-10*time.Millisecond)
			require.Less(t, elapsed, idle*3/2+100*time.Millisecond)
		})
	}
}

// A busy connection is never taken for idle, even with a short timeout and
// a loaded machine (runtime timers can fire tens of milliseconds late).
func TestIdleTimeoutBusyConnection(t *testing.T) {
	checkFDs(t)
	up := newServer(t, func(_ *server, c net.Conn) {
		var buf [1]byte
		for {
			if _, err := c.Read(buf[:]); err != nil {
				return
			}
			if _, err := c.Write(buf[:]); err != nil {
				return
			}
		}
	})
	p, addr := startProxy(t, Config{Upstreams: []Upstream{{Addr: up.Addr()}}, IdleTimeout: 40 * time.Millisecond})
	c := dial(t, addr)
	var buf [1]byte
	for start := time.Now(); time.Since(start) < time.Second; {
		_, err := c.Write(buf[:])
		require.NoError(t, err)
		_, err = c.Read(buf[:])
		require.NoError(t, err)
	}
	require.Zero(t, p.Stats().IdleTimeouts)
}

// A client that reads slowly is not idle, though its copy stays blocked
// writing to it: its socket acknowledges bytes.
//
// The upstream writes one preallocated chunk after another until the
// client is gone. Allocating the data per connection (64 MiB) could take
// longer than IdleTimeout on a loaded machine, before the first byte was
// sent: the connection was then idle in fact, and rightly closed.
func TestIdleTimeoutSlowReader(t *testing.T) {
	checkFDs(t)
	chunk := make([]byte, 64<<10)
	up := newServer(t, func(_ *server, c net.Conn) {
		for {
			if _, err := c.Write(chunk); err != nil {
				return // the client is done or gone
			}
		}
	})
	p, addr := startProxy(t, Config{Upstreams: []Upstream{{Addr: up.Addr()}}, IdleTimeout: 200 * time.Millisecond})
	// A small receive window (set before connecting, as the window is
	// fixed at the handshake) so the reader's pace shows on the wire: on
	// loopback the segment size is 64 KiB.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10)
		})
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	buf := make([]byte, 16<<10)
	for start := time.Now(); time.Since(start) < time.Second; {
		_, err := io.ReadFull(c, buf)
		require.NoError(t, err)
		time.Sleep(20 * time.Millisecond) // ~800 KB/s, far slower than the upstream
	}
	require.Zero(t, p.Stats().IdleTimeouts)
	require.EqualValues(t, 1, p.Stats().Active)
}

func TestShutdownGraceful(t *testing.T) {
	checkFDs(t)
	const chunks, chunk = 10, 10 << 10
	up := newServer(t, func(_ *server, c net.Conn) {
		var req [1]byte
		if _, err := c.Read(req[:]); err != nil {
			return
		}
		for range chunks {
			if _, err := c.Write(make([]byte, chunk)); err != nil {
				return
			}
			time.Sleep(30 * time.Millisecond)
		}
	})
	p, err := New(Config{Upstreams: []Upstream{{Addr: up.Addr()}}})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- p.Serve(ln) }()

	c := dial(t, ln.Addr().String())
	_, err = c.Write([]byte{'r'})
	require.NoError(t, err)
	_, err = io.ReadFull(c, make([]byte, chunk))
	require.NoError(t, err)

	stopped := make(chan error, 1)
	go func() { stopped <- p.Shutdown(context.Background()) }()

	select {
	case err := <-served:
		require.ErrorIs(t, err, ErrServerClosed)
	case <-time.After(2 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	require.Error(t, err, "the listener must be closed")

	// The open transfer completes, and Shutdown returns only when the
	// connection has ended both ways: the client still may send after the
	// upstream's EOF.
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned %v with a transfer open", err)
	default:
	}
	rest, err := io.ReadAll(c)
	require.NoError(t, err)
	require.Len(t, rest, (chunks-1)*chunk)
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned %v with a half-closed connection open", err)
	case <-time.After(50 * time.Millisecond):
	}
	require.NoError(t, c.Close())
	select {
	case err := <-stopped:
		require.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("Shutdown did not return after the last connection ended")
	}
	require.Zero(t, p.Stats().Active)
	require.ErrorIs(t, p.Serve(ln), ErrServerClosed, "a stopped proxy serves nothing")
}

func TestShutdownContextExpires(t *testing.T) {
	checkFDs(t)
	up := newServer(t, echo)
	before := goleak.IgnoreCurrent()
	p, err := New(Config{Upstreams: []Upstream{{Addr: up.Addr()}}})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- p.Serve(ln) }()

	c := dial(t, ln.Addr().String())
	roundTrip(t, c, "hello")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond)
	require.ErrorIs(t, <-served, ErrServerClosed)
	require.Zero(t, p.Stats().Active)
	expectClosed(t, c, time.Second)
	goleak.VerifyNone(t, before) // the upstream's handler ends too, once it sees EOF
}

func TestCloseDropsEverything(t *testing.T) {
	checkFDs(t)
	up := newServer(t, echo)
	before := goleak.IgnoreCurrent()
	p, err := New(Config{Upstreams: []Upstream{{Addr: up.Addr()}}, HealthCheck: HealthCheck{Interval: time.Hour}})
	require.NoError(t, err)
	// Two listeners, one proxy.
	var served []chan error
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ch := make(chan error, 1)
		go func() { ch <- p.Serve(ln) }()
		served = append(served, ch)
		addrs = append(addrs, ln.Addr().String())
	}
	var clients []net.Conn
	for _, a := range addrs {
		c := dial(t, a)
		roundTrip(t, c, "hi")
		clients = append(clients, c)
	}
	require.EqualValues(t, 2, p.Stats().Active)
	require.NoError(t, p.Close())
	require.Zero(t, p.Stats().Active)
	for _, ch := range served {
		require.ErrorIs(t, <-ch, ErrServerClosed)
	}
	for _, c := range clients {
		expectClosed(t, c, time.Second)
	}
	goleak.VerifyNone(t, before)
	require.NoError(t, p.Close(), "closing twice is harmless")
	require.NoError(t, p.Shutdown(context.Background()))
}

func TestShutdownBeforeServe(t *testing.T) {
	p, err := New(Config{Upstreams: []Upstream{{Addr: "127.0.0.1:1"}}, HealthCheck: HealthCheck{Interval: time.Second}})
	require.NoError(t, err)
	require.NoError(t, p.Shutdown(context.Background()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.ErrorIs(t, p.Serve(ln), ErrServerClosed)
	_, err = ln.Accept()
	require.ErrorIs(t, err, net.ErrClosed, "Serve closes its listener")
}

// An accept error other than a closed listener ends Serve with that error.
func TestServeListenerError(t *testing.T) {
	p, err := New(Config{Upstreams: []Upstream{{Addr: "127.0.0.1:1"}}})
	require.NoError(t, err)
	defer p.Close()
	boom := errors.New("boom")
	err = p.Serve(failingListener{boom})
	require.ErrorIs(t, err, boom)
	require.ErrorContains(t, err, "proxy: accept: boom")
}

type failingListener struct{ err error }

func (l failingListener) Accept() (net.Conn, error) { return nil, l.err }
func (l failingListener) Close() error              { return nil }
func (l failingListener) Addr() net.Addr            { return &net.TCPAddr{} }

// Transient accept errors (out of descriptors) are retried, not fatal.
func TestServeRetriesTransientAcceptErrors(t *testing.T) {
	checkFDs(t)
	up := newServer(t, echo)
	p, err := New(Config{Upstreams: []Upstream{{Addr: up.Addr()}}})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fl := &flakyListener{Listener: ln}
	fl.fails.Store(3)
	served := make(chan error, 1)
	go func() { served <- p.Serve(fl) }()
	roundTrip(t, dial(t, ln.Addr().String()), "after EMFILE")
	require.Negative(t, fl.fails.Load(), "every failure was retried")
	require.NoError(t, p.Close())
	require.ErrorIs(t, <-served, ErrServerClosed)
}

type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// A conn that cannot half-close (no CloseWrite) is closed whole when its
// direction ends, so the peer still learns of the EOF.
func TestNoHalfCloseClosesWhole(t *testing.T) {
	checkFDs(t)
	gotEOF := make(chan struct{})
	up := newServer(t, func(_ *server, c net.Conn) {
		io.Copy(io.Discard, c)
		close(gotEOF)
	})
	_, addr := startProxy(t, Config{
		Upstreams: []Upstream{{Addr: up.Addr()}},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			return struct{ net.Conn }{c}, err
		},
	})
	c := dial(t, addr)
	_, err := io.WriteString(c, "bye")
	require.NoError(t, err)
	require.NoError(t, c.CloseWrite())
	select {
	case <-gotEOF:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream did not see EOF")
	}
	expectClosed(t, c, 2*time.Second)
}
