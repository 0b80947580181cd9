package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// Upstream is one backend the proxy carries connections to.
type Upstream struct {
	// Addr is the upstream's address as host:port. It is passed unchanged to
	// Config.Dial, labels the upstream's metrics and, with Config.TLS, gives
	// the default TLS ServerName (its host).
	Addr string
	// Weight is the upstream's relative share of new connections under every
	// Balance; 0 means 1.
	Weight int
}

// Balance names the algorithm that chooses an upstream for a new connection.
// Every algorithm skips upstreams that are unhealthy (active checks) or
// ejected (passive failures), and upstreams already tried for the same
// connection.
type Balance string

const (
	// RoundRobin is nginx's smooth weighted round robin: with weights 5, 1, 1
	// the order is a, a, b, a, c, a, a, and it repeats.
	RoundRobin Balance = "round-robin"
	// LeastConn picks the upstream with the fewest active connections per
	// unit of weight; ties are broken by smooth weighted round robin.
	LeastConn Balance = "least-conn"
	// RandomTwo draws two upstreams at random, each with probability
	// proportional to its weight, and picks the one with fewer active
	// connections per unit of weight (the power of two choices).
	RandomTwo Balance = "random-two"
	// Hash is weighted rendezvous hashing on the client key (Config.ClientKey):
	// a key always maps to the same upstream while that upstream is
	// available, each upstream gets a share of keys proportional to its
	// weight (a stable 90/10 experiment split, say), and when an upstream
	// goes away or comes back only the keys it owns move.
	Hash Balance = "hash"
)

// HealthCheck configures active TCP connect checks, one prober per upstream.
// An upstream starts healthy; it turns unhealthy after Fall consecutive
// failed checks and healthy again after Rise consecutive successful ones.
type HealthCheck struct {
	// Interval is the time between two checks of an upstream; zero turns
	// active checks off. The first check runs when the proxy starts serving.
	Interval time.Duration
	// Timeout bounds one connect; zero means 1s.
	Timeout time.Duration
	// Rise is the number of consecutive successes that bring an unhealthy
	// upstream back; zero means 2.
	Rise int
	// Fall is the number of consecutive failures that take a healthy
	// upstream out; zero means 3.
	Fall int
}

// Config is the plain-data specification of a Proxy. Zero fields take the
// defaults documented on each; New validates the rest.
type Config struct {
	// Upstreams are the backends; at least one, with distinct addresses.
	Upstreams []Upstream
	// Balance chooses an upstream per connection; empty means RoundRobin.
	Balance Balance
	// ConnectTimeout bounds one connect to an upstream, TLS handshake
	// included; zero means 5s.
	ConnectTimeout time.Duration
	// IdleTimeout closes a connection that moved no byte in either direction
	// for this long; zero means DefaultIdleTimeout, negative never. Activity is checked every
	// IdleTimeout/4, so an idle connection is closed between IdleTimeout and
	// 1.25×IdleTimeout after its last byte, later if the proxy's process
	// stalls (a check that runs late re-arms instead of closing). A client
	// that reads, however slowly, is not idle.
	IdleTimeout time.Duration
	// MaxConns caps the connections open at once; zero means
	// DefaultMaxConns, negative no cap. At the cap the proxy stops
	// accepting, so new clients wait in the kernel's listen backlog
	// (back-pressure) until a connection ends.
	MaxConns int
	// Retries is how many times a failed connect is retried, each time on
	// another available upstream; zero means 2, negative means never. It is
	// bounded by len(Upstreams)-1.
	Retries int
	// HealthCheck configures active checks; the zero value turns them off.
	HealthCheck HealthCheck
	// EjectAfter ejects an upstream after this many consecutive connect
	// failures (passive checks, like twemproxy's server_failure_limit); zero
	// means 3, negative means never.
	EjectAfter int
	// RetryTimeout is how long an ejected upstream is skipped before new
	// connections try it again (twemproxy's server_retry_timeout); zero means
	// 30s. A success clears the ejection; a failure ejects it again at once.
	RetryTimeout time.Duration
	// Dial connects to an upstream with network "tcp" and an Upstream.Addr;
	// nil means (&net.Dialer{}).DialContext. It must honour ctx, which ends
	// at ConnectTimeout and when the proxy is closed. Published ports pass a
	// dialer that connects inside the pod's network namespace.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLS, when set, turns on TLS origination: each upstream connection is
	// wrapped in tls.Client with a clone of this config (cloned once per
	// upstream by New; later changes are not seen), whose ServerName defaults
	// to the upstream's host. Active health checks stay plain TCP connects.
	TLS *tls.Config
	// ClientKey gives the key Hash balances on; nil means the client's IP
	// address. It is called once per connection and must be safe for
	// concurrent use. Unused by the other algorithms.
	ClientKey func(net.Conn) string
	// Registerer, when set, receives the proxy's metrics (podkit_proxy_*) in
	// New; Close and Shutdown unregister them. Nil means no registration;
	// Stats works either way.
	Registerer prometheus.Registerer
	// ConstLabels are added to every metric, such as {"ambassador": "redis"}
	// to tell several proxies apart in one registry.
	ConstLabels prometheus.Labels
	// Logger receives state changes (upstream down, up, ejected) at Info and
	// Warn and per-connection events at Debug; nil means zap.NewNop().
	Logger *zap.Logger
	// Clock drives health-check intervals and ejection timeouts, and only
	// those (connect and idle timeouts follow the socket's real time); nil
	// means the real clock. Tests pass a fake one.
	Clock clock.WithTicker
}

