package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// errNoUpstream means every upstream was unhealthy or ejected.
var errNoUpstream = errors.New("no upstream available")

// errNoHalfClose means a direction ended cleanly but its destination cannot
// shut down only its write side, so the connection is closed whole.
var errNoHalfClose = errors.New("connection cannot half-close")

// conn is one client connection and, once connected, its upstream.
type conn struct {
	client   net.Conn
	upstream net.Conn           // set under Proxy.mu once connected
	lc       *loopConn          // set under Proxy.mu when a loop carries the conn
	cancel   context.CancelFunc // cancels the connect
	start    time.Time
	last     atomic.Int64 // time.Since(start) at the last observed activity
}

// touch records activity now.
func (c *conn) touch() { c.last.Store(int64(time.Since(c.start))) }

// progress is a number that grows whenever one of c's TCP sockets receives
// bytes or has sent bytes acknowledged, as the kernel counts them
// (TCP_INFO); other conns contribute nothing.
func (c *conn) progress() uint64 {
	if c.lc != nil {
		return c.lc.progress()
	}
	return tcpProgress(c.client) + tcpProgress(c.upstream)
}

func tcpProgress(nc net.Conn) uint64 {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	var n uint64
	rc.Control(func(fd uintptr) { n = fdProgress(int(fd)) })
	return n
}

// fdProgress is tcpProgress for a socket descriptor.
func fdProgress(fd int) uint64 {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0
	}
	return info.Bytes_received + info.Bytes_acked
}

// idleFor is the time since the last observed activity.
func (c *conn) idleFor() time.Duration { return time.Since(c.start) - time.Duration(c.last.Load()) }

// track starts serving an accepted connection; it holds a MaxConns slot.
func (p *Proxy) track(nc net.Conn) {
	p.total.Add(1)
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{client: nc, cancel: cancel, start: time.Now()}
	p.mu.Lock()
	if p.stopping {
		// Accepted as the listener closed: the client sees a plain close.
		p.mu.Unlock()
		cancel()
		nc.Close()
		p.release()
		return
	}
	p.conns[c] = struct{}{}
	p.active.Add(1)
	p.wg.Add(1)
	p.mu.Unlock()
	go p.handle(ctx, c)
}

// handle connects c to an upstream and proxies until both directions end,
// then releases everything c holds.
func (p *Proxy) handle(ctx context.Context, c *conn) {
	defer func() {
		c.cancel()
		c.client.Close()
		p.mu.Lock()
		if c.upstream != nil {
			c.upstream.Close()
		}
		delete(p.conns, c)
		p.mu.Unlock()
		p.active.Add(-1)
		p.release()
		p.wg.Done()
	}()

	var key string
	if p.clientKey != nil {
		key = p.clientKey(c.client)
	}
	u, uc, err := p.connect(ctx, key)
	if err != nil {
		if errors.Is(err, errNoUpstream) {
			p.rejected.Add(1)
		}
		if ce := p.log.Check(zap.DebugLevel, "connection not proxied"); ce != nil {
			ce.Write(zap.Stringer("client", c.client.RemoteAddr()), zap.Error(err))
		}
		return
	}
	defer u.active.Add(-1)
	p.mu.Lock()
	if p.forced {
		p.mu.Unlock()
		hardClose(uc)
		return
	}
	c.upstream = uc
	p.mu.Unlock()
	p.pipe(c, u)
}

// connect dials an upstream chosen by the balancer, retrying on other
// available upstreams. The chosen upstream's active count is held on
// success.
func (p *Proxy) connect(ctx context.Context, key string) (*upstream, net.Conn, error) {
	var tried []bool
	var lastErr error
	for attempt := 0; attempt <= p.retries; attempt++ {
		now := p.clock.Now()
		u := p.bal.pick(key, func(u *upstream) bool {
			return (tried == nil || !tried[u.index]) && u.available(now)
		})
		if u == nil {
			if attempt == 0 {
				return nil, nil, errNoUpstream
			}
			break
		}
		if attempt > 0 {
			p.retried.Add(1)
		}
		uc, err := p.dialUpstream(ctx, u)
		if err == nil {
			p.connected(u)
			return u, uc, nil
		}
		u.active.Add(-1)
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("connect to %s: %w", u.addr, context.Cause(ctx))
		}
		p.connectFailed(u, err)
		lastErr = err
		if tried == nil {
			tried = make([]bool, len(p.ups))
		}
		tried[u.index] = true
	}
	return nil, nil, lastErr
}

