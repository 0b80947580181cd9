package ambassador

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/podkit/podkit/internal/proxy"
	"github.com/podkit/podkit/pod"
)

// TCP is a TCP ambassador: the application connects to Listen inside its
// pod (127.0.0.1:6379, as if its Redis were local), and the ambassador
// carries each connection to one of the upstreams outside, picked by a load
// balancer, with health checks, ejection of failing upstreams, retries and,
// where asked, TLS. Bytes are moved by splice(2) between the two sockets
// when neither side speaks TLS.
//
// A TCP is configuration; Container and Run do not change it.
type TCP struct {
	// Listen is the address the ambassador listens on, inside the pod when
	// it runs in-process: "127.0.0.1:6379". Required.
	Listen string `json:"listen" help:"address to listen on (inside the pod under podkit run)"`
	// Upstreams are the servers the traffic goes to, host:port with a
	// weight (0 means 1). Required.
	Upstreams []Upstream `json:"upstreams" flag:"upstream" help:"an upstream: host:port, or {addr: host:port, weight: N}"`
	// Balance picks an upstream per connection; empty means RoundRobin.
	Balance Balance `json:"balance,omitempty" help:"round-robin, least-conn, random-two or hash"`
	// ConnectTimeout bounds a connection to an upstream. Zero means 5s.
	ConnectTimeout time.Duration `json:"connectTimeout,omitempty" help:"bound of a connect to an upstream (default 5s)"`
	// IdleTimeout closes a connection with no bytes either way for this
	// long. Zero means 1h, negative never.
	IdleTimeout time.Duration `json:"idleTimeout,omitempty" help:"close a connection idle this long (default 1h; negative: never)"`
	// MaxConns bounds the open connections; at the limit the ambassador
	// stops accepting until one ends, and clients wait in the kernel's
	// accept queue. Zero means 1024, negative no limit.
	MaxConns int `json:"maxConns,omitempty" help:"stop accepting at this many open connections (default 1024; negative: no limit)"`
	// Retries is how many times a failed connect moves on to the next
	// healthy upstream. Zero means 2.
	Retries int `json:"retries,omitempty" help:"connect retries on the next upstream (default 2)"`
	// HealthCheck actively checks the upstreams with TCP connects.
	HealthCheck HealthCheck `json:"healthCheck,omitempty" help:"active TCP health checks: {interval: 1s, timeout: 1s, rise: 2, fall: 3} (default off)"`
	// EjectAfter ejects an upstream after this many connect failures in a
	// row, for RetryTimeout (twemproxy's auto_eject_hosts). Zero means 3,
	// negative never.
	EjectAfter int `json:"ejectAfter,omitempty" help:"eject an upstream after this many connect failures in a row (default 3; -1 never)"`
	// RetryTimeout is how long an ejected upstream is skipped before new
	// connections try it again; a success clears the ejection, a failure
	// ejects it again at once. Zero means 30s.
	RetryTimeout time.Duration `json:"retryTimeout,omitempty" help:"try an ejected upstream again after (default 30s)"`
	// TLS originates TLS to the upstreams; the application speaks
	// plaintext.
	TLS *ClientTLS `json:"tls,omitempty" help:"speak TLS to the upstreams: {caFile, serverName, certFile, keyFile, insecureSkipVerify} ({} for the defaults)"`
	// ListenTLS terminates TLS from the clients; the upstreams get
	// plaintext.
	ListenTLS *ServerTLS `json:"listenTLS,omitempty" help:"terminate TLS from clients: {certFile, keyFile}"`
	// Registerer, when set, receives the ambassador's metrics
	// (podkit_proxy_...), labelled ambassador=<container name>.
	Registerer prometheus.Registerer `json:"-"`
	// Logger logs upstream failures; nil means none.
	Logger *zap.Logger `json:"-"`
}

// Upstream is a server a TCP ambassador forwards to.
type Upstream struct {
	// Addr is the server's address, host:port; the host is resolved at
	// each connect. Required; the upstreams of a TCP have distinct
	// addresses. It labels the upstream's metrics and, with TCP.TLS, gives
	// the default TLS server name (its host).
	Addr string `json:"addr" member:"primary"`
	// Weight is the upstream's relative share of new connections under
	// every Balance, from 0 to 1,000,000. Zero means 1.
	Weight int `json:"weight,omitempty"`
}

// HealthCheck configures active TCP health checks: every Interval, a
// connect within Timeout; Rise successes in a row make an upstream healthy,
// Fall failures unhealthy. The zero value means no checks.
type HealthCheck struct {
	// Interval is the time between two checks of an upstream. Zero turns
	// active checks off; the first check runs when the ambassador starts
	// serving.
	Interval time.Duration `json:"interval,omitempty"`
	// Timeout bounds one connect. Zero means 1s.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Rise is how many successes in a row bring an unhealthy upstream
	// back. Zero means 2.
	Rise int `json:"rise,omitempty"`
	// Fall is how many failures in a row take a healthy upstream out.
	// Zero means 3.
	Fall int `json:"fall,omitempty"`
}

// Balance is a load-balancing algorithm; every algorithm skips upstreams
// that are unhealthy or ejected, and those already tried for the same
// connection. The empty Balance is RoundRobin.
type Balance string

