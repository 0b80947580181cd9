package httpserve_test

import (
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/httpserve"
	"github.com/podkit/podkit/internal/httpserve/httpservetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// serve serves an "ok" handler with l on a loopback port until the test
// ends, and returns its address.
func serve(t *testing.T, l httpserve.Limits) string {
	t.Helper()
	require.NoError(t, l.Check())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := httpserve.Server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}), l)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(httpserve.Listen(ln, l)) }()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})
	return ln.Addr().String()
}

func TestDefaults(t *testing.T) {
	srv := httpserve.Server(http.NotFoundHandler(), httpserve.Limits{})
	require.Equal(t, httpserve.DefaultReadHeaderTimeout, srv.ReadHeaderTimeout)
	require.Equal(t, httpserve.DefaultIdleTimeout, srv.IdleTimeout)
	require.Equal(t, httpserve.DefaultMaxHeaderBytes, srv.MaxHeaderBytes)
	require.Zero(t, srv.ReadTimeout)
	require.Zero(t, srv.WriteTimeout)

	// Negative timeouts are net/http's "none".
	srv = httpserve.Server(http.NotFoundHandler(), httpserve.Limits{ReadHeaderTimeout: -1, IdleTimeout: -1})
	require.Negative(t, srv.ReadHeaderTimeout)
	require.Negative(t, srv.IdleTimeout)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	require.Same(t, ln, httpserve.Listen(ln, httpserve.Limits{MaxConns: -1}), "negative MaxConns: no limit")
	require.NotSame(t, ln, httpserve.Listen(ln, httpserve.Limits{}), "zero MaxConns: the default limit")

	require.EqualError(t, httpserve.Limits{MaxHeaderBytes: -1}.Check(), "maxHeaderBytes: -1 is negative")
}

func TestMaxConns(t *testing.T) {
	addr := serve(t, httpserve.Limits{MaxConns: 3})
	httpservetest.MaxConns(t, addr, "/", 3)
}

func TestIdleTimeout(t *testing.T) {
	addr := serve(t, httpserve.Limits{IdleTimeout: 200 * time.Millisecond})
	httpservetest.IdleTimeout(t, addr, "/", 200*time.Millisecond)
}

func TestHeaderTimeout(t *testing.T) {
	addr := serve(t, httpserve.Limits{ReadHeaderTimeout: 300 * time.Millisecond})
	httpservetest.HeaderTimeout(t, addr, "/", 300*time.Millisecond)
}

// A request whose headers exceed MaxHeaderBytes (plus net/http's 4 KiB
// allowance) is answered 431, or reset when the server closes before the
// client has read that answer (net/http hangs up on the unread headers).
func TestMaxHeaderBytes(t *testing.T) {
	addr := serve(t, httpserve.Limits{MaxHeaderBytes: 1 << 10})
	c := httpservetest.Dial(t, addr)
	_, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: test\r\nX-Big: %0*d\r\n\r\n", 8<<10, 0)
	require.NoError(t, err)
	code, err := c.Answer(5 * time.Second)
	if err != nil {
		require.ErrorIs(t, err, syscall.ECONNRESET)
		return
	}
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, code)
}
