// Package logs is the log adapter (see package adapter): it normalises an
// application's logs without touching the application. It reads its lines
// (a container's output in the same pod, followed across restarts; files
// in a volume, followed across rotation; standard input; a reader),
// parses them in the application's format (JSON as zap, logrus, slog or
// pino write it, logfmt, named groups of a regular expression, the CRI
// format the kubelet stores, klog/glog, the common and combined access log
// formats, or a guess per line), joins multiline records such as stack
// traces, and writes each as one JSON line: "time" in UTC RFC 3339 with
// nanoseconds, "level" (trace, debug, info, warn, error, fatal), "msg",
// then the line's fields, renamed, cast or dropped as configured, and
// optionally "pod", "container" and "host".
//
// No line is lost silently: a line that does not parse is written raw
// with "parse_error": true and the reason, long lines are cut and flagged,
// invalid UTF-8 is replaced, and each is counted in Prometheus metrics.
// Parser is the same core without input or output, for tests and other
// programs.
//
// # Forms
//
// An Adapter is configuration, with the forms every adapter has:
//
//   - Container(name) places it in a pod as an in-process sidecar; unless
//     it reads another container's output or a Reader, or writes to a
//     Writer or a zap core, it is exported to Kubernetes as "podkit
//     adapter logs --config <JSON>".
//   - Run(ctx) adapts the input until ctx is done (or the input ends),
//     writes the records still held, and returns once every goroutine and
//     file it opened is gone.
//
// In both, the pod is the one of pod.FromContext(ctx), if any: the
// container whose output is read (FromContainer), the volumes that hold
// the files, and the default output (the container's own log). Without a
// pod the adapter reads files on the host, standard input or a Reader,
// and writes to standard output by default. The log adapter serves no
// HTTP, so it has no Handler.
//
// Kubernetes' counterpart is a logging agent (Fluent Bit, Vector) run as a
// sidecar that reads a shared volume, or a node agent that reads the
// kubelet's CRI logs.
package logs
