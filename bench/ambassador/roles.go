package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/podkit/podkit/internal/proxy"
)

// roleEnv, when set, makes this program play a role instead of running the
// benchmark: the upstream server, the load generator, or a Go proxy.
const roleEnv = "PODKIT_BENCH_AMBASSADOR_ROLE"

// Roles.
const (
	roleServer = "server" // the upstream: sink, source and echo on one port
	roleClient = "client" // the load generator: one test, a JSON result on stdout
	roleGoCopy = "gocopy" // a bare Go proxy, io.Copy with or without splice
	roleEngine = "engine" // internal/proxy made to copy in user space
)

// The first byte a client sends tells the upstream server what to do.
const (
	modeUpload   = 'U' // discard until EOF, then answer the byte count
	modeDownload = 'D' // send until the connection breaks
	modeEcho     = 'E' // send back every byte
)

// streamBuf is the size of every read and write of a throughput test, on
// both ends.
const streamBuf = 256 << 10

// runRole plays role with args and returns the exit status. Roles run until
// they are done (the client) or killed (the others).
func runRole(role string, args []string) int {
	var err error
	switch role {
	case roleServer:
		err = serveUpstream()
	case roleClient:
		err = runClient(args, os.Stdout)
	case roleGoCopy:
		err = runGoCopy(args)
	case roleEngine:
		err = runEngine(args)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ambassador bench %s: %v\n", role, err)
		return 1
	}
	return 0
}

// serveUpstream listens on a free loopback port, prints it on stdout and
// serves every connection by the mode of its first byte, until killed.
func serveUpstream() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		go serveConn(c)
	}
}

// serveConn serves one upstream connection. Errors end the connection only:
// the client reports what it saw.
func serveConn(c net.Conn) {
	defer c.Close()
	var mode [1]byte
	if _, err := io.ReadFull(c, mode[:]); err != nil {
		return // a readiness check: connected and closed
	}
	switch mode[0] {
	case modeUpload:
		buf := make([]byte, streamBuf)
		var n int64
		for {
			m, err := c.Read(buf)
			n += int64(m)
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
		}
		_, _ = c.Write(binary.BigEndian.AppendUint64(nil, uint64(n)))
	case modeDownload:
		buf := make([]byte, streamBuf)
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	case modeEcho:
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}
}

// Tests the load generator runs.
const (
	testUpload   = "upload"   // client to upstream, counted by the upstream
	testDownload = "download" // upstream to client, counted by the client
	testRTT      = "rtt"      // 1-byte ping-pong on one connection
)

