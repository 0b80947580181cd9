// Package ambassador implements the ambassador pattern: the application
// talks to localhost inside its pod, and the ambassador carries that
// traffic to the services outside, so the application never learns about
// service discovery, sharding, retries or TLS. A podkit pod's network
// namespace has only its own loopback, so an ambassador is also the pod's
// controlled way out.
//
// An ambassador is an in-process sidecar (see package sidecar): Container
// returns a pod.Container whose function listens inside the pod's network
// namespace (pod.Pod.Listen) and connects to the upstreams from the
// supervising program's namespace. It has no process and no image. Its
// startup probe passes once it listens, so the containers declared after
// it start when the application can connect.
//
// # TCP
//
// TCP proxies connections to a pool of upstreams:
//
//   - load balancing per connection: weighted round robin (smooth, as
//     nginx's), least connections, the better of two random choices, and
//     consistent hashing on the client, which keeps a client on one upstream
//     and, with weights, gives a stable experiment split (90/10);
//   - health: active TCP checks (interval, timeout, rise, fall, as HAProxy's)
//     and passive ejection after consecutive connect failures, retried after
//     a timeout (twemproxy's auto_eject_hosts); a failed connect moves on to
//     the next healthy upstream, a bounded number of times; with every
//     upstream down a connection is closed at once;
//   - bytes move by splice(2) between the two sockets (no copy through this
//     program), both directions of a connection served by one event loop
//     woken by epoll, unless TLS is in the way; half-closes are passed on both
//     ways; connect and idle timeouts; a connection limit that stops
//     accepting at the limit (clients wait in the kernel's queue);
//   - limits by default: at most 1024 connections open (MaxConns), and a
//     connection that carries no byte either way for an hour closed
//     (IdleTimeout); a negative value turns either off;
//   - TLS origination (plaintext from the application, TLS to the upstream,
//     with a CA and SNI) and termination (TLS from the clients, plaintext to
//     the upstreams);
//   - metrics through prometheus/client_golang (podkit_proxy_...):
//     connections, bytes each way, upstream health, connect errors,
//     retries, rejections;
//   - graceful stop: when the pod stops it (after its main containers, as a
//     sidecar), it stops accepting, lets the open connections finish within
//     the grace period, and closes what is left when the grace period ends.
//
// # HTTP
//
// HTTP is a reverse proxy (net/http/httputil) that splits requests between
// upstreams by weight or by header (a canary), and mirrors a share of them
// to another upstream whose answers are discarded (a shadow). A request
// whose body cannot be read (a malformed chunked encoding) is answered 400,
// not blamed on the upstream. Its server has the bounds of
// internal/httpserve: headers within ReadHeaderTimeout (10s) and of at most
// MaxHeaderBytes (64 KiB), a keep-alive connection closed after IdleTimeout
// (60s) without a request, and at most MaxConns (1024) client connections
// open, beyond which clients wait in the kernel's accept queue; request
// bodies have no time bound, as they stream to the upstream.
//
// # Process form
//
// "podkit ambassador tcp" and "podkit ambassador http" run the same
// ambassadors as processes with the same options: a pod exported to
// Kubernetes runs them as a container of the podkit image, where they
// listen and connect in the pod's network namespace; under "podkit run",
// such a container runs in-process, as here.
//
// Published ports (pod.WithPorts) use the same proxy engine in the other
// direction: a host address forwarded into the pod's loopback.
package ambassador
