package proxy

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The event loops carry plain TCP connections (both sides *net.TCPConn, the
// usual case). Each loop is one goroutine blocked in epoll_wait(2) on its own
// epoll instance, serving both directions of its connections with splice(2)
// on non-blocking sockets: a byte that arrives wakes the loop's thread
// directly, which moves it on and waits again, without the runtime's
// scheduler. A goroutine per direction parked in the runtime's netpoller
// would be woken through the netpoller's thread and the scheduler, often on
// another CPU, with the scheduler spinning before it sleeps again: between
// processes that costs several times the loops' round-trip latency and
// twice their CPU (BENCHMARKS.md, "Ambassador throughput and latency").
//
// A connection joins a loop by duplicating its two sockets and closing the
// *net.TCPConn values, which takes them out of the runtime's netpoller; from
// then on the loop owns the descriptors and is the only one to close them.
// Everything else talks to a loop through a queue of operations and an
// eventfd that wakes it.

// maxLoops bounds the loops of one proxy; GOMAXPROCS bounds them first.
const maxLoops = 8

// loopPipeSize is the capacity asked for each direction's pipe, as the
// runtime's own splice does; the kernel may grant less
// (/proc/sys/fs/pipe-max-size) without harm.
const loopPipeSize = 1 << 20

// pumpBudget is how many reads one direction may make before the loop
// serves its other connections: a sender faster than its receiver's
// socket drains would otherwise hold the loop.
const pumpBudget = 8

// errLoopClosed ends the directions of a connection closed before they ended
// by themselves.
var errLoopClosed = fmt.Errorf("proxy: connection closed: %w", net.ErrClosed)

// loops is a proxy's set of event loops, started as connections need them
// and stopped by stop.
type loops struct {
	mu      sync.Mutex
	started []*loop
	next    int
	stopped bool
}

// pick returns the loop for a new connection, round robin over up to
// GOMAXPROCS loops, starting one if needed.
func (ls *loops) pick() (*loop, error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.stopped {
		return nil, ErrServerClosed
	}
	n := min(max(runtime.GOMAXPROCS(0), 1), maxLoops)
	i := ls.next % n
	ls.next++
	if i < len(ls.started) {
		return ls.started[i], nil
	}
	l, err := newLoop()
	if err != nil {
		return nil, err
	}
	ls.started = append(ls.started, l)
	go l.run()
	return l, nil
}

// stop ends every loop and waits for their goroutines to exit. Connections
// still in a loop are closed. It is idempotent.
func (ls *loops) stop() {
	ls.mu.Lock()
	started := ls.started
	ls.started, ls.stopped = nil, true
	ls.mu.Unlock()
	for _, l := range started {
		l.submit(loopOp{stop: true})
		<-l.done
	}
}

// loop is one event loop.
type loop struct {
	epfd   int
	wake   int // eventfd, readable when ops is not empty
	done   chan struct{}
	budget int // pumpBudget; tests lower it

	mu      sync.Mutex // guards ops and stopped
	ops     []loopOp
	stopped bool // ops are no longer taken

	// Owned by run.
	conns map[int32]*loopConn // by socket descriptor
	again []loopDirRef        // directions that ran out of budget
	buf   [8]byte
}

// loopDirRef names a direction of a connection.
type loopDirRef struct {
	lc *loopConn
	d  *loopDir
}

// loopOp is a request to a loop.
type loopOp struct {
	add   *loopConn // start serving
	close *loopConn // close, with RST if reset
	reset bool
	stop  bool // close everything and exit
}

func newLoop() (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("proxy: epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("proxy: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return nil, fmt.Errorf("proxy: epoll_ctl: %w", err)
	}
	return &loop{
		epfd:   epfd,
		wake:   wake,
		done:   make(chan struct{}),
		budget: pumpBudget,
		conns:  make(map[int32]*loopConn),
	}, nil
}

// submit queues op and wakes the loop; it reports false if the loop has
// stopped, having closed everything it held. It does not block on the loop.
func (l *loop) submit(op loopOp) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return false
	}
	l.ops = append(l.ops, op)
	if len(l.ops) == 1 {
		// Under mu, so the eventfd is open. Adding 1 cannot block or fail
		// short of 2^64-2 unread wake-ups.
		one := [8]byte{1}
		unix.Write(l.wake, one[:])
	}
	return true
}

// run serves the loop's connections until a stop operation.
func (l *loop) run() {
	defer close(l.done)
	events := make([]unix.EpollEvent, 128)
	for {
		timeout := -1
		if len(l.again) > 0 {
			timeout = 0 // only look for new events before resuming them
		}
		n, err := unix.EpollWait(l.epfd, events, timeout)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			// Only a bad epfd or buffer can fail here: end what the loop
			// holds rather than spin.
			l.shutdown(fmt.Errorf("proxy: epoll_wait: %w", err))
			return
		}
		woken := false
		for _, ev := range events[:n] {
			if ev.Fd == int32(l.wake) {
				woken = true
				continue
			}
			if lc := l.conns[ev.Fd]; lc != nil {
				lc.ready(int(ev.Fd), ev.Events)
			}
		}
		if woken && l.runOps() {
			return
		}
		l.resume()
	}
}

