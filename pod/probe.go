package pod

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/thread"
)

// Probe checks a container periodically, like a Kubernetes probe. Exactly
// one handler is set. Zero durations and thresholds take Kubernetes'
// defaults.
type Probe struct {
	Exec      *ExecAction
	TCPSocket *TCPSocketAction
	HTTPGet   *HTTPGetAction
	GRPC      *GRPCAction
	// Func is a check run by this program: nil is success. It gets a
	// context bounded by Timeout, and must return when it is done. It
	// suits in-process containers, but any container may use it.
	// Kubernetes has no such handler.
	Func func(ctx context.Context) error

	// InitialDelay is the time after the container starts before the first
	// check. Default 0.
	InitialDelay time.Duration
	// Period is the time between checks. Default 10s. As the kubelet's
	// probes tick from when it adds the pod, checks after the first fall on a
	// grid of the period from the pod's start, so that the probes of a pod
	// are checked together.
	Period time.Duration
	// Timeout bounds each check. Default 1s.
	Timeout time.Duration
	// SuccessThreshold is the number of successes in a row that make a
	// failing probe pass. Default 1; a liveness or startup probe must use 1.
	SuccessThreshold int
	// FailureThreshold is the number of failures in a row that make a
	// passing probe fail. Default 3.
	FailureThreshold int
	// TerminationGracePeriod, on a liveness or startup probe, replaces the
	// pod's termination grace period when this probe's failure kills the
	// container (Kubernetes' probe-level terminationGracePeriodSeconds).
	// Zero means the pod's. Not allowed on a readiness probe, which kills
	// nothing.
	TerminationGracePeriod time.Duration
}

// ExecAction runs a command in the container (as Exec does); exit status 0
// is success.
type ExecAction struct {
	Command []string
}

// TCPSocketAction connects to a port from inside the pod's network
// namespace; an accepted connection is success.
type TCPSocketAction struct {
	Port int
	// Host defaults to 127.0.0.1, the pod's own loopback.
	Host string
}

// HTTPGetAction sends a GET request from inside the pod's network
// namespace; a status from 200 to 399 is success.
type HTTPGetAction struct {
	Path string
	Port int
	// Host defaults to 127.0.0.1, the pod's own loopback.
	Host string
}

// GRPCAction calls the standard gRPC health service (grpc.health.v1.Health
// Check) from inside the pod's network namespace, over plaintext HTTP/2; a
// SERVING answer is success. The server must implement the health protocol.
type GRPCAction struct {
	Port int
	// Service is the service name sent in the request; empty asks for the
	// server's overall health.
	Service string
	// Host defaults to 127.0.0.1, the pod's own loopback. (Kubernetes
	// always probes the pod's IP; a host is a podkit extension.)
	Host string
}

// Probe defaults, as in Kubernetes.
const (
	DefaultProbePeriod  = 10 * time.Second
	DefaultProbeTimeout = time.Second
)

func (pr Probe) withDefaults() Probe {
	if pr.Period == 0 {
		pr.Period = DefaultProbePeriod
	}
	if pr.Timeout == 0 {
		pr.Timeout = DefaultProbeTimeout
	}
	if pr.SuccessThreshold == 0 {
		pr.SuccessThreshold = 1
	}
	if pr.FailureThreshold == 0 {
		pr.FailureThreshold = 3
	}
	return pr
}

