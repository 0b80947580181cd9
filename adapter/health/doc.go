// Package health is the health adapter (see package adapter): it turns an
// application's own checks into the standard health endpoints of a
// Kubernetes component, in kube-apiserver's format. The checks are a
// command run in one of the pod's containers, a TCP connect, a Redis PING,
// or an HTTP GET whose 2xx status, and optionally a JSON field such as
// Spring Boot's {"status":"UP"}, is checked.
//
// /livez, /readyz and /healthz answer 200 "ok", or 500 with a [+]/[-] line
// per check. ?verbose adds reasons and durations, ?exclude=name skips a
// check, and /readyz/<name> runs a single check. A check is in both /livez
// and /readyz unless it is marked Liveness or Readiness only, and /healthz
// runs every check.
//
// A request runs its checks concurrently, each bounded by Timeout. A check
// never runs twice at once, and CacheFor reuses results so that a flood of
// requests is not a flood of checks. Metrics
// podkit_adapter_health_check_up and
// podkit_adapter_health_check_duration_seconds go to an optional
// Registerer.
//
// # Forms
//
// An Adapter is configuration, with the three forms every adapter has:
//
//   - Container(name) places it in a pod as an in-process sidecar (with a
//     startup probe on PodListen, when set). Exported to Kubernetes it is
//     "podkit adapter health --config <JSON>".
//   - Run(ctx) serves Listen on the host for outside monitors, and
//     optionally PodListen inside the pod, so that the pod's own HTTPGet
//     probes can target 127.0.0.1:<port>/readyz. It blocks until ctx is
//     done, then drains the requests in flight and waits for the checks it
//     started.
//   - Handler(ctx) returns the endpoints for a program that serves them
//     itself; the checks it started end, and its metrics are unregistered,
//     when ctx is done.
//
// In each, the pod is the one of pod.FromContext(ctx), if any: connections
// and commands run inside it. Without a pod they run where the adapter
// runs.
//
// # Limits
//
// Run serves with bounds that a hostile or careless client cannot outlast
// (internal/httpserve): a request's headers within ReadHeaderTimeout (10s)
// and all of it within ReadTimeout (30s), an answer within Timeout plus
// 10s, a keep-alive connection closed after IdleTimeout (60s) without a
// request, headers of at most MaxHeaderBytes (64 KiB), and at most
// MaxConns (1024) connections open on each address, beyond which clients
// wait in the kernel's accept queue. Each is a field of Adapter (and a
// flag of "podkit adapter health"); zero means the default, a negative
// timeout or MaxConns none.
//
// Kubernetes' counterpart is an application's /healthz handler and the
// kubelet's probes; the adapter provides them without changing the
// application.
package health
