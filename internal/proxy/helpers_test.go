package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// checkFDs fails the test if it ends with more open descriptors than it
// started with. Call it first, so its cleanup runs last. Pipes are not
// counted: the runtime caches splice pipes in a pool and frees them at GC,
// and test servers splice (io.Copy between TCP conns).
func checkFDs(t testing.TB) { checkDescriptors(t, false) }

// checkAllFDs is checkFDs counting pipes too, which the event loops make:
// for tests in which nothing else splices.
func checkAllFDs(t testing.TB) { checkDescriptors(t, true) }

func checkDescriptors(t testing.TB, pipes bool) {
	t.Helper()
	before := countFDs(t, pipes)
	t.Cleanup(func() {
		var after int
		ok := waitFor(2*time.Second, func() bool {
			after = countFDs(t, pipes)
			return after <= before
		})
		if !ok {
			t.Errorf("descriptors leaked: %d before, %d after", before, after)
		}
	})
}

func countFDs(t testing.TB, pipes bool) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	n := 0
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || !pipes && strings.HasPrefix(target, "pipe:") {
			continue // gone already (the ReadDir fd itself), or a pipe
		}
		n++
	}
	return n
}

func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startProxy serves cfg on a loopback listener until the test ends, and
// checks at the end that Serve returned ErrServerClosed.
func startProxy(t testing.TB, cfg Config) (*Proxy, string) {
	t.Helper()
	if cfg.Logger == nil {
		if tt, ok := t.(*testing.T); ok {
			cfg.Logger = zaptest.NewLogger(tt)
		}
	}
	p, err := New(cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- p.Serve(ln) }()
	t.Cleanup(func() {
		require.NoError(t, p.Close())
		require.ErrorIs(t, <-served, ErrServerClosed)
	})
	return p, ln.Addr().String()
}

// server is a test upstream running handler on each connection.
type server struct {
	ln       net.Listener
	wg       sync.WaitGroup
	done     chan struct{}
	accepted atomic.Int64
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	once     sync.Once
}

func newServer(t testing.TB, handler func(s *server, c net.Conn)) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return serveOn(t, ln, handler)
}

func serveOn(t testing.TB, ln net.Listener, handler func(s *server, c net.Conn)) *server {
	s := &server{ln: ln, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				handler(s, c)
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

func (s *server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and drops its connections, like a crash.
func (s *server) Close() {
	s.once.Do(func() {
		close(s.done)
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
}

// echo copies back what it reads and half-closes at EOF.
func echo(_ *server, c net.Conn) {
	io.Copy(c, c)
	closeWrite(c)
}

// named writes its name, then discards input until EOF.
func named(name string) func(*server, net.Conn) {
	return func(_ *server, c net.Conn) {
		io.WriteString(c, name)
		io.Copy(io.Discard, c)
	}
}

// deadAddr is a loopback address nothing listens on (connects are refused).
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// roundTrip writes msg and reads as many bytes back.
func roundTrip(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err := io.WriteString(c, msg)
	require.NoError(t, err)
	buf := make([]byte, len(msg))
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, msg, string(buf))
	require.NoError(t, c.SetDeadline(time.Time{}))
}

// readName reads an upstream's name written by named.
func readName(t testing.TB, c net.Conn, n int) string {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, n)
	_, err := io.ReadFull(c, buf)
	require.NoError(t, err)
	return string(buf)
}

// expectClosed asserts that the peer closes c within d, without data.
func expectClosed(t testing.TB, c net.Conn, d time.Duration) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(d)))
	n, err := c.Read(make([]byte, 1))
	require.Zero(t, n)
	require.Error(t, err)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "connection still open after %v", d)
}

// opaqueConn hides the concrete type of a conn (and so splice), keeping
// half-close: it makes the proxy take its buffered path.
type opaqueConn struct{ net.Conn }

func (c opaqueConn) CloseWrite() error { return c.Conn.(*net.TCPConn).CloseWrite() }

func opaqueDial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return opaqueConn{c}, nil
}

func upstreamStats(p *Proxy, addr string) UpstreamStats {
	for _, u := range p.Stats().Upstreams {
		if u.Addr == addr {
			return u
		}
	}
	panic("no upstream " + addr)
}
