// Package httpservetest checks, from raw TCP clients, that an HTTP server
// keeps the bounds of httpserve.Limits: its connection limit, its idle
// timeout and its header timeout. The members that serve HTTP (adapters,
// ambassadors) run the same checks against their own listeners.
//
// Each check takes the server's address and the limit it was given, which
// tests keep short (tens or hundreds of milliseconds); each waits at most
// a few seconds for what it expects, and closes every connection it opens
// before it returns.
package httpservetest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// patience bounds every wait for something expected to happen.
const patience = 5 * time.Second

// Conn is a raw client connection that sends GET requests with keep-alive.
type Conn struct {
	net.Conn
	r *bufio.Reader
}

// Dial connects to addr; the connection is closed when t ends.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, patience)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &Conn{Conn: c, r: bufio.NewReader(c)}
}

// Get sends a GET of path and returns the answer's status, having read
// its body, or an error if no answer came within wait.
func (c *Conn) Get(path string, wait time.Duration) (int, error) {
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path); err != nil {
		return 0, err
	}
	return c.Answer(wait)
}

// Answer reads one answer, within wait, and returns its status.
func (c *Conn) Answer(wait time.Duration) (int, error) {
	if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return 0, err
	}
	defer c.SetReadDeadline(time.Time{})
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// WaitClosed returns how long the server took to close c, or an error
// if it sent bytes or did not close it within wait.
func (c *Conn) WaitClosed(wait time.Duration) (time.Duration, error) {
	start := time.Now()
	if err := c.SetReadDeadline(start.Add(wait)); err != nil {
		return 0, err
	}
	n, err := c.r.Read(make([]byte, 1))
	took := time.Since(start)
	switch {
	case n > 0:
		return took, errors.New("the server sent bytes, not a close")
	case errors.Is(err, os.ErrDeadlineExceeded):
		return took, fmt.Errorf("still open after %v", wait)
	}
	return took, nil
}

// MaxConns checks that a server at addr limited to n connections serves n
// keep-alive connections at once, keeps one more waiting (connected, its
// request unanswered) while answering the n, and serves it once one of the
// n closes.
func MaxConns(t testing.TB, addr, path string, n int) {
	t.Helper()
	held := make([]*Conn, n)
	for i := range held {
		held[i] = Dial(t, addr)
		_, err := held[i].Get(path, patience)
		require.NoError(t, err, "connection %d of %d", i+1, n)
	}
	extra := Dial(t, addr)
	_, err := extra.Get(path, 300*time.Millisecond)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "connection %d beyond the limit of %d was served", n+1, n)
	for i, c := range held {
		_, err := c.Get(path, patience)
		require.NoError(t, err, "connection %d of %d at the limit", i+1, n)
	}
	held[0].Close()
	_, err = extra.Answer(patience)
	require.NoError(t, err, "the waiting connection once one closed")
}

// IdleTimeout checks that a server at addr with the given idle timeout
// closes a keep-alive connection left idle after an answer, not before
// the timeout, while a busy connection is still answered.
func IdleTimeout(t testing.TB, addr, path string, idle time.Duration) {
	t.Helper()
	c := Dial(t, addr)
	_, err := c.Get(path, patience)
	require.NoError(t, err)
	took, err := c.WaitClosed(patience)
	require.NoError(t, err, "idle keep-alive connection")
	require.GreaterOrEqual(t, took, idle*9/10, "closed before the idle timeout")

	busy := Dial(t, addr)
	for range 3 {
		time.Sleep(idle / 2)
		_, err := busy.Get(path, patience)
		require.NoError(t, err, "a connection used every half idle timeout")
	}
}

// HeaderTimeout checks that a server at addr with the given header
// timeout disconnects a client that sends a header line every tenth of it
// and never ends its headers (slowloris), while another client is served
// meanwhile.
func HeaderTimeout(t testing.TB, addr, path string, header time.Duration) {
	t.Helper()
	slow := Dial(t, addr)
	closed := make(chan error, 1)
	go func() {
		_, err := slow.WaitClosed(patience)
		closed <- err
	}()
	start := time.Now()
	_, err := fmt.Fprintf(slow, "GET %s HTTP/1.1\r\nHost: test\r\n", path)
	require.NoError(t, err)
	other := Dial(t, addr)
	tick := time.NewTicker(header / 10)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case err := <-closed:
			require.NoError(t, err, "slowloris connection")
			require.GreaterOrEqual(t, time.Since(start), header*9/10, "cut before the header timeout")
			return
		case <-tick.C:
			// A write may fail once the server has closed: the read sees it.
			_, _ = fmt.Fprintf(slow, "X-Slow-%d: 1\r\n", i)
			if i%3 == 0 {
				_, err := other.Get(path, patience)
				require.NoError(t, err, "another client while a slowloris client holds a connection")
			}
		}
	}
}
