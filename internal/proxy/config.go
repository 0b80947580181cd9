package proxy

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"unicode/utf8"

	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// configure validates cfg and fills p's derived fields and defaults.
func (p *Proxy) configure(cfg Config) error {
	if len(cfg.Upstreams) == 0 {
		return errors.New("proxy: upstreams: at least one is required")
	}
	seen := make(map[string]int, len(cfg.Upstreams))
	for i, u := range cfg.Upstreams {
		host, err := checkAddr(u.Addr)
		if err != nil {
			return fmt.Errorf("proxy: upstreams[%d].addr: %w", i, err)
		}
		if j, ok := seen[u.Addr]; ok {
			return fmt.Errorf("proxy: upstreams[%d].addr: %q duplicates upstreams[%d]", i, u.Addr, j)
		}
		seen[u.Addr] = i
		if u.Weight < 0 || u.Weight > maxWeight {
			return fmt.Errorf("proxy: upstreams[%d].weight: %d is not between 0 and %d", i, u.Weight, maxWeight)
		}
		w := max(u.Weight, 1)
		up := &upstream{index: i, addr: u.Addr, host: host, weight: w, seed: mix64(fnv64a(u.Addr) + 0x9e3779b97f4a7c15)}
		up.healthy.Store(true)
		if cfg.TLS != nil {
			up.tls = cfg.TLS.Clone()
			if up.tls.ServerName == "" {
				up.tls.ServerName = host
			}
		}
		p.ups = append(p.ups, up)
	}

	switch cfg.Balance {
	case "", RoundRobin:
		p.bal = newRoundRobin(p.ups)
	case LeastConn:
		p.bal = newLeastConn(p.ups)
	case RandomTwo:
		p.bal = &randomTwo{ups: p.ups}
	case Hash:
		p.bal = &rendezvous{ups: p.ups}
		p.clientKey = cfg.ClientKey
		if p.clientKey == nil {
			p.clientKey = remoteIP
		}
	default:
		return fmt.Errorf("proxy: balance: unknown %q (want %q, %q, %q or %q)", cfg.Balance, RoundRobin, LeastConn, RandomTwo, Hash)
	}

	switch {
	case cfg.ConnectTimeout < 0:
		return fmt.Errorf("proxy: connectTimeout: negative (%v)", cfg.ConnectTimeout)
	case cfg.ConnectTimeout == 0:
		p.connectTimeout = defaultConnectTimeout
	}
	switch {
	case cfg.IdleTimeout < 0:
		p.idleTimeout = 0 // never
	case cfg.IdleTimeout == 0:
		p.idleTimeout = DefaultIdleTimeout
	}
	switch {
	case cfg.MaxConns == 0:
		p.sem = make(chan struct{}, DefaultMaxConns)
	case cfg.MaxConns > 0:
		p.sem = make(chan struct{}, cfg.MaxConns)
	}
	switch {
	case cfg.Retries < 0:
		p.retries = 0
	case cfg.Retries == 0:
		p.retries = defaultRetries
	}
	p.retries = min(p.retries, len(p.ups)-1)

	hc := &p.health
	switch {
	case hc.Interval < 0:
		return fmt.Errorf("proxy: healthCheck.interval: negative (%v)", hc.Interval)
	case hc.Timeout < 0:
		return fmt.Errorf("proxy: healthCheck.timeout: negative (%v)", hc.Timeout)
	case hc.Rise < 0:
		return fmt.Errorf("proxy: healthCheck.rise: negative (%d)", hc.Rise)
	case hc.Fall < 0:
		return fmt.Errorf("proxy: healthCheck.fall: negative (%d)", hc.Fall)
	}
	if hc.Timeout == 0 {
		hc.Timeout = defaultCheckTimeout
	}
	if hc.Rise == 0 {
		hc.Rise = defaultRise
	}
	if hc.Fall == 0 {
		hc.Fall = defaultFall
	}

	if cfg.EjectAfter == 0 {
		p.ejectAfter = defaultEjectAfter
	}
	switch {
	case cfg.RetryTimeout < 0:
		return fmt.Errorf("proxy: retryTimeout: negative (%v)", cfg.RetryTimeout)
	case cfg.RetryTimeout == 0:
		p.retryTimeout = defaultRetryTimeout
	}

	if p.dial == nil {
		p.dial = (&net.Dialer{}).DialContext
	}
	if p.log == nil {
		p.log = zap.NewNop()
	}
	p.log = p.log.Named("proxy")
	if p.clock == nil {
		p.clock = clock.RealClock{}
	}
	return nil
}

// checkAddr accepts host:port with a non-empty host and a numeric port, and
// returns the host.
func checkAddr(addr string) (string, error) {
	if !utf8.ValidString(addr) {
		return "", fmt.Errorf("%q is not valid UTF-8", addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("want host:port: %w", err)
	}
	if host == "" {
		return "", fmt.Errorf("%q: empty host", addr)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", fmt.Errorf("%q: port %q is not a number from 1 to 65535", addr, port)
	}
	return host, nil
}

// remoteIP is the default Hash key: the client's IP address, without port.
func remoteIP(c net.Conn) string {
	switch a := c.RemoteAddr().(type) {
	case *net.TCPAddr:
		return a.IP.String()
	case nil:
		return ""
	default:
		if host, _, err := net.SplitHostPort(a.String()); err == nil {
			return host
		}
		return a.String()
	}
}