// dialUpstream connects to u within ConnectTimeout, with TLS if configured.
func (p *Proxy) dialUpstream(ctx context.Context, u *upstream) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.connectTimeout)
	defer cancel()
	c, err := p.dial(ctx, "tcp", u.addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u.addr, err)
	}
	if u.tls == nil {
		return c, nil
	}
	tc := tls.Client(c, u.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", u.addr, err)
	}
	return tc, nil
}

// result is how one direction of a connection ended.
type result struct {
	up  bool // client to upstream
	n   int64
	err error // nil: clean EOF, propagated with a half-close
}

// pipe copies both directions of a connected c, in an event loop for plain
// TCP (loop.go) or else in a goroutine each, and supervises them: an error
// in one direction (or IdleTimeout) closes both sides, resetting them if a
// peer reset; clean ends half-close. It returns when both directions have
// ended and, for a loop, the sockets are closed.
func (p *Proxy) pipe(c *conn, u *upstream) {
	results := make(chan result, 2)
	if lc := p.joinLoop(c, results); lc != nil {
		defer func() {
			lc.requestClose(false)
			<-lc.closed
		}()
	} else {
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			n, err := p.copyDir(c, c.upstream, c.client, &p.bytesUp)
			results <- result{up: true, n: n, err: err}
		}()
		go func() {
			defer p.wg.Done()
			n, err := p.copyDir(c, c.client, c.upstream, &p.bytesDown)
			results <- result{n: n, err: err}
		}()
	}

	// The idle check runs every IdleTimeout/4. It sees activity in the
	// kernel's per-socket counters (bytes received and bytes acknowledged
	// by the peer), which splice updates like any copy and which move even
	// while a copy is blocked writing to a slow reader, and in the copy
	// loops' touches for conns that are not TCP.
	//
	// A check that runs later than a tick after it was due does not close
	// the connection: the proxy's own process was not running meanwhile
	// (a GC or scheduling stall), so it could not see activity either, and
	// peers in the same process were stalled with it. It re-arms, and the
	// next check, on time, decides from fresh counters.
	var idle <-chan time.Time
	var idleTimer *time.Timer
	var progress uint64
	var due time.Time
	tick := max(p.idleTimeout/4, time.Millisecond)
	if p.idleTimeout > 0 {
		progress = c.progress()
		idleTimer = time.NewTimer(tick)
		defer idleTimer.Stop()
		idle = idleTimer.C
		due = time.Now().Add(tick)
	}
	var (
		reason     string
		nUp, nDown int64
		firstErr   error
		aborted    bool
		pending    = 2
	)
	for pending > 0 {
		select {
		case r := <-results:
			pending--
			if r.up {
				nUp = r.n
			} else {
				nDown = r.n
			}
			if r.err == nil || aborted {
				continue
			}
			aborted = true
			firstErr = r.err
			reset := isReset(r.err)
			switch {
			case errors.Is(r.err, errNoHalfClose):
				reason = "eof"
			case reset:
				reason = "reset"
			default:
				reason = "error"
			}
			abort(c, reset)
		case <-idle:
			if now := c.progress(); now != progress {
				progress = now
				c.touch()
			}
			late := time.Since(due) > tick
			if late || c.idleFor() < p.idleTimeout {
				idleTimer.Reset(tick)
				due = time.Now().Add(tick)
				continue
			}
			idle = nil
			if !aborted {
				aborted = true
				reason = "idle"
				p.idleClosed.Add(1)
				abort(c, false)
			}
		}
	}
	if reason == "" {
		reason = "eof"
	}
	if ce := p.log.Check(zap.DebugLevel, "connection closed"); ce != nil {
		ce.Write(zap.Stringer("client", c.client.RemoteAddr()), zap.String("upstream", u.addr),
			zap.String("reason", reason), zap.Int64("bytes_up", nUp), zap.Int64("bytes_down", nDown),
			zap.Duration("duration", time.Since(c.start)), zap.NamedError("cause", firstErr))
	}
}