// Load-balancing algorithms.
const (
	// RoundRobin takes the upstreams in turn, by weight (smooth weighted
	// round robin: with weights 5, 1, 1 the order is a, a, b, a, c, a, a).
	RoundRobin Balance = "round-robin"
	// LeastConn takes the upstream with the fewest open connections, by
	// weight.
	LeastConn Balance = "least-conn"
	// RandomTwo takes the less loaded of two upstreams picked at random,
	// by weight.
	RandomTwo Balance = "random-two"
	// Hash sticks each client (by IP) to an upstream by consistent
	// hashing; weights split the clients, as a 90/10 experiment does,
	// stably.
	Hash Balance = "hash"
)

// Container returns an in-process sidecar named name that runs t, with a
// startup probe that passes once it listens (so the containers after it
// start once the application can connect). It checks t, and names the
// first bad field.
func (t TCP) Container(name string) (pod.Container, error) {
	if name == "" {
		return pod.Container{}, errors.New("ambassador: tcp: name: required")
	}
	if _, err := t.config(name); err != nil {
		return pod.Container{}, err
	}
	if _, err := t.ListenTLS.config(); err != nil {
		return pod.Container{}, fmt.Errorf("ambassador: tcp: listenTLS: %w", err)
	}
	args, err := exportArgs("tcp", t)
	if err != nil {
		return pod.Container{}, err
	}
	c := pod.Container{Name: name, RestartPolicy: pod.RestartAlways, Func: t.Run, ExportArgs: args}
	c.StartupProbe = pod.ListenProbe(t.Listen)
	return c, nil
}

// config returns the proxy's configuration, checked, without metrics.
func (t TCP) config(name string) (proxy.Config, error) {
	if _, _, err := net.SplitHostPort(t.Listen); err != nil {
		return proxy.Config{}, fmt.Errorf("ambassador: tcp: listen: %q: %w", t.Listen, err)
	}
	tlsConfig, err := t.TLS.config()
	if err != nil {
		return proxy.Config{}, fmt.Errorf("ambassador: tcp: tls: %w", err)
	}
	upstreams := make([]proxy.Upstream, len(t.Upstreams))
	for i, u := range t.Upstreams {
		upstreams[i] = proxy.Upstream(u)
	}
	cfg := proxy.Config{
		Upstreams:      upstreams,
		Balance:        proxy.Balance(t.Balance),
		ConnectTimeout: t.ConnectTimeout,
		IdleTimeout:    t.IdleTimeout,
		MaxConns:       t.MaxConns,
		Retries:        t.Retries,
		HealthCheck:    proxy.HealthCheck(t.HealthCheck),
		EjectAfter:     t.EjectAfter,
		RetryTimeout:   t.RetryTimeout,
		TLS:            tlsConfig,
		ConstLabels:    prometheus.Labels{"ambassador": name},
		Logger:         t.Logger,
	}
	// Validate now, so that Container names a bad field.
	if _, err := proxy.New(cfg); err != nil {
		return proxy.Config{}, fmt.Errorf("ambassador: tcp: %w", err)
	}
	return cfg, nil
}

// Run proxies until ctx is done, then stops accepting, lets the open
// connections finish until the container is killed (pod.InProcess.Killed;
// outside a pod, until they are done), closes what is left and returns.
// In-process (see pod.FromContext) it listens inside the pod's network
// namespace and connects to the upstreams from the supervising program's:
// the pod's only way out. Outside a pod (the process form, in a pod
// exported to Kubernetes) it does both where it runs. Run returns an error
// if t is invalid or it cannot listen; it leaves no goroutine, connection or
// metric registered behind.
//
// While it runs, Run's goroutines are: one accepting connections, one per
// open connection (and, for a connection where TLS or another conn type
// rules out the event loops, one per direction), the event loops that copy
// plain TCP connections (up to GOMAXPROCS, at most 8, started as
// connections need them), one health-check loop per upstream when
// HealthCheck is set, and, during the drain, one that ends it when the
// container is killed. Run stops them all, and they have exited when it
// returns.
func (t TCP) Run(ctx context.Context) error {
	name := "tcp"
	if self, ok := pod.FromContext(ctx); ok {
		name = self.Container
	}
	cfg, err := t.config(name)
	if err != nil {
		return err
	}
	cfg.Registerer = t.Registerer
	serverTLS, err := t.ListenTLS.config()
	if err != nil {
		return fmt.Errorf("ambassador: tcp: listenTLS: %w", err)
	}
	px, err := proxy.New(cfg)
	if err != nil {
		return fmt.Errorf("ambassador: tcp: %w", err)
	}
	ln, killed, err := listen(ctx, t.Listen, serverTLS)
	if err != nil {
		px.Close()
		return fmt.Errorf("ambassador: tcp: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- px.Serve(ln) }()
	select {
	case err := <-served:
		px.Close()
		return fmt.Errorf("ambassador: tcp: %w", err)
	case <-ctx.Done():
	}
	drainCtx, cancel := untilKilled(killed)
	defer cancel()
	_ = px.Shutdown(drainCtx)
	<-served
	return nil
}
