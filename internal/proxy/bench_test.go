package proxy

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// The benchmarks compare a client talking to a server directly with the same
// client going through the proxy on loopback. Sub-benchmarks run in order,
// so each proxy variant reports its ratio to the direct run just before it
// as the metric "proxy/direct": for throughput the ratio of MB/s (1 is as
// fast as direct), for round trips the ratio of ns/op (1 adds nothing).

// benchTargets are the ways to reach a server: directly (cfg nil), or
// through a proxy configured as named.
var benchTargets = []struct {
	name string
	cfg  func(upstream string) *Config
}{
	{name: "direct", cfg: func(string) *Config { return nil }},
	{name: "proxy", cfg: func(up string) *Config {
		return &Config{Upstreams: []Upstream{{Addr: up}}}
	}},
	// Idle checks (TCP_INFO every IdleTimeout/4 = 10ms) beside splice.
	{name: "proxy-idle-40ms", cfg: func(up string) *Config {
		return &Config{Upstreams: []Upstream{{Addr: up}}, IdleTimeout: 40 * time.Millisecond}
	}},
	// A conn type that hides *net.TCPConn: user-space copy through the
	// pooled buffer, as with TLS.
	{name: "proxy-userspace", cfg: func(up string) *Config {
		return &Config{Upstreams: []Upstream{{Addr: up}}, Dial: opaqueDial}
	}},
}

// benchTarget returns the address to dial to reach upstream.
func benchTarget(b *testing.B, cfg *Config, upstream string) string {
	if cfg == nil {
		return upstream
	}
	_, addr := startProxy(b, *cfg)
	return addr
}

func BenchmarkThroughput(b *testing.B) {
	const chunk = 1 << 20
	var direct float64 // ns per MiB, direct
	for _, tt := range benchTargets {
		b.Run(tt.name, func(b *testing.B) {
			// The sink discards what it reads and closes at EOF.
			sink := newServer(b, func(_ *server, c net.Conn) {
				buf := make([]byte, 256<<10)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			})
			c, err := net.Dial("tcp", benchTarget(b, tt.cfg(sink.Addr()), sink.Addr()))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, chunk)
			b.SetBytes(chunk)
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			// Wait for the sink to have everything.
			c.(*net.TCPConn).CloseWrite()
			if _, err := io.Copy(io.Discard, c); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			// CPU time of the whole process (client, proxy and sink) per
			// MiB: the proxy's own cost is the difference from direct.
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/MiB")
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if tt.cfg("x:1") == nil {
				direct = perOp
			} else if direct > 0 {
				b.ReportMetric(direct/perOp, "proxy/direct")
			}
		})
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	var direct float64 // ns per round trip, direct
	for _, tt := range benchTargets {
		b.Run(tt.name, func(b *testing.B) {
			echo1 := newServer(b, func(_ *server, c net.Conn) {
				var buf [1]byte
				for {
					if _, err := c.Read(buf[:]); err != nil {
						return
					}
					if _, err := c.Write(buf[:]); err != nil {
						return
					}
				}
			})
			c, err := net.Dial("tcp", benchTarget(b, tt.cfg(echo1.Addr()), echo1.Addr()))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			var buf [1]byte
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf[:]); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Read(buf[:]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if tt.cfg("x:1") == nil {
				direct = perOp
			} else if direct > 0 {
				b.ReportMetric(perOp/direct, "proxy/direct")
			}
		})
	}
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
