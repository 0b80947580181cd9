package proxy

import (
	"context"
	"crypto/tls"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// upstream is an Upstream with its live state. Its fields after the first
// group are atomics because the balancers read them on every connection
// while probers and connections update them.
type upstream struct {
	index  int
	addr   string
	host   string
	weight int
	seed   uint64      // rendezvous hash of addr
	tls    *tls.Config // per-upstream clone of Config.TLS, or nil

	active        atomic.Int64  // connections picked onto this upstream and not yet ended
	connectErrors atomic.Uint64 // failed connects and TLS handshakes
	healthy       atomic.Bool   // verdict of active checks
	fails         atomic.Int64  // consecutive connect failures
	ejectedUntil  atomic.Int64  // Clock time (UnixNano) until which it is skipped; 0 when not ejected
	checks        atomic.Uint64 // completed probes, so tests can wait for one
}

// ejected reports whether passive ejection still holds at now.
func (u *upstream) ejected(now time.Time) bool {
	until := u.ejectedUntil.Load()
	return until != 0 && now.UnixNano() < until
}

// available reports whether balancers may pick u at now.
func (u *upstream) available(now time.Time) bool {
	return u.healthy.Load() && !u.ejected(now)
}

// connected records a successful connect: it clears failures and ejection.
func (p *Proxy) connected(u *upstream) {
	if u.fails.Load() != 0 {
		u.fails.Store(0)
	}
	if u.ejectedUntil.Load() != 0 && u.ejectedUntil.Swap(0) != 0 {
		p.log.Info("upstream back after ejection", zap.String("upstream", u.addr))
	}
}

// connectFailed records a failed connect and ejects u after EjectAfter
// consecutive ones, until RetryTimeout from now.
func (p *Proxy) connectFailed(u *upstream, err error) {
	u.connectErrors.Add(1)
	n := u.fails.Add(1)
	if p.ejectAfter <= 0 || n < int64(p.ejectAfter) {
		p.log.Debug("upstream connect failed", zap.String("upstream", u.addr), zap.Int64("consecutive", n), zap.Error(err))
		return
	}
	until := p.clock.Now().Add(p.retryTimeout)
	if prev := u.ejectedUntil.Swap(until.UnixNano()); prev == 0 {
		p.log.Warn("upstream ejected", zap.String("upstream", u.addr), zap.Int64("consecutive_failures", n),
			zap.Duration("retry_after", p.retryTimeout), zap.Error(err))
	}
}

// startHealthLocked starts one prober per upstream, once; p.mu is held.
func (p *Proxy) startHealthLocked() {
	if p.healthOn || p.health.Interval <= 0 {
		return
	}
	p.healthOn = true
	ctx, cancel := context.WithCancel(context.Background())
	p.stopHealth = cancel
	for _, u := range p.ups {
		p.wg.Add(1)
		go p.probeLoop(ctx, u)
	}
}

// probeLoop checks u now and then every Interval until ctx ends, moving it
// between healthy and unhealthy after Fall failures or Rise successes in a
// row.
func (p *Proxy) probeLoop(ctx context.Context, u *upstream) {
	defer p.wg.Done()
	t := p.clock.NewTicker(p.health.Interval)
	defer t.Stop()
	var ok, bad int
	for {
		err := p.probe(ctx, u)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			ok, bad = ok+1, 0
		} else {
			ok, bad = 0, bad+1
		}
		switch healthy := u.healthy.Load(); {
		case healthy && bad >= p.health.Fall:
			u.healthy.Store(false)
			p.log.Warn("upstream down", zap.String("upstream", u.addr), zap.Int("failed_checks", bad), zap.Error(err))
		case !healthy && ok >= p.health.Rise:
			u.healthy.Store(true)
			p.log.Info("upstream up", zap.String("upstream", u.addr), zap.Int("passed_checks", ok))
		}
		u.checks.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// probe is one TCP connect check.
func (p *Proxy) probe(ctx context.Context, u *upstream) error {
	ctx, cancel := context.WithTimeout(ctx, p.health.Timeout)
	defer cancel()
	c, err := p.dial(ctx, "tcp", u.addr)
	if err != nil {
		return err
	}
	return c.Close()
}
