package httpserve

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// Defaults of Limits' zero fields.
const (
	// DefaultReadHeaderTimeout bounds the reading of a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a keep-alive connection that sends no new
	// request for this long; it is below the 75 s of common load balancers
	// and monitors, which reconnect.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxHeaderBytes bounds the request line and headers.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxConns bounds the connections open at once.
	DefaultMaxConns = 1024
)

// Limits are the bounds of one HTTP server. Zero fields take the defaults
// above; a negative duration or MaxConns means no bound.
type Limits struct {
	// ReadHeaderTimeout bounds the reading of a request's line and headers,
	// from the first byte the server waits for: a client that has not sent
	// them all by then (slowloris) is disconnected. Zero means
	// DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the reading of a whole request, body included; set
	// it only where bodies are small. Zero means none.
	ReadTimeout time.Duration
	// WriteTimeout bounds the handling of a request, from the end of its
	// headers to the end of the answer. Zero means none.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no new request
	// for this long. Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers (net/http allows
	// 4 KiB beyond it); a larger request is answered 431. Zero means
	// DefaultMaxHeaderBytes; negative is an error.
	MaxHeaderBytes int
	// MaxConns bounds the connections open at once; at the bound the
	// server stops accepting until one closes. Zero means DefaultMaxConns.
	MaxConns int
}

// Check returns an error naming the first bad field, by its JSON name in
// the members' configurations ("maxHeaderBytes: ..."), or nil.
func (l Limits) Check() error {
	if l.MaxHeaderBytes < 0 {
		return fmt.Errorf("maxHeaderBytes: %d is negative", l.MaxHeaderBytes)
	}
	return nil
}

// Server returns a server of h with the timeouts and header size of l;
// ErrorLog and the other fields are left to the caller. A negative
// timeout is passed on as such: net/http reads it as no timeout. A
// negative MaxHeaderBytes, which Check reports, means the default here.
func Server(h http.Handler, l Limits) *http.Server {
	maxHeader := orDefault(l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	if maxHeader < 0 {
		maxHeader = DefaultMaxHeaderBytes
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: orDefault(l.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       orDefault(l.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    maxHeader,
	}
}

// Listen returns ln limited to l's MaxConns connections open at once
// (netutil.LimitListener), or ln itself when MaxConns is negative. Closing
// the result closes ln and wakes an Accept that waits for a slot.
func Listen(ln net.Listener, l Limits) net.Listener {
	n := orDefault(l.MaxConns, DefaultMaxConns)
	if n < 0 {
		return ln
	}
	return netutil.LimitListener(ln, n)
}

// orDefault is v, or def when v is zero.
func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