// joinLoop hands c to an event loop if both its sides are plain TCP, and
// returns the loopConn whose directions report to results; nil means c is
// not in a loop (other conn types, or no descriptor to spare) and its
// conns are untouched.
func (p *Proxy) joinLoop(c *conn, results chan<- result) *loopConn {
	client, ok := c.client.(*net.TCPConn)
	if !ok {
		return nil
	}
	upstream, ok := c.upstream.(*net.TCPConn)
	if !ok {
		return nil
	}
	l, err := p.loops.pick()
	if err != nil {
		p.log.Debug("no event loop; copying in goroutines", zap.Error(err))
		return nil
	}
	lc, err := newLoopConn(p, c, l, client, upstream, results)
	if err != nil {
		p.log.Debug("no event loop; copying in goroutines", zap.Error(err))
		return nil
	}
	if !l.submit(loopOp{add: lc}) {
		// The loop has stopped, which only a failed epoll_wait does while
		// the proxy runs: the conn is lost.
		lc.release(errLoopClosed)
		return lc
	}
	p.mu.Lock()
	c.lc = lc
	forced := p.forced
	p.mu.Unlock()
	if forced {
		lc.requestClose(false)
	}
	return lc
}

// copyDir copies src to dst until EOF, then half-closes dst. Bytes are added
// to total and activity recorded on c as they are delivered.
func (p *Proxy) copyDir(c *conn, dst, src net.Conn, total *atomic.Uint64) (int64, error) {
	n, err := p.bufferCopy(c, dst, src, total)
	if err != nil {
		return n, err
	}
	return n, closeWrite(dst)
}

// bufferCopy is io.Copy through one pooled buffer, for connections that
// are not in an event loop (TLS on either side, or conns of other types).
// It records activity as bytes arrive.
func (p *Proxy) bufferCopy(c *conn, dst, src net.Conn, total *atomic.Uint64) (int64, error) {
	bp := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(bp)
	buf := *bp
	var sum int64
	for {
		nr, er := src.Read(buf)
		if nr > 0 {
			c.touch()
			nw, ew := dst.Write(buf[:nr])
			if nw > 0 {
				sum += int64(nw)
				total.Add(uint64(nw))
				c.touch()
			}
			if ew != nil {
				return sum, ew
			}
			if nw != nr {
				return sum, io.ErrShortWrite
			}
		}
		if er == io.EOF {
			return sum, nil
		}
		if er != nil {
			return sum, er
		}
	}
}

// closeWrite shuts down the write side of c so its peer reads EOF, keeping
// the read side open. For TLS it sends close_notify and then shuts down the
// TCP write side, for peers that wait for a FIN.
func closeWrite(c net.Conn) error {
	type closeWriter interface{ CloseWrite() error }
	switch c := c.(type) {
	case *tls.Conn:
		if err := c.CloseWrite(); err != nil {
			return err
		}
		if cw, ok := c.NetConn().(closeWriter); ok {
			return cw.CloseWrite()
		}
		return nil
	case closeWriter:
		return c.CloseWrite()
	default:
		return errNoHalfClose
	}
}

// abort closes both sides of c at once; with reset, it makes them send RST
// rather than FIN, so a peer's reset reaches the other peer as a reset.
func abort(c *conn, reset bool) {
	if c.lc != nil {
		c.lc.requestClose(reset)
		return
	}
	if reset {
		setLingerZero(c.client)
		setLingerZero(c.upstream)
	}
	hardClose(c.client)
	hardClose(c.upstream)
}

// hardClose closes c without blocking: a TLS conn's transport is closed
// first, so tls.Conn.Close cannot wait to send close_notify.
func hardClose(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		tc.NetConn().Close()
	}
	c.Close()
}

func setLingerZero(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
}

// isReset reports errors that mean a peer reset or vanished.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
