// Package adapter documents the adapter pattern, the ambassador's mirror:
// heterogeneous applications are presented to the outside world through
// one uniform interface (health, monitoring, logging) without a change to
// the application. An adapter runs beside the application in its pod,
// reaches it where it listens, writes or logs, and translates.
//
// The adapters are in three packages, one per concern:
//
//   - [github.com/podkit/podkit/adapter/metrics] presents an application's
//     own monitoring (a JSON document, "key value" lines, a command's
//     output, StatsD packets) as Prometheus metrics.
//   - [github.com/podkit/podkit/adapter/health] turns an application's own
//     checks into the /livez, /readyz and /healthz endpoints of a
//     Kubernetes component.
//   - [github.com/podkit/podkit/adapter/logs] normalises an application's
//     log lines (JSON, logfmt, klog, access logs, free text) into one JSON
//     record per line.
//
// Each adapter is plain configuration (an Adapter struct whose JSON form
// is the --config of "podkit adapter metrics|health|logs") with the same
// two methods:
//
//   - Container(name) returns a pod.Container that runs the adapter as an
//     in-process sidecar: in the program that runs the pod, the pod given
//     by the container's context (pod.FromContext). Exported to
//     Kubernetes, the same container is "podkit adapter <kind> --config
//     <JSON>".
//   - Run(ctx) runs the adapter until ctx is done, then returns once
//     everything it started (goroutines, sockets, commands, metrics) is
//     gone. In an in-process container it works inside the pod that
//     pod.FromContext(ctx) gives; elsewhere (the process form, a test, a
//     program of its own) it works where it runs.
//
// The metrics and health adapters also have Handler(ctx), for a program
// that serves their endpoints in an HTTP server of its own: the pod is
// again pod.FromContext(ctx)'s, and what the handler holds is released
// when ctx is done.
//
// Kubernetes has no object for the pattern: an adapter is an ordinary
// container of the pod (often a native sidecar, an init container with
// restartPolicy Always), such as a Prometheus exporter beside a database,
// or a log agent reading a volume.
package adapter