func (pr *Probe) validate(errs *fieldErrors, field string, kind string) {
	if pr == nil {
		return
	}
	handlers := 0
	if pr.Exec != nil {
		handlers++
		if len(pr.Exec.Command) == 0 || pr.Exec.Command[0] == "" {
			errs.add(field+".exec.command", fmt.Sprintf("%q", pr.Exec.Command), "required")
		}
	}
	for _, port := range []struct {
		set  bool
		name string
		port int
	}{
		{pr.TCPSocket != nil, "tcpSocket.port", portOf(pr.TCPSocket)},
		{pr.HTTPGet != nil, "httpGet.port", portOfHTTP(pr.HTTPGet)},
		{pr.GRPC != nil, "grpc.port", portOfGRPC(pr.GRPC)},
	} {
		if !port.set {
			continue
		}
		handlers++
		if port.port < 1 || port.port > 65535 {
			errs.add(field+"."+port.name, strconv.Itoa(port.port), "must be a port number (1-65535)")
		}
	}
	if pr.Func != nil {
		handlers++
	}
	if handlers != 1 {
		errs.add(field, fmt.Sprintf("%d handlers", handlers), "exactly one of exec, tcpSocket, httpGet, grpc and func must be set")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"initialDelay", pr.InitialDelay}, {"period", pr.Period}, {"timeout", pr.Timeout},
		{"terminationGracePeriod", pr.TerminationGracePeriod}} {
		errs.duration(field+"."+d.name, d.v)
	}
	if pr.SuccessThreshold < 0 {
		errs.add(field+".successThreshold", strconv.Itoa(pr.SuccessThreshold), "must not be negative")
	}
	if pr.FailureThreshold < 0 {
		errs.add(field+".failureThreshold", strconv.Itoa(pr.FailureThreshold), "must not be negative")
	}
	if kind != "readiness" && pr.SuccessThreshold > 1 {
		errs.add(field+".successThreshold", strconv.Itoa(pr.SuccessThreshold), "must be 1 for a "+kind+" probe")
	}
	if kind == "readiness" && pr.TerminationGracePeriod != 0 {
		errs.add(field+".terminationGracePeriod", pr.TerminationGracePeriod.String(), "must not be set for a readiness probe")
	}
}

func portOf(a *TCPSocketAction) int {
	if a == nil {
		return 0
	}
	return a.Port
}

func portOfHTTP(a *HTTPGetAction) int {
	if a == nil {
		return 0
	}
	return a.Port
}

func portOfGRPC(a *GRPCAction) int {
	if a == nil {
		return 0
	}
	return a.Port
}

// DialContext connects to addr from inside the pod's network namespace, so
// that "127.0.0.1" is the pod's loopback. The connection can then be used
// from any goroutine. It fails when the pod is not running.
//
// A host name is resolved first (from the supervising program, as
// net.Resolver does: /etc/hosts, then DNS), and its addresses are dialled
// in turn, all from inside the pod, in the order net.Dialer uses (RFC 6555:
// the addresses of the first one's family, then the others), until one
// answers; the error is that of the first address, as net.Dialer reports.
// So "localhost" reaches a server on 127.0.0.1 inside the pod even where
// /etc/hosts lists ::1 first. Unlike net.Dialer, the addresses are tried
// one after the other, without a parallel fallback: net.Dialer would start
// the fallback on another goroutine, outside the pod's namespace.
//
// Sockets are made by a thread that stays in the pod's network namespace.
// A TCP dial to an IP address takes one of the unconnected sockets that
// thread makes in batches, and connects it in the caller; other dials
// (other networks) are served one at a time by that thread, so such a dial
// to a peer that does not answer holds other dials and listens up to its
// ctx's deadline. The first call starts that thread; the pod stops it once
// its containers have ended, before Wait returns.
func (p *Pod) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if addrs, ok, err := resolve(ctx, network, addr); ok {
		if err != nil {
			return nil, fmt.Errorf("pod %q: dial %s: %w", p.name, addr, err)
		}
		var first error
		for _, a := range addrs {
			conn, err := p.DialContext(ctx, network, a)
			if err == nil {
				return conn, nil
			}
			if first == nil {
				first = err
			}
			if ctx.Err() != nil {
				break
			}
		}
		return nil, first
	}
	if family, sa, ok := tcpSockaddr(network, addr); ok {
		d, err := p.podDialer()
		if err != nil {
			return nil, fmt.Errorf("pod %q: dial %s: %w", p.name, addr, err)
		}
		conn, err := d.dialTCP(ctx, family, sa)
		if err != nil {
			ap, _ := netip.ParseAddrPort(addr)
			err = &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(ap), Err: err}
			return nil, fmt.Errorf("pod %q: dial %s: %w", p.name, addr, err)
		}
		return conn, nil
	}
	var conn net.Conn
	err := p.inNetNS(ctx, func() (err error) {
		conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pod %q: dial %s: %w", p.name, addr, err)
	}
	return conn, nil
}