// resume pumps again the directions that ran out of budget before the last
// wait, in turn.
func (l *loop) resume() {
	again := l.again
	l.again = nil
	for _, r := range again {
		r.d.queued = false
		r.lc.pump(r.d)
	}
	clear(again)
	if l.again == nil {
		l.again = again[:0]
	}
}

// runOps performs the queued operations; it reports whether the loop must
// exit, after closing everything.
func (l *loop) runOps() bool {
	unix.Read(l.wake, l.buf[:]) // reset the counter before taking the queue
	l.mu.Lock()
	ops := l.ops
	l.ops = nil
	l.mu.Unlock()
	stop := false
	for _, op := range ops {
		switch {
		case op.add != nil:
			l.add(op.add)
		case op.close != nil:
			op.close.close(op.reset, errLoopClosed)
		case op.stop:
			stop = true
		}
	}
	if stop {
		l.shutdown(errLoopClosed)
	}
	return stop
}

// shutdown closes every connection, ending their open directions with err,
// and the loop's own descriptors.
func (l *loop) shutdown(err error) {
	l.mu.Lock()
	l.stopped = true
	ops := l.ops
	l.ops = nil
	l.mu.Unlock()
	for _, op := range ops {
		if op.add != nil {
			op.add.close(false, err)
		}
	}
	for _, lc := range l.conns {
		lc.close(false, err)
	}
	unix.Close(l.wake)
	unix.Close(l.epfd)
}

// add registers lc's sockets, edge-triggered: a socket already readable is
// reported at once.
func (l *loop) add(lc *loopConn) {
	for _, fd := range []int{lc.client, lc.upstream} {
		ev := unix.EpollEvent{
			Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET,
			Fd:     int32(fd),
		}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			lc.close(false, fmt.Errorf("proxy: epoll_ctl: %w", err))
			return
		}
		l.conns[int32(fd)] = lc
	}
}

// loopConn is a connection served by a loop. The loop owns everything but
// mu's read side, which progress takes to read the sockets' counters while
// they are open.
type loopConn struct {
	c        *conn
	loop     *loop
	results  chan<- result
	client   int // socket descriptors
	upstream int
	dirs     [2]loopDir // client to upstream, upstream to client
	closed   chan struct{}

	mu       sync.RWMutex
	isClosed bool
}

// loopDir is one direction of a loopConn: src to a pipe to dst.
type loopDir struct {
	up       bool
	src, dst int
	pipe     [2]int // read end, write end
	buffered int    // bytes in the pipe
	eof      bool   // src ended; dst is shut down once the pipe is empty
	ended    bool   // its result was sent
	queued   bool   // in loop.again
	n        int64
	total    *atomic.Uint64
}

// newLoopConn takes over c's two TCP connections for a loop: it duplicates
// their sockets, makes the pipes, and closes the *net.TCPConn values. On
// error it has closed nothing of c's, which can still be copied otherwise.
func newLoopConn(p *Proxy, c *conn, l *loop, client, upstream *net.TCPConn, results chan<- result) (*loopConn, error) {
	lc := &loopConn{c: c, loop: l, results: results, client: -1, upstream: -1, closed: make(chan struct{})}
	lc.dirs[0] = loopDir{up: true, pipe: [2]int{-1, -1}, total: &p.bytesUp}
	lc.dirs[1] = loopDir{pipe: [2]int{-1, -1}, total: &p.bytesDown}
	var err error
	if lc.client, err = dupSocket(client); err == nil {
		if lc.upstream, err = dupSocket(upstream); err == nil {
			if err = newPipe(&lc.dirs[0].pipe); err == nil {
				err = newPipe(&lc.dirs[1].pipe)
			}
		}
	}
	if err != nil {
		lc.closeFDs()
		return nil, err
	}
	lc.dirs[0].src, lc.dirs[0].dst = lc.client, lc.upstream
	lc.dirs[1].src, lc.dirs[1].dst = lc.upstream, lc.client
	client.Close()
	upstream.Close()
	return lc, nil
}

// dupSocket returns a close-on-exec duplicate of tc's socket, which shares
// its non-blocking mode.
func dupSocket(tc *net.TCPConn) (int, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(s uintptr) {
		fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, fmt.Errorf("proxy: dup socket: %w", dupErr)
	}
	return fd, nil
}

func newPipe(p *[2]int) error {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("proxy: pipe: %w", err)
	}
	// Best effort: a smaller pipe only means more splice calls.
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, loopPipeSize)
	*p = fds
	return nil
}