// result is what the load generator reports on stdout, as JSON.
type result struct {
	// Bytes and Seconds: the bytes the receiving end got in that time
	// (throughput tests).
	Bytes   int64   `json:"bytes,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
	// P50 and P99 are round-trip percentiles, over RoundTrips round trips
	// including the warm-up (latency test).
	P50        time.Duration `json:"p50,omitempty"`
	P99        time.Duration `json:"p99,omitempty"`
	RoundTrips int           `json:"roundTrips,omitempty"`
}

// runClient runs one test against an address and prints its result.
func runClient(args []string, out io.Writer) error {
	fs := flag.NewFlagSet(roleClient, flag.ContinueOnError)
	test := fs.String("test", "", "upload, download or rtt")
	addr := fs.String("addr", "", "address to connect to")
	conns := fs.Int("conns", 4, "parallel connections (throughput tests)")
	duration := fs.Duration("duration", 5*time.Second, "length of a throughput test")
	warmup := fs.Int("warmup", 2000, "unrecorded round trips")
	iters := fs.Int("iters", 20000, "recorded round trips")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var (
		r   result
		err error
	)
	switch *test {
	case testUpload:
		r, err = upload(*addr, *conns, *duration)
	case testDownload:
		r, err = download(*addr, *conns, *duration)
	case testRTT:
		r, err = roundTrips(*addr, *warmup, *iters)
	default:
		err = fmt.Errorf("test: unknown %q", *test)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", *test, *addr, err)
	}
	return json.NewEncoder(out).Encode(r)
}

// dialAll opens n connections to addr before a test starts, so that
// connection set-up (a fork, for socat) is not timed.
func dialAll(addr string, n int) ([]*net.TCPConn, error) {
	var cs []*net.TCPConn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			for _, c := range cs {
				c.Close()
			}
			return nil, fmt.Errorf("dial: %w", err)
		}
		cs = append(cs, c.(*net.TCPConn))
	}
	return cs, nil
}

// upload streams on every connection for d, then half-closes and waits for
// the upstream's count of what it received. The throughput is those counts
// over the time until the last arrived, so bytes still in buffers when the
// writers stop are both counted and waited for.
func upload(addr string, conns int, d time.Duration) (result, error) {
	cs, err := dialAll(addr, conns)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	stop := start.Add(d)
	counts := make([]int64, len(cs))
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			defer c.Close()
			counts[i], errs[i] = uploadOne(c, stop)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var total int64
	for _, n := range counts {
		total += n
	}
	return result{Bytes: total, Seconds: elapsed.Seconds()}, errors.Join(errs...)
}

func uploadOne(c *net.TCPConn, stop time.Time) (int64, error) {
	if err := c.SetWriteDeadline(stop); err != nil {
		return 0, err
	}
	buf := make([]byte, streamBuf)
	buf[0] = modeUpload
	var sent int64
	for {
		n, err := c.Write(buf)
		sent += int64(n)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("write: %w", err)
		}
		buf[0] = 0
	}
	if err := c.CloseWrite(); err != nil {
		return 0, fmt.Errorf("close write: %w", err)
	}
	if err := c.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		return 0, err
	}
	var count [8]byte
	if _, err := io.ReadFull(c, count[:]); err != nil {
		return 0, fmt.Errorf("read count: %w", err)
	}
	got := int64(binary.BigEndian.Uint64(count[:]))
	if got != sent-1 {
		return 0, fmt.Errorf("upstream received %d bytes, sent %d", got, sent-1)
	}
	return got, nil
}

// download asks every connection for a stream and counts what arrives
// within d.
func download(addr string, conns int, d time.Duration) (result, error) {
	cs, err := dialAll(addr, conns)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	stop := start.Add(d)
	counts := make([]int64, len(cs))
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			defer c.Close()
			counts[i], errs[i] = downloadOne(c, stop)
		})
	}
	wg.Wait()
	var total int64
	for _, n := range counts {
		total += n
	}
	return result{Bytes: total, Seconds: d.Seconds()}, errors.Join(errs...)
}

func downloadOne(c *net.TCPConn, stop time.Time) (int64, error) {
	if err := c.SetReadDeadline(stop); err != nil {
		return 0, err
	}
	if _, err := c.Write([]byte{modeDownload}); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	buf := make([]byte, streamBuf)
	var got int64
	for {
		n, err := c.Read(buf)
		got += int64(n)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return got, nil
		}
		if err != nil {
			return 0, fmt.Errorf("read: %w", err)
		}
	}
}

// roundTrips sends one byte and waits for it back, warmup times unrecorded
// and then iters times recorded, on one connection.
func roundTrips(addr string, warmup, iters int) (result, error) {
	cs, err := dialAll(addr, 1)
	if err != nil {
		return result{}, err
	}
	c := cs[0]
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Minute)); err != nil {
		return result{}, err
	}
	if _, err := c.Write([]byte{modeEcho}); err != nil {
		return result{}, fmt.Errorf("write: %w", err)
	}
	rtts := make([]time.Duration, 0, iters)
	b := []byte{'x'}
	for i := range warmup + iters {
		t0 := time.Now()
		if _, err := c.Write(b); err != nil {
			return result{}, fmt.Errorf("write: %w", err)
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return result{}, fmt.Errorf("read: %w", err)
		}
		if i >= warmup {
			rtts = append(rtts, time.Since(t0))
		}
	}
	slices.Sort(rtts)
	return result{P50: percentile(rtts, 50), P99: percentile(rtts, 99), RoundTrips: warmup + iters}, nil
}

// percentile returns the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// runGoCopy is a bare Go proxy: for each connection a dial and two io.Copy,
// with half-close. With -copy=splice both sides are *net.TCPConn and the
// runtime splices; with -copy=userspace the conns are hidden behind a
// wrapper, so io.Copy reads and writes through a 32 KiB buffer.
func runGoCopy(args []string) error {
	fs := flag.NewFlagSet(roleGoCopy, flag.ContinueOnError)
	listen := fs.String("listen", "", "address to listen on")
	upstream := fs.String("upstream", "", "address to connect to")
	mode := fs.String("copy", "splice", "splice or userspace")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *mode != "splice" && *mode != "userspace" {
		return fmt.Errorf("copy: unknown %q", *mode)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", *upstream)
			if err != nil {
				return
			}
			defer u.Close()
			var a, b net.Conn = c, u
			if *mode == "userspace" {
				a, b = opaqueConn{c}, opaqueConn{u}
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = io.Copy(b, a)
				_ = u.(*net.TCPConn).CloseWrite()
			}()
			_, _ = io.Copy(a, b)
			_ = c.(*net.TCPConn).CloseWrite()
			<-done
		}()
	}
}

// runEngine runs podkit's proxy engine with a dialer whose conns hide
// *net.TCPConn, so the engine takes its user-space path (a pooled 32 KiB
// buffer per direction, the path TLS takes) instead of splice: the engine
// with splice switched off, without changing it.
func runEngine(args []string) error {
	fs := flag.NewFlagSet(roleEngine, flag.ContinueOnError)
	listen := fs.String("listen", "", "address to listen on")
	upstream := fs.String("upstream", "", "address to connect to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, err := proxy.New(proxy.Config{
		Upstreams: []proxy.Upstream{{Addr: *upstream}},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return opaqueConn{c}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		p.Close()
		return fmt.Errorf("listen: %w", err)
	}
	return p.Serve(ln)
}

// opaqueConn hides a *net.TCPConn's ReadFrom and WriteTo (and so splice)
// but keeps its half-close.
type opaqueConn struct{ net.Conn }

// CloseWrite shuts down the write side of the TCP connection.
func (c opaqueConn) CloseWrite() error { return c.Conn.(*net.TCPConn).CloseWrite() }
