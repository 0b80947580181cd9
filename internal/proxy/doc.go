// Package proxy is the TCP proxy engine behind podkit's ambassadors and
// published ports. An ambassador lets the application talk to 127.0.0.1
// inside its pod while the proxy carries the traffic to a pool of upstreams
// outside (the Kubernetes counterpart is a sidecar such as Envoy or
// twemproxy); a published port carries traffic from the host into the pod
// (the counterpart of a hostPort or a NodePort). The public packages build on
// this one; it has no opinion on namespaces: the caller creates the listener
// in the right network namespace and, for published ports, passes a
// Config.Dial that connects inside the pod.
//
// # Lifecycle
//
// New validates a Config (plain data, documented zero values) and registers
// the metrics. Serve accepts on one listener until the proxy stops; call it
// once per listener. Shutdown stops accepting and waits for the open
// connections to end, closing them if its context ends first; Close closes
// everything at once. Both return only when every goroutine the proxy
// started has exited, every socket it opened is closed and its metrics are
// unregistered; Serve then returns ErrServerClosed.
//
// # Copying
//
// When both sides of a connection are *net.TCPConn (plain TCP, the usual
// case), the connection is carried by an event loop: one goroutine per CPU
// (at most 8, started as connections come) blocked in epoll_wait(2), serving
// both directions of each of its connections with splice(2) through a pipe
// of at most 1 MiB per direction, on non-blocking sockets taken out of the
// runtime's netpoller. The payload never enters user space, and a byte that
// arrives wakes the loop's thread directly. A goroutine per direction parked
// in the netpoller would cost a wake-up through the scheduler per hop,
// often on another CPU: between processes, several times the loops'
// round-trip latency (which is below HAProxy's), at twice the CPU (BENCHMARKS.md,
// "Ambassador throughput and latency"). The loops lose only when both peers
// are goroutines of the proxy's own process: the runtime then keeps its
// threads spinning between the peers' turns while a loop's thread sleeps in
// the kernel, and copying in goroutines has the shorter round trip
// (BenchmarkRoundTrip; BENCHMARKS.md, "The trade-off"); ambassadors and
// published ports carry traffic between processes.
//
// With TLS on either side, or conns of other types from a custom Dial or
// listener, each direction is a goroutine copying through one pooled 32 KiB
// buffer. Either way a client that stops reading stalls only its own
// connection: the proxy stops reading from the upstream, whose writes block
// on TCP flow control; nothing is buffered without bound.
//
// Byte counters are updated as bytes are delivered, on both paths. Idleness:
// a timer per connection reads the kernel's per-socket counters (TCP_INFO
// bytes received and bytes acknowledged) every IdleTimeout/4, so a
// connection is idle only when no byte crossed either of its sockets,
// whatever the copies are blocked on; a client that reads slowly is not
// idle. A check that runs late, after a stall of the proxy's own process,
// re-arms rather than closing: the next check, on time, decides.
//
// # Half-close
//
// When one direction reaches EOF the proxy shuts down the write side of the
// other connection (TCP CloseWrite; for TLS, close_notify and then the TCP
// write side), and keeps copying the other direction: a client that sends a
// request and closes its write side still reads the whole reply. A
// connection ends when both directions have ended, on an error (a reset
// from one peer is passed on to the other as a reset), or after IdleTimeout
// without a byte either way. A connection that one side half-closed stays
// open while the other side may still send, and Shutdown waits for it like
// for any other.
//
// # Limits
//
// MaxConns bounds the connections open at once (DefaultMaxConns unless
// set; negative for no bound); at the bound the proxy stops calling
// Accept, so new clients wait in the kernel's listen backlog rather than
// in the proxy, and proceed as connections end. IdleTimeout
// (DefaultIdleTimeout unless set; negative for never) closes a connection
// that carries no byte either way, so that silent clients do not hold
// the slots for ever. Both apply to every caller that leaves them zero:
// ambassadors and published ports alike.
//
// # Health
//
// Each upstream is watched two ways: active TCP connect checks (HAProxy's
// inter, timeout, rise, fall) and passive ejection after consecutive connect
// failures for a retry timeout (twemproxy's auto_eject_hosts). Every
// balancer skips unhealthy and ejected upstreams; a failed connect is retried
// on another upstream; when no upstream is available a new connection is
// closed at once and counted as rejected, not queued.
//
// # Metrics
//
// With Config.Registerer set, the proxy exports, with Config.ConstLabels:
//
//	podkit_proxy_connections_active                 gauge
//	podkit_proxy_connections_total                  counter
//	podkit_proxy_bytes_total{direction}             counter (upstream | downstream)
//	podkit_proxy_upstream_up{upstream}              gauge (healthy and not ejected)
//	podkit_proxy_upstream_connections_active{upstream} gauge
//	podkit_proxy_upstream_connect_errors_total{upstream} counter
//	podkit_proxy_retries_total                      counter
//	podkit_proxy_rejected_connections_total{reason} counter (no_upstream)
//	podkit_proxy_max_conns_waits_total              counter
//	podkit_proxy_idle_timeouts_total                counter
//
// Stats gives the same numbers without Prometheus. The package keeps no
// global state: each Proxy owns its counters, buffers and registration.
package proxy