// ErrServerClosed is returned by Serve once Shutdown or Close has been
// called, like http.ErrServerClosed.
var ErrServerClosed = errors.New("proxy: server closed")

// Proxy is a TCP proxy from any number of listeners to a pool of upstreams.
// Create it with New, run it with Serve (one call per listener, each in its
// own goroutine), stop it with Shutdown or Close. All methods are safe for
// concurrent use. A Proxy cannot be restarted once stopped. Its event loops
// (one goroutine per CPU at most, each holding a thread blocked in
// epoll_wait, started by the first plain TCP connections) run until Shutdown
// or Close, even when every Serve has returned: a served Proxy must be
// stopped.
type Proxy struct {
	log            *zap.Logger
	clock          clock.WithTicker
	dial           func(ctx context.Context, network, addr string) (net.Conn, error)
	connectTimeout time.Duration
	idleTimeout    time.Duration
	retries        int
	ejectAfter     int
	retryTimeout   time.Duration
	health         HealthCheck
	clientKey      func(net.Conn) string // nil unless Balance is Hash

	ups        []*upstream
	bal        balancer
	sem        chan struct{} // one token per open connection; nil without a cap
	bufs       sync.Pool     // *[]byte of copyBufSize for copies outside the event loops
	loops      loops
	registerer prometheus.Registerer
	collector  *collector

	active     atomic.Int64
	total      atomic.Uint64
	rejected   atomic.Uint64
	retried    atomic.Uint64
	waits      atomic.Uint64
	idleClosed atomic.Uint64
	bytesUp    atomic.Uint64 // client to upstream
	bytesDown  atomic.Uint64 // upstream to client
	unregister sync.Once

	mu         sync.Mutex
	stopping   bool          // Shutdown or Close was called: accept nothing more
	forced     bool          // connections are being closed: make none more
	done       chan struct{} // closed when stopping
	listeners  map[*net.Listener]struct{}
	conns      map[*conn]struct{}
	healthOn   bool
	stopHealth context.CancelFunc

	// wg counts every goroutine the proxy runs and every Serve call, so that
	// a connection's Add always happens while its Serve's count is held.
	wg sync.WaitGroup
}

// Stats is a snapshot of a proxy's counters, for tests and status pages.
type Stats struct {
	// Active is the number of open client connections, including those
	// still connecting to an upstream.
	Active int64
	// Total is the number of client connections accepted.
	Total uint64
	// Rejected counts connections closed at once because no upstream was
	// available.
	Rejected uint64
	// Retries counts connects retried on another upstream.
	Retries uint64
	// MaxConnsWaits counts the times accepting paused at MaxConns.
	MaxConnsWaits uint64
	// IdleTimeouts counts connections closed by IdleTimeout.
	IdleTimeouts uint64
	// BytesUpstream and BytesDownstream count bytes delivered from clients to
	// upstreams and back, as they are delivered.
	BytesUpstream, BytesDownstream uint64
	// Upstreams are in the order of Config.Upstreams.
	Upstreams []UpstreamStats
}