// close closes lc's descriptors, with RST if reset, and ends the directions
// still open with err. It runs on the loop; closing twice does nothing.
func (lc *loopConn) close(reset bool, err error) {
	if lc.isClosed {
		return
	}
	if reset {
		l := unix.Linger{Onoff: 1, Linger: 0}
		unix.SetsockoptLinger(lc.client, unix.SOL_SOCKET, unix.SO_LINGER, &l)
		unix.SetsockoptLinger(lc.upstream, unix.SOL_SOCKET, unix.SO_LINGER, &l)
	}
	for _, fd := range []int{lc.client, lc.upstream} {
		if lc.loop.conns[int32(fd)] == lc {
			delete(lc.loop.conns, int32(fd))
			unix.EpollCtl(lc.loop.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		}
	}
	lc.release(err)
}

// release closes lc's descriptors, ends its open directions with err and
// closes lc.closed. The loop calls it through close; a connection that no
// loop took is released directly.
func (lc *loopConn) release(err error) {
	lc.mu.Lock()
	lc.isClosed = true
	lc.closeFDs()
	lc.mu.Unlock()
	for i := range lc.dirs {
		lc.end(&lc.dirs[i], err)
	}
	close(lc.closed)
}

func (lc *loopConn) closeFDs() {
	for _, fd := range []int{lc.client, lc.upstream, lc.dirs[0].pipe[0], lc.dirs[0].pipe[1], lc.dirs[1].pipe[0], lc.dirs[1].pipe[1]} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// requestClose asks the loop to close lc, with RST if reset. It does not
// wait; lc.closed is closed once it is done. A stopped loop has closed lc
// already.
func (lc *loopConn) requestClose(reset bool) {
	lc.loop.submit(loopOp{close: lc, reset: reset})
}

// progress is tcpProgress for lc's sockets, zero once they are closed.
func (lc *loopConn) progress() uint64 {
	lc.mu.RLock()
	defer lc.mu.RUnlock()
	if lc.isClosed {
		return 0
	}
	return fdProgress(lc.client) + fdProgress(lc.upstream)
}

// ready handles the events of socket fd.
func (lc *loopConn) ready(fd int, events uint32) {
	in := events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
	out := events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0
	for i := range lc.dirs {
		d := &lc.dirs[i]
		if (in && d.src == fd) || (out && d.dst == fd) {
			lc.pump(d)
		}
	}
}

// pump moves what it can of d: it empties the pipe into dst, refills it
// from src, and repeats until a socket would block, src has ended and dst
// is shut down, or an error ends d. It stops reading while the pipe holds
// bytes dst cannot take, so a slow reader holds back only its own
// connection (TCP flow control then holds back the writer).
//
// The sockets are edge-triggered: pump must not stop while a socket could
// still make progress without a new event. It stops on EAGAIN from dst (an
// EPOLLOUT comes when dst has room) or from src with the pipe empty (an
// EPOLLIN comes with the next bytes); a pipe that fills up is emptied
// before src is read again. After the loop's budget of reads it queues d,
// which resumes it after serving the events that came meanwhile.
func (lc *loopConn) pump(d *loopDir) {
	const flags = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK
	reads := 0
	for !d.ended {
		if d.buffered > 0 {
			n, err := unix.Splice(d.pipe[0], nil, d.dst, nil, d.buffered, flags)
			if n > 0 {
				d.buffered -= int(n)
				d.n += n
				d.total.Add(uint64(n))
				lc.c.touch()
			}
			switch {
			case err == nil, errors.Is(err, unix.EINTR):
				continue
			case errors.Is(err, unix.EAGAIN):
				return
			default:
				lc.end(d, fmt.Errorf("proxy: splice: %w", err))
				return
			}
		}
		if d.eof {
			var err error
			if e := unix.Shutdown(d.dst, unix.SHUT_WR); e != nil {
				err = fmt.Errorf("proxy: shutdown: %w", e)
			}
			lc.end(d, err)
			return
		}
		if reads == lc.loop.budget {
			if !d.queued {
				d.queued = true
				lc.loop.again = append(lc.loop.again, loopDirRef{lc, d})
			}
			return
		}
		reads++
		n, err := unix.Splice(d.src, nil, d.pipe[1], nil, loopPipeSize, flags)
		switch {
		case n > 0:
			d.buffered += int(n)
			lc.c.touch()
		case err == nil:
			d.eof = true
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			return
		default:
			lc.end(d, fmt.Errorf("proxy: splice: %w", err))
			return
		}
	}
}

// end reports d's result once: nil for a clean end (EOF passed on as a
// half-close).
func (lc *loopConn) end(d *loopDir, err error) {
	if d.ended {
		return
	}
	d.ended = true
	lc.results <- result{up: d.up, n: d.n, err: err}
}