// resolve returns the addresses to dial, as host:port with an IP literal,
// when addr names its host for an IP network: ok is false for an IP
// literal, a network that is not IP, or an address that is not host:port,
// which are dialled as they are. The order is net.Dialer's: the addresses
// of the first one's family, then the others.
func resolve(ctx context.Context, network, addr string) (addrs []string, ok bool, err error) {
	var family string
	switch network {
	case "tcp", "udp":
		family = "ip"
	case "tcp4", "udp4":
		family = "ip4"
	case "tcp6", "udp6":
		family = "ip6"
	default:
		return nil, false, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return nil, false, nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil, false, nil
	}
	if i := strings.LastIndexByte(host, '%'); i >= 0 {
		if _, err := netip.ParseAddr(host[:i]); err == nil {
			return nil, false, nil // a literal with a zone
		}
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, family, host)
	if err != nil {
		return nil, true, err
	}
	if len(ips) == 0 {
		return nil, true, &net.DNSError{Err: "no suitable address", Name: host, IsNotFound: true}
	}
	first := ips[0].Unmap().Is4()
	var primaries, fallbacks []string
	for _, ip := range ips {
		a := net.JoinHostPort(ip.Unmap().String(), port)
		if ip.Unmap().Is4() == first {
			primaries = append(primaries, a)
		} else {
			fallbacks = append(fallbacks, a)
		}
	}
	return append(primaries, fallbacks...), true, nil
}

