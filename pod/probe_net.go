package pod

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Probes cost the CPU they do mostly in waking threads: the dialer's, the
// prober's and the server's. So TCP dials to an IP address take a socket
// that the dialer made ahead of need, instead of a round trip to the
// dialer's thread per dial, and connect it in the caller; TCP probes, and
// plain HTTP probes and hooks, use the bare socket, not a net.Conn; and the checks of a
// pod's probes fall on a common grid of their period, so that those due at
// the same time wake the prober (and the server) once.

// socketBatch is how many sockets of a family the dialer makes at a time.
const socketBatch = 16

// socketRequest asks the dialer for a TCP socket of a family (0 IPv4, 1
// IPv6); it replies with one and refills the pool.
type socketRequest struct {
	family int
	reply  chan socketResult
}

type socketResult struct {
	fd  int
	err error
}

// makeSockets serves req on the dialer's thread; nsErr is its failure to
// enter the pod's namespace.
func (d *dialer) makeSockets(req socketRequest, nsErr error) {
	if nsErr != nil {
		req.reply <- socketResult{fd: -1, err: fmt.Errorf("setns: %w", nsErr)}
		return
	}
	fd, err := tcpSocket(req.family)
	req.reply <- socketResult{fd, err}
	pool := d.pool[req.family]
	for err == nil && len(pool) < cap(pool) {
		if fd, err = tcpSocket(req.family); err == nil {
			pool <- fd // only this thread fills the pool: there is room
		}
	}
}

func tcpSocket(family int) (int, error) {
	domain := unix.AF_INET
	if family == 1 {
		domain = unix.AF_INET6
	}
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// drainPool closes the sockets left in the pool once the dialer has ended.
func (d *dialer) drainPool() {
	for _, pool := range d.pool {
		for len(pool) > 0 {
			unix.Close(<-pool)
		}
	}
}

// socket returns an unconnected TCP socket made in the pod's namespace.
func (d *dialer) socket(ctx context.Context, family int) (int, error) {
	select {
	case fd := <-d.pool[family]:
		return fd, nil
	default:
	}
	reply := make(chan socketResult, 1)
	select {
	case d.sockets <- socketRequest{family, reply}:
	case <-d.stop:
		return -1, ErrNotRunning
	case <-ctx.Done():
		return -1, context.Cause(ctx)
	}
	r := <-reply
	return r.fd, r.err
}

// tcpSockaddr returns the socket address of a dial to a TCP network and an
// IP address with a port, and the family of socket it needs; ok is false
// for any other dial.
func tcpSockaddr(network, addr string) (family int, sa unix.Sockaddr, ok bool) {
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return 0, nil, false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, nil, false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return 0, nil, false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return 0, nil, false
	}
	ip = ip.Unmap()
	switch {
	case ip.Is4() && network != "tcp6":
		return 0, &unix.SockaddrInet4{Port: int(n), Addr: ip.As4()}, true
	case ip.Is6() && network != "tcp4":
		return 1, &unix.SockaddrInet6{Port: int(n), Addr: ip.As16()}, true
	}
	return 0, nil, false
}

// dialTCP connects a socket made in the pod's namespace to sa, and returns
// it as a *net.TCPConn, set up as net.Dialer sets it up.
func (d *dialer) dialTCP(ctx context.Context, family int, sa unix.Sockaddr) (net.Conn, error) {
	fd, err := d.socket(ctx, family)
	if err != nil {
		return nil, err
	}
	f, err := connect(ctx, fd, sa)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return net.FileConn(f)
}

// connect connects fd, a non-blocking socket, to sa, and returns it as a
// file in the runtime's poller. The file owns fd; on an error, fd is
// closed.
func connect(ctx context.Context, fd int, sa unix.Sockaddr) (*os.File, error) {
	done, err := startConnect(fd, sa)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "")
	if !done {
		if err := waitConnected(ctx, f); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// startConnect starts connecting fd, a non-blocking socket, to sa, and
// reports whether the connection is done, as it is at once on loopback.
func startConnect(fd int, sa unix.Sockaddr) (done bool, err error) {
	switch err := unix.Connect(fd, sa); err {
	case nil:
		return true, nil
	case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		return connected(fd)
	default:
		return true, os.NewSyscallError("connect", err)
	}
}

// connected reports whether the connect in progress on fd is done, and if
// it failed, why.
func connected(fd int) (bool, error) {
	if _, err := unix.Getpeername(fd); err == nil {
		return true, nil
	}
	switch v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); {
	case err != nil:
		return true, os.NewSyscallError("getsockopt", err)
	case v != 0:
		return true, os.NewSyscallError("connect", syscall.Errno(v))
	}
	return false, nil
}

// waitConnected waits until the connect in progress on f is done, or ctx
// is.
func waitConnected(ctx context.Context, f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	if deadline, ok := ctx.Deadline(); ok {
		if err := f.SetWriteDeadline(deadline); err != nil {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var connErr error
	err = rc.Write(func(fd uintptr) bool {
		var done bool
		done, connErr = connected(int(fd))
		return done
	})
	if err != nil {
		return ctxErr(ctx, err)
	}
	if connErr == nil {
		_ = f.SetWriteDeadline(time.Time{})
	}
	return connErr
}

// ctxErr is err, or if err is the timeout of a deadline set from ctx, why
// ctx is done.
func ctxErr(ctx context.Context, err error) error {
	if !os.IsTimeout(err) {
		return err
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		return context.DeadlineExceeded // ctx's timer is about to say so
	}
	return err
}

// probeTCP runs a TCP probe: it connects to addr from inside the pod and
// closes the connection at once.
func (p *Pod) probeTCP(ctx context.Context, addr string) error {
	family, sa, ok := tcpSockaddr("tcp", addr)
	if !ok { // a host name
		conn, err := p.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return closeProbe(conn)
	}
	d, err := p.podDialer()
	if err != nil {
		return fmt.Errorf("pod %q: dial: %w", p.name, err)
	}
	fd, err := d.socket(ctx, family)
	if err != nil {
		return fmt.Errorf("dial tcp %s: %w", addr, err)
	}
	abortOnClose(fd)
	done, err := startConnect(fd, sa)
	if err == nil && !done {
		f := os.NewFile(uintptr(fd), "") // owns fd
		err = waitConnected(ctx, f)
		f.Close()
	} else {
		unix.Close(fd)
	}
	if err != nil {
		// As net.Dialer words it, and the kubelet's event with it.
		return fmt.Errorf("dial tcp %s: %w", addr, err)
	}
	return nil
}

// abortOnClose sets SO_LINGER 0 on a probe's socket: closing it resets the
// connection, and leaves no socket in TIME_WAIT (up to 60 s each) in the
// pod, 12,000 of them at 200 checks a second.
func abortOnClose(fd int) {
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
}

// closeProbe closes a probe's connection, resetting a TCP one.
func closeProbe(c interface{ Close() error }) error {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return c.Close()
}

// nextCheck returns how long a probe with this period waits for its next
// check. Checks fall on a grid of the period from the pod's start, as the
// kubelet's probes tick from when it adds the pod: the probes of a pod that
// have the same period are checked together.
func (p *Pod) nextCheck(period time.Duration) time.Duration {
	p.mu.Lock()
	start := p.status.StartTime
	p.mu.Unlock()
	return period - p.clock.Since(start)%period
}
