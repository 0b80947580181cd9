package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// userEcho copies back what it reads through a buffer (never splice), and
// half-closes at EOF.
func userEcho(_ *server, c net.Conn) {
	buf := make([]byte, 16<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			closeWrite(c)
			return
		}
	}
}

// Plain TCP connections are carried by the event loops, at most one per
// CPU; others (TLS, custom conn types) by goroutines.
func TestLoopCarriesPlainTCP(t *testing.T) {
	up := newServer(t, userEcho)
	for _, path := range []string{"loop", "goroutines"} {
		t.Run(path, func(t *testing.T) {
			cfg := Config{Upstreams: []Upstream{{Addr: up.Addr()}}}
			if path == "goroutines" {
				cfg.Dial = opaqueDial
			}
			p, addr := startProxy(t, cfg)
			const conns = 5
			for range conns {
				roundTrip(t, dial(t, addr), "ping")
			}
			p.mu.Lock()
			inLoop := 0
			for c := range p.conns {
				if c.lc != nil {
					inLoop++
				}
			}
			p.mu.Unlock()
			p.loops.mu.Lock()
			loops := len(p.loops.started)
			p.loops.mu.Unlock()
			if path == "loop" {
				require.Equal(t, conns, inLoop)
				require.Equal(t, min(runtime.GOMAXPROCS(0), maxLoops, conns), loops)
			} else {
				require.Zero(t, inLoop)
				require.Zero(t, loops)
			}
		})
	}
}

// Many connections at once, each streaming both ways in writes of random
// sizes with random pauses, then half-closing: every byte arrives, in
// order, the counters are exact, and once the proxy is closed every
// descriptor it made (sockets, pipes, epoll, eventfd) is gone.
func TestLoopStress(t *testing.T) {
	checkAllFDs(t)
	up := newServer(t, userEcho)
	p, addr := startProxy(t, Config{Upstreams: []Upstream{{Addr: up.Addr()}}})

	const conns = 24
	var total int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	sizes := make([]int, conns)
	for i := range sizes {
		sizes[i] = rand.IntN(3<<20) + 1 // up to 3 MiB, at least a byte
		total += int64(sizes[i])
	}
	for i := range conns {
		wg.Go(func() {
			errs <- streamEcho(addr, sizes[i], rand.New(rand.NewPCG(uint64(i), 7)))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return p.Stats().Active == 0 }, 5*time.Second, 5*time.Millisecond)
	s := p.Stats()
	require.EqualValues(t, total, s.BytesUpstream)
	require.EqualValues(t, total, s.BytesDownstream)
}

// streamEcho sends size random bytes through addr, in writes of random
// sizes with occasional pauses, reads the echo concurrently, half-closes,
// and checks the echo.
func streamEcho(addr string, size int, rnd *rand.Rand) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(rnd.Uint32())
	}
	got := make(chan []byte, 1)
	go func() {
		h := sha256.New()
		io.Copy(h, c)
		got <- h.Sum(nil)
	}()
	for rest := payload; len(rest) > 0; {
		n := min(len(rest), 1+rnd.IntN(256<<10))
		if rnd.IntN(8) == 0 {
			n = min(len(rest), 1+rnd.IntN(16)) // small writes too
		}
		if _, err := c.Write(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
		if rnd.IntN(16) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	want := sha256.Sum256(payload)
	if sum := <-got; !bytes.Equal(sum, want[:]) {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// Close during transfers ends every loop connection at once and releases
// all of it, the loops included.
func TestLoopCloseMidTransfer(t *testing.T) {
	checkAllFDs(t)
	up := newServer(t, userEcho)
	p, addr := startProxy(t, Config{Upstreams: []Upstream{{Addr: up.Addr()}}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range 6 {
		c := dial(t, addr)
		wg.Go(func() { io.Copy(io.Discard, c) }) // ends when the proxy closes c
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for ctx.Err() == nil {
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		})
	}
	require.Eventually(t, func() bool { return p.Stats().BytesDownstream > 4<<20 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, p.Close())
	wg.Wait() // every client saw its connection end
	require.Zero(t, p.Stats().Active)
}

// A direction whose source does not run dry yields after the loop's budget
// of reads, so one fast sender cannot hold a loop's other connections, and
// is queued to be resumed.
func TestLoopPumpBudget(t *testing.T) {
	checkAllFDs(t)
	const size = 4 << 20
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { // room for the whole payload
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 2*size)
		})
		return err
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	sender := dial(t, ln.Addr().String())
	received, err := ln.Accept()
	require.NoError(t, err)
	defer received.Close()
	go sender.Write(make([]byte, size)) // ends when the test closes sender
	src, err := dupSocket(received.(*net.TCPConn))
	require.NoError(t, err)
	defer unix.Close(src)
	queued := func() int {
		n, err := unix.IoctlGetInt(src, unix.SIOCINQ)
		require.NoError(t, err)
		return n
	}
	require.Eventually(t, func() bool { return queued() > 3<<20 }, 5*time.Second, time.Millisecond,
		"more than 3 MiB queued on the socket")

	null, err := unix.Open(os.DevNull, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(null)
	l := &loop{budget: 2}
	c := &loopConn{c: &conn{start: time.Now()}, loop: l, results: make(chan result, 2)}
	d := &c.dirs[0]
	d.src, d.dst, d.total = src, null, new(atomic.Uint64)
	require.NoError(t, newPipe(&d.pipe))
	defer unix.Close(d.pipe[0])
	defer unix.Close(d.pipe[1])

	c.pump(d)
	require.True(t, d.queued, "pump returned before its budget with bytes left")
	require.Equal(t, []loopDirRef{{c, d}}, l.again)
	require.Positive(t, d.n)
	require.Less(t, d.n, int64(size))
	require.Zero(t, d.buffered, "the pipe is emptied before yielding")

	// Resumed, it carries the rest.
	require.Eventually(t, func() bool {
		l.resume()
		if !d.queued {
			c.pump(d) // as the next EPOLLIN would
		}
		return d.n == size
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, uint64(size), d.total.Load())
	require.False(t, d.ended)
}