// Listen announces on a local address inside the pod's network namespace,
// as net.Listen does: "127.0.0.1:8080" is the pod's loopback, where the
// pod's containers can connect. The listener, and the connections it
// accepts, can be used from any goroutine and outlive ctx, which bounds only
// the wait for the pod's network thread; the caller closes the listener. It
// fails when the pod is not running.
func (p *Pod) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := p.inNetNS(ctx, func() (err error) {
		ln, err = (&net.ListenConfig{}).Listen(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pod %q: listen %s: %w", p.name, addr, err)
	}
	return ln, nil
}

// ListenPacket is Listen for packet networks ("udp", "unixgram", ...), as
// net.ListenPacket.
func (p *Pod) ListenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := p.inNetNS(ctx, func() (err error) {
		pc, err = (&net.ListenConfig{}).ListenPacket(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pod %q: listen %s: %w", p.name, addr, err)
	}
	return pc, nil
}

// inNetNS runs fn on the pod's network thread, where the sockets it makes
// belong to the pod's network namespace, and returns fn's error.
func (p *Pod) inNetNS(ctx context.Context, fn func() error) error {
	d, err := p.podDialer()
	if err != nil {
		return err
	}
	call := nsCall{fn: fn, done: make(chan error, 1)}
	select {
	case d.requests <- call:
	case <-d.stop:
		return ErrNotRunning
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	return <-call.done
}

// dialer is a goroutine locked to a thread in the pod's network namespace,
// where sockets are created: a socket belongs to the namespace of the thread
// that creates it, and entering it anew for every socket costs a thread.
// Waking that thread costs more than a socket, so it makes TCP sockets a
// batch at a time, and DialContext and probes connect them themselves.
type dialer struct {
	requests chan nsCall
	sockets  chan socketRequest
	pool     [2]chan int   // unconnected TCP sockets, IPv4 and IPv6
	stop     chan struct{} // closed to end the dialer
	done     chan struct{} // closed when it has ended
}

// nsCall is a function to run on the pod's network thread.
type nsCall struct {
	fn   func() error
	done chan error
}

// podDialer returns the pod's dialer, starting it at the first call.
func (p *Pod) podDialer() (*dialer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// A stopping pod still dials, for its preStop hooks and its probes,
	// until its containers have ended and the dialer is stopped.
	if p.infra == nil || p.dialerStopped {
		return nil, ErrNotRunning
	}
	if p.dialer != nil {
		return p.dialer, nil
	}
	fd, err := unix.FcntlInt(uintptr(p.infra.PidFD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	d := &dialer{requests: make(chan nsCall), sockets: make(chan socketRequest),
		pool: [2]chan int{make(chan int, socketBatch), make(chan int, socketBatch)},
		stop: make(chan struct{}), done: make(chan struct{})}
	go thread.Run(func() {
		defer close(d.done)
		err := unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		for {
			select {
			case call := <-d.requests:
				if err != nil {
					call.done <- fmt.Errorf("setns: %w", err)
					continue
				}
				call.done <- call.fn()
			case req := <-d.sockets:
				d.makeSockets(req, err)
			case <-d.stop:
				return
			}
		}
	})
	p.dialer = d
	return d, nil
}

// stopDialer ends the pod's dialer, if it runs, and waits for it.
func (p *Pod) stopDialer() {
	p.mu.Lock()
	d := p.dialer
	p.dialerStopped = true
	p.mu.Unlock()
	if d != nil {
		close(d.stop)
		<-d.done
		d.drainPool()
	}
}

// check runs one check of a probe against container m.
func (p *Pod) check(ctx context.Context, m *member, pr Probe) error {
	ctx, cancel := context.WithTimeout(ctx, pr.Timeout)
	defer cancel()
	host := func(h string) string {
		if h == "" {
			return "127.0.0.1"
		}
		return h
	}
	switch {
	case pr.Exec != nil:
		return p.execProbe(ctx, m, pr.Exec.Command)
	case pr.TCPSocket != nil:
		return p.probeTCP(ctx, net.JoinHostPort(host(pr.TCPSocket.Host), strconv.Itoa(pr.TCPSocket.Port)))
	case pr.HTTPGet != nil:
		return httpGet(ctx, p.httpDial, pr.HTTPGet, httpProbeKind)
	case pr.GRPC != nil:
		return p.grpcCheck(ctx, host(pr.GRPC.Host), pr.GRPC)
	case pr.Func != nil:
		return pr.Func(ctx)
	}
	return errors.New("probe has no handler")
}

// maxProbeOutput bounds the output of an exec probe kept for its event, as
// the kubelet bounds it (10 KiB).
const maxProbeOutput = 10 << 10

// execProbe runs an exec probe's command in m. A failure's error is what
// the kubelet reports: the command's output (stdout and stderr together,
// the first maxProbeOutput bytes, without trailing newlines), or, when it
// printed nothing, its exit status; a timeout is "command ... timed out".
func (p *Pod) execProbe(ctx context.Context, m *member, argv []string) error {
	out := &limitedBuffer{max: maxProbeOutput}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	err := p.Exec(ctx, m.spec.Name, cmd)
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return fmt.Errorf("command %q timed out", strings.Join(argv, " "))
	case errors.As(err, &exitErr):
		if msg := strings.TrimRight(out.String(), "\r\n"); msg != "" {
			return errors.New(msg)
		}
	}
	return err
}

// limitedBuffer keeps the first max bytes written to it, and takes the rest
// without keeping it. It is safe for concurrent writes.
type limitedBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *limitedBuffer) Write(data []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, data[:min(room, len(data))]...)
	}
	return len(data), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// probe runs m's probes for one instance until ctx is done: the startup
// probe first, then liveness and readiness side by side.
func (p *Pod) probe(ctx context.Context, m *member, inst *instance) {
	defer p.probers.Done()
	c := m.spec
	if c.StartupProbe != nil {
		if !p.probeLoop(ctx, m, inst, "Startup", c.StartupProbe.withDefaults(), func(ok bool) bool {
			if ok {
				p.mu.Lock()
				p.markStartedLocked(m)
				if c.ReadinessProbe == nil {
					p.setReadyLocked(m, true)
				}
				p.mu.Unlock()
			}
			return !ok // keep probing until the first success
		}) {
			return
		}
	}
	done := make(chan struct{})
	if c.ReadinessProbe != nil {
		go func() {
			defer close(done)
			p.probeLoop(ctx, m, inst, "Readiness", c.ReadinessProbe.withDefaults(), func(ok bool) bool {
				p.mu.Lock()
				p.setReadyLocked(m, ok)
				p.mu.Unlock()
				return true
			})
		}()
	} else {
		close(done)
	}
	if c.LivenessProbe != nil {
		p.probeLoop(ctx, m, inst, "Liveness", c.LivenessProbe.withDefaults(), func(bool) bool { return true })
	}
	<-done
}

// probeLoop checks pr every period. report is told each change of the
// probe's result (after the thresholds), and says whether to go on. A
// startup or liveness probe that fails kills the container. probeLoop
// returns false if it ended because the instance ended or was killed.
func (p *Pod) probeLoop(ctx context.Context, m *member, inst *instance, kind string, pr Probe, report func(ok bool) bool) bool {
	wait := pr.InitialDelay
	successes, failures := 0, 0
	passing := kind == "Liveness" // liveness starts out passing; the others do not
	for {
		t := p.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C():
		}
		err := p.check(ctx, m, pr)
		wait = p.nextCheck(pr.Period)
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			successes, failures = successes+1, 0
			if !passing && successes >= pr.SuccessThreshold {
				passing = true
				if !report(true) {
					return true
				}
			}
			continue
		}
		successes, failures = 0, failures+1
		p.mu.Lock()
		p.emitLocked(Event{Reason: EventUnhealthy, Type: EventWarning, Container: m.spec.Name, Role: m.role,
			Message: fmt.Sprintf("%s probe failed: %s", kind, strings.TrimPrefix(err.Error(), fmt.Sprintf("pod %q: ", p.name)))})
		p.mu.Unlock()
		if failures < pr.FailureThreshold {
			continue
		}
		if kind == "Readiness" {
			if passing {
				passing = false
				report(false)
			}
			continue
		}
		// A startup or liveness probe failed: the container is restarted.
		grace := pr.TerminationGracePeriod
		if grace == 0 {
			grace = p.gracePeriod()
		}
		p.stopInstance(m, inst, grace, fmt.Sprintf("Container %s failed %s probe, will be restarted", m.spec.Name, kind))
		return false
	}
}