// UpstreamStats is the state of one upstream.
type UpstreamStats struct {
	// Addr is Upstream.Addr.
	Addr string
	// Weight is the effective weight (at least 1).
	Weight int
	// Healthy is the active checks' verdict (true when checks are off).
	Healthy bool
	// Ejected is true while the upstream is skipped after consecutive
	// connect failures.
	Ejected bool
	// Active is the number of connections on the upstream, including those
	// connecting.
	Active int64
	// ConnectErrors counts failed connects (and TLS handshakes).
	ConnectErrors uint64
}

// Defaults of Config's zero IdleTimeout and MaxConns: every listener a
// proxy serves (an ambassador's, a published port's) has a bound on its
// open connections, and a connection that carries nothing is closed in
// the end. The idle timeout is Envoy's TCP proxy's, long enough for the
// pooled connections of databases and caches; the connection cap keeps
// the supervising program well inside a common descriptor limit, at
// about three descriptors a connection.
const (
	DefaultIdleTimeout = time.Hour
	DefaultMaxConns    = 1024
)

const (
	defaultConnectTimeout = 5 * time.Second
	defaultRetries        = 2
	defaultEjectAfter     = 3
	defaultRetryTimeout   = 30 * time.Second
	defaultCheckTimeout   = time.Second
	defaultRise           = 2
	defaultFall           = 3
	maxWeight             = 1_000_000
	copyBufSize           = 32 << 10
)

// New validates cfg and returns a proxy that serves nothing until Serve is
// called. Errors are prefixed "proxy: " and name the field at fault, such as
// "proxy: upstreams[1].addr: ...". New starts no goroutine and opens no
// socket; its only side effect is registering the metrics with
// cfg.Registerer, if set, which Close or Shutdown undo. So a proxy made
// without a Registerer and never served (to validate a Config, say) needs no
// Close.
func New(cfg Config) (*Proxy, error) {
	p := &Proxy{
		log:            cfg.Logger,
		clock:          cfg.Clock,
		dial:           cfg.Dial,
		connectTimeout: cfg.ConnectTimeout,
		idleTimeout:    cfg.IdleTimeout,
		retries:        cfg.Retries,
		ejectAfter:     cfg.EjectAfter,
		retryTimeout:   cfg.RetryTimeout,
		health:         cfg.HealthCheck,
		registerer:     cfg.Registerer,
		done:           make(chan struct{}),
		listeners:      make(map[*net.Listener]struct{}),
		conns:          make(map[*conn]struct{}),
	}
	if err := p.configure(cfg); err != nil {
		return nil, err
	}
	p.bufs.New = func() any {
		b := make([]byte, copyBufSize)
		return &b
	}
	p.collector = newCollector(p, cfg.ConstLabels)
	if p.registerer != nil {
		if err := p.registerer.Register(p.collector); err != nil {
			return nil, fmt.Errorf("proxy: registerer: %w", err)
		}
	}
	return p, nil
}

// Serve accepts connections on ln and proxies each to an upstream, until
// Shutdown or Close is called or ln fails. It blocks; call it once per
// listener, each in its own goroutine. Serve always closes ln before it
// returns and returns a non-nil error: ErrServerClosed after Shutdown or
// Close, else the accept error (transient ones such as EMFILE are retried
// with backoff). Connections already accepted keep running after a failed
// ln; Shutdown or Close ends them. The first Serve starts the health checks.
func (p *Proxy) Serve(ln net.Listener) error {
	l := &ln
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	p.listeners[l] = struct{}{}
	p.wg.Add(1)
	p.startHealthLocked()
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.listeners, l)
		p.mu.Unlock()
		ln.Close() // may already be closed by Shutdown or Close
		p.wg.Done()
	}()

	var backoff time.Duration
	for {
		if err := p.acquire(); err != nil {
			return err
		}
		nc, err := ln.Accept()
		if err != nil {
			p.release()
			if p.isStopping() {
				return ErrServerClosed
			}
			if !transient(err) {
				return fmt.Errorf("proxy: accept: %w", err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			p.log.Warn("accept failed; retrying", zap.Error(err), zap.Duration("backoff", backoff))
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-p.done:
				t.Stop()
				return ErrServerClosed
			}
			continue
		}
		backoff = 0
		p.track(nc)
	}
}

