package ambassador_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/ambassador"
	"github.com/podkit/podkit/internal/httpserve/httpservetest"
	"github.com/podkit/podkit/internal/testenv"
)

// runHTTP runs h (its Listen set to a free address) outside a pod until
// the test ends, and returns its address once it accepts connections.
func runHTTP(t *testing.T, h ambassador.HTTP) string {
	t.Helper()
	h.Listen = testenv.FreeAddr(t)
	testenv.Run(t, h.Run)
	testenv.WaitListening(t, h.Listen)
	return h.Listen
}

func TestHTTPMaxConns(t *testing.T) {
	up := newNamed(t, "up")
	addr := runHTTP(t, ambassador.HTTP{Upstreams: []ambassador.HTTPUpstream{{URL: up.URL}}, MaxConns: 3})
	httpservetest.MaxConns(t, addr, "/", 3)
}

func TestHTTPIdleTimeout(t *testing.T) {
	up := newNamed(t, "up")
	addr := runHTTP(t, ambassador.HTTP{Upstreams: []ambassador.HTTPUpstream{{URL: up.URL}}, IdleTimeout: 200 * time.Millisecond})
	httpservetest.IdleTimeout(t, addr, "/", 200*time.Millisecond)
}

func TestHTTPHeaderTimeout(t *testing.T) {
	up := newNamed(t, "up")
	addr := runHTTP(t, ambassador.HTTP{Upstreams: []ambassador.HTTPUpstream{{URL: up.URL}}, ReadHeaderTimeout: 300 * time.Millisecond})
	httpservetest.HeaderTimeout(t, addr, "/", 300*time.Millisecond)
}

// A request whose chunked body is malformed is the client's fault: the
// ambassador answers 400 at once, without blaming the upstream (502) or
// hanging; with a mirror too, which reads the body first.
func TestHTTPMalformedChunkedBody(t *testing.T) {
	up, shadow := newNamed(t, "up"), newNamed(t, "shadow")
	t.Run("plain", func(t *testing.T) {
		malformedChunked(t, runHTTP(t, ambassador.HTTP{Upstreams: []ambassador.HTTPUpstream{{URL: up.URL}}}))
	})
	t.Run("mirror", func(t *testing.T) {
		malformedChunked(t, runHTTP(t, ambassador.HTTP{Upstreams: []ambassador.HTTPUpstream{{URL: up.URL}},
			Mirror: &ambassador.Mirror{URL: shadow.URL, Percent: 100}}))
	})
	require.Zero(t, shadow.count(), "a malformed body was mirrored")
}

// malformedChunked sends requests with malformed chunked bodies to addr,
// each on a connection of its own, and wants 400 for each.
func malformedChunked(t *testing.T, addr string) {
	t.Helper()
	for _, body := range []string{
		"zz\r\nhello\r\n0\r\n\r\n",             // not a hexadecimal size
		"5\r\nhelloXX\r\n0\r\n\r\n",            // no CRLF after the data
		"ffffffffffffffffff\r\nx\r\n0\r\n\r\n", // a size that overflows
	} {
		c := httpservetest.Dial(t, addr)
		_, err := fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n%s", body)
		require.NoError(t, err)
		code, err := c.Answer(5 * time.Second)
		require.NoError(t, err, "body %q", body)
		require.Equal(t, http.StatusBadRequest, code, "body %q", body)
	}
}

// runTCP runs tc (its Listen set to a free address) outside a pod until
// the test ends, and returns its address once it accepts connections.
func runTCP(t *testing.T, tc ambassador.TCP) string {
	t.Helper()
	tc.Listen = testenv.FreeAddr(t)
	testenv.Run(t, tc.Run)
	testenv.WaitListening(t, tc.Listen)
	return tc.Listen
}

// greeted dials addr and reads the upstream's greeting within wait.
func greeted(t *testing.T, addr string, wait time.Duration) (net.Conn, *bufio.Reader, error) {
	t.Helper()
	c := httpservetest.Dial(t, addr)
	r := bufio.NewReader(c)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(wait)))
	_, err := r.ReadString('\n')
	require.NoError(t, c.SetReadDeadline(time.Time{}))
	return c, r, err
}

// Connections beyond MaxConns wait, connected but not carried, while the
// ones within it are served; the first to close lets one in.
func TestTCPMaxConns(t *testing.T) {
	up := newUpstream(t, "up", nil)
	addr := runTCP(t, ambassador.TCP{Upstreams: []ambassador.Upstream{{Addr: up.ln.Addr().String()}}, MaxConns: 2})
	var held []net.Conn
	var readers []*bufio.Reader
	for range 2 {
		c, r, err := greeted(t, addr, 5*time.Second)
		require.NoError(t, err)
		held, readers = append(held, c), append(readers, r)
	}
	extra, extraR, err := greeted(t, addr, 300*time.Millisecond)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "a connection beyond MaxConns was carried")
	for i, c := range held {
		fmt.Fprintln(c, "ping")
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		line, err := readers[i].ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "ping\n", line)
	}
	held[0].Close()
	require.NoError(t, extra.SetReadDeadline(time.Now().Add(5*time.Second)))
	line, err := extraR.ReadString('\n')
	require.NoError(t, err, "the waiting connection once one closed")
	require.Equal(t, "up\n", line)
}

// A connection that carries nothing either way is closed after
// IdleTimeout, while a busy one stays open.
func TestTCPIdleTimeout(t *testing.T) {
	up := newUpstream(t, "up", nil)
	const idle = 200 * time.Millisecond
	addr := runTCP(t, ambassador.TCP{Upstreams: []ambassador.Upstream{{Addr: up.ln.Addr().String()}}, IdleTimeout: idle})
	c, r, err := greeted(t, addr, 5*time.Second)
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, c.SetReadDeadline(start.Add(5*time.Second)))
	_, err = r.ReadString('\n')
	require.Error(t, err)
	require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "an idle connection still open after 5s")
	require.GreaterOrEqual(t, time.Since(start), idle*9/10, "closed before the idle timeout")

	busy, busyR, err := greeted(t, addr, 5*time.Second)
	require.NoError(t, err)
	for range 4 {
		time.Sleep(idle / 2)
		fmt.Fprintln(busy, "ping")
		require.NoError(t, busy.SetReadDeadline(time.Now().Add(5*time.Second)))
		line, err := busyR.ReadString('\n')
		require.NoError(t, err, "a connection used every half idle timeout")
		require.Equal(t, "ping\n", line)
	}
}