// stopInstance stops one instance of m as the kubelet kills a container
// outside of a pod's stop: its preStop hook runs, then it gets its stop
// signal, and SIGKILL if it is still running when grace, which bounds the
// hook too, has passed. It returns once the instance has ended.
func (p *Pod) stopInstance(m *member, inst *instance, grace time.Duration, why string) {
	p.mu.Lock()
	if p.stopping || m.task != inst.task {
		p.mu.Unlock()
		return // the pod stops it
	}
	p.mu.Unlock()
	t := p.clock.NewTimer(grace)
	defer t.Stop()
	if m.spec.Lifecycle != nil && m.spec.Lifecycle.PreStop != nil {
		hookCtx, endHook := context.WithCancel(p.values)
		hookDone := make(chan struct{})
		go func() {
			defer close(hookDone)
			p.runPreStopHook(hookCtx, m)
		}()
		select {
		case <-hookDone:
		case <-inst.task.Done():
		case <-t.C():
			endHook()
			<-hookDone
			p.mu.Lock()
			if m.task == inst.task && !p.stopping {
				p.signalLocked(m, syscall.SIGKILL, why+" (the grace period ended during its preStop hook)")
			}
			p.mu.Unlock()
			<-inst.task.Done()
			return
		}
		endHook()
		<-hookDone
	}
	p.mu.Lock()
	if p.stopping || m.task != inst.task {
		p.mu.Unlock()
		return
	}
	p.signalLocked(m, m.stopSignalLocked(), why)
	p.mu.Unlock()
	select {
	case <-inst.task.Done():
	case <-t.C():
		p.mu.Lock()
		if m.task == inst.task {
			p.signalLocked(m, syscall.SIGKILL, "grace period ("+grace.String()+") expired: "+why)
		}
		p.mu.Unlock()
		<-inst.task.Done()
	}
}