// Shutdown stops the proxy gracefully: it closes the listeners (so every
// Serve returns ErrServerClosed), stops the health checks, and waits for the
// open connections to end by themselves (or by IdleTimeout). If ctx ends
// first, it closes them and returns ctx's error. Either way it returns only
// when every goroutine the proxy started has exited and its metrics are
// unregistered; an error from closing a listener is joined to the result.
// A Config.Dial that ignores its context can delay the return.
func (p *Proxy) Shutdown(ctx context.Context) error {
	err := p.beginStop()
	idle := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(idle)
	}()
	select {
	case <-idle:
	case <-ctx.Done():
		p.forceClose()
		<-idle
		err = errors.Join(ctx.Err(), err)
	}
	p.finish()
	return err
}

// Close stops the proxy at once: it closes the listeners and every
// connection, then returns when every goroutine the proxy started has exited
// and its metrics are unregistered. It returns the errors of closing the
// listeners, if any. Calling it again, or after Shutdown, is harmless.
func (p *Proxy) Close() error {
	err := p.beginStop()
	p.forceClose()
	p.wg.Wait()
	p.finish()
	return err
}

// Stats returns a snapshot of the proxy's counters and upstream states. It
// does not block on traffic.
func (p *Proxy) Stats() Stats {
	now := p.clock.Now()
	s := Stats{
		Active:          p.active.Load(),
		Total:           p.total.Load(),
		Rejected:        p.rejected.Load(),
		Retries:         p.retried.Load(),
		MaxConnsWaits:   p.waits.Load(),
		IdleTimeouts:    p.idleClosed.Load(),
		BytesUpstream:   p.bytesUp.Load(),
		BytesDownstream: p.bytesDown.Load(),
		Upstreams:       make([]UpstreamStats, len(p.ups)),
	}
	for i, u := range p.ups {
		s.Upstreams[i] = UpstreamStats{
			Addr:          u.addr,
			Weight:        u.weight,
			Healthy:       u.healthy.Load(),
			Ejected:       u.ejected(now),
			Active:        u.active.Load(),
			ConnectErrors: u.connectErrors.Load(),
		}
	}
	return s
}

// acquire takes a connection slot, waiting while MaxConns connections are
// open. It fails only when the proxy stops.
func (p *Proxy) acquire() error {
	if p.sem == nil {
		return nil
	}
	select {
	case p.sem <- struct{}{}:
		return nil
	default:
	}
	p.waits.Add(1)
	p.log.Debug("at max connections; accepting paused", zap.Int("max_conns", cap(p.sem)))
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-p.done:
		return ErrServerClosed
	}
}

func (p *Proxy) release() {
	if p.sem != nil {
		<-p.sem
	}
}

func (p *Proxy) isStopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

// beginStop makes the proxy accept nothing more: listeners closed, waiters
// woken, health checks cancelled.
func (p *Proxy) beginStop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopping {
		p.stopping = true
		close(p.done)
		if p.stopHealth != nil {
			p.stopHealth()
		}
	}
	var errs []error
	for l := range p.listeners {
		if err := (*l).Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("proxy: close listener %s: %w", (*l).Addr(), err))
		}
	}
	return errors.Join(errs...)
}

// forceClose closes every connection and cancels those still connecting;
// connections that finish connecting afterwards close themselves.
func (p *Proxy) forceClose() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forced = true
	for c := range p.conns {
		c.cancel()
		if c.lc != nil {
			c.lc.requestClose(false)
			continue
		}
		hardClose(c.client)
		if c.upstream != nil {
			hardClose(c.upstream)
		}
	}
}

// finish runs once everything has stopped.
func (p *Proxy) finish() {
	p.loops.stop()
	p.unregister.Do(func() {
		if p.registerer != nil {
			p.registerer.Unregister(p.collector)
		}
	})
}

// transient reports accept errors worth retrying: running out of file
// descriptors or memory passes once connections close.
func transient(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED)
}
