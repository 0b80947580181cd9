// Package adapter implements the adapter pattern, the ambassador's mirror:
// heterogeneous applications are presented to the outside world through one
// uniform interface — health, monitoring, logging — without changing the
// application. Each adapter is an in-process sidecar (its Container method
// returns a pod.Container running it in the supervising program), reaches
// the application inside its pod, and runs as "podkit adapter …" with the
// same options (its configuration as JSON in --config) in a pod exported to
// Kubernetes.
//
// # Metrics adapter
//
// Metrics presents an application's own monitoring as Prometheus metrics,
// the adapter pattern's classic example, without changing the application.
// Its sources are a JSON document over HTTP (values picked by simple paths
// such as "queues.*.depth", wildcards captured into labels), "key value"
// lines over HTTP or from a command run in one of the pod's containers (as
// Pod.Exec does), and StatsD packets over UDP (counters summed, gauges set
// or moved, timers and histograms as Prometheus histograms or summaries,
// names mapped by globs in statsd_exporter's style). Each source is a
// prometheus.Collector read at scrape time (StatsD accumulates as packets
// arrive), and /metrics is served by promhttp in the text format 0.0.4 or
// OpenMetrics 1.0, as the scraper asks. Names follow Prometheus'
// conventions: base units (a unit declared in milliseconds or KiB is
// converted to seconds or bytes, and named so), counters ending in
// "_total", HELP and TYPE always, names from the application's data
// sanitized to snake_case.
//
// A source that fails or outlasts the scrape timeout shows as
// podkit_adapter_source_up{source} 0, and the scrape still succeeds. Bad
// input is counted, never fatal: podkit_adapter_parse_errors_total, and
// podkit_adapter_dropped_series_total{reason} for series over the cap
// (maxSeries per source, against label explosions), invalid, duplicate,
// conflicting or unmapped ones. Answers and command output are bounded
// (4 MiB), as are lines, packets and names.
//
// In-process, the sources are reached inside the pod's network namespace,
// where the application listens and sends (Pod.DialContext,
// Pod.ListenPacket), and /metrics listens on the host, where monitors
// scrape it. Metrics.Container makes it a sidecar whose startup probe
// passes once it listens, so the application's first StatsD packets are
// received. Metrics.Start embeds it in a server of the caller's.
//
// # Log adapter
//
// Logs normalises an application's logs without touching the application:
// it reads its lines (a container's output in the same pod, followed across
// restarts; files in a volume, followed across rotation; standard input; a
// reader), parses them in the application's format (JSON as zap, logrus,
// slog or pino write it, logfmt, named groups of a regular expression, the
// CRI format the kubelet stores, klog/glog, the common and combined access
// log formats, or a guess per line), joins multiline records such as stack
// traces, and writes each as one JSON line: "time" in UTC RFC 3339 with
// nanoseconds, "level" (trace, debug, info, warn, error, fatal), "msg",
// then the line's fields, renamed, cast or dropped as configured, and
// optionally "pod", "container" and "host". No line is lost silently: a
// line that does not parse is written raw with "parse_error": true and the
// reason, long lines are cut and flagged, invalid UTF-8 is replaced, and
// each is counted in Prometheus metrics. LogParser is the same core without
// input or output, for tests and other programs.
//
// # Health adapter
//
// Health turns an application's own checks into the standard health
// endpoints of a Kubernetes component, in kube-apiserver's format. The
// checks are a command run in one of the pod's containers, a TCP connect, a
// Redis PING, or an HTTP GET whose 2xx status, and optionally a JSON field
// such as Spring Boot's {"status":"UP"}, is checked.
//
// /livez, /readyz and /healthz answer 200 "ok", or 500 with a [+]/[-] line
// per check. ?verbose adds reasons and durations, ?exclude=name skips a
// check, and /readyz/<name> runs a single check. A check is in both /livez
// and /readyz unless it is marked Liveness or Readiness only, and /healthz
// runs every check.
//
// A request runs its checks concurrently, each bounded by Timeout. A check
// never runs twice at once, and CacheFor reuses results so that a flood of
// requests is not a flood of checks. Health serves Listen on the host for
// outside monitors, and optionally PodListen inside the pod, so the pod's
// own HTTPGet probes can target 127.0.0.1:<port>/readyz. Its connections
// and commands run inside the pod.
//
// Run blocks until its context is done, then drains the requests in flight
// and waits for the checks it started. Metrics
// podkit_adapter_health_check_up and
// podkit_adapter_health_check_duration_seconds go to an optional
// Registerer. Kubernetes' counterpart is an application's /healthz handler
// and the kubelet's probes; the adapter provides them without changing the
// application.
package adapter
