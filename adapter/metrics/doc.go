// Package metrics is the metrics adapter, the adapter pattern's classic
// example (see package adapter): it presents an application's own
// monitoring as Prometheus metrics, without changing the application. Its
// sources are a JSON document over HTTP (values picked by simple paths
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
// (MaxSeries per source, against label explosions), invalid, duplicate,
// conflicting or unmapped ones. Answers and command output are bounded
// (4 MiB), as are lines, packets and names.
//
// # Forms
//
// An Adapter is configuration, with the three forms every adapter has:
//
//   - Container(name) places it in a pod as an in-process sidecar, whose
//     startup probe passes once it listens, so that the application's
//     first StatsD packets are received. Exported to Kubernetes it is
//     "podkit adapter metrics --config <JSON>".
//   - Run(ctx) serves /metrics on Listen until ctx is done, and returns
//     once every goroutine and socket it made is gone.
//   - Handler(ctx) starts the sources without serving them, for a program
//     that mounts the handler in a server of its own; they stop when ctx
//     is done.
//
// In each, the pod is the one of pod.FromContext(ctx), if any: the sources
// are reached inside its network namespace, where the application listens
// and sends (Pod.DialContext, Pod.ListenPacket), and /metrics listens on
// the host, where monitors scrape it. Without a pod everything happens
// where the adapter runs.
//
// # Limits
//
// /metrics is served with bounds that a hostile or careless client cannot
// outlast (internal/httpserve): a request's headers within
// ReadHeaderTimeout (10s) and all of it within ReadTimeout (30s), a
// keep-alive connection closed after IdleTimeout (60s) without a request,
// headers of at most MaxHeaderBytes (64 KiB), and at most MaxConns (1024)
// connections open, beyond which clients wait in the kernel's accept
// queue. Each is a field of Adapter (and a flag of "podkit adapter
// metrics"); zero means the default, a negative timeout or MaxConns none.
//
// Kubernetes' counterpart is an exporter container beside the application
// (statsd_exporter, json_exporter), scraped through the pod's port.
package metrics
