// Package sidecar implements the sidecar pattern: a helper container that
// extends the main container and shares the pod's lifecycle, with
// Kubernetes' native-sidecar semantics (KEP-753, an init container with
// restartPolicy: Always).
//
// A sidecar is a pod.Container with RestartPolicy pod.RestartAlways,
// declared among the pod's init containers (With does both). Package pod
// gives it these guarantees:
//
//   - It starts in its place among the init containers, and the next init
//     container, or the main containers, start only once it has started:
//     its startup probe has passed (or it has none) and its postStart hook
//     has finished.
//   - It is restarted whenever it ends, whatever the pod's restart policy,
//     with the crash-loop back-off.
//   - When every main container of a pod with restart policy OnFailure or
//     Never has completed, the sidecars are stopped and the pod completes;
//     their exit codes then do not fail the pod (a job with sidecars ends).
//   - When the pod stops, the main (and init) containers run their preStop
//     hooks and then get their stop signal; only after every one of them
//     has exited does each sidecar, one at a time and the last declared
//     first, run its preStop hook and get its stop signal. One grace period
//     covers it all, after which whatever is left gets SIGKILL.
//
// A sidecar is a process (Command) or a Go function run by the supervising
// program (Func): an in-process sidecar has exactly the lifecycle above,
// and reaches the pod's network namespace through pod.FromContext (Listen,
// DialContext), so it can serve or proxy on the pod's loopback without any
// process of its own. That is what lets a Go program embed its helpers.
//
// # Ready-made sidecars
//
// Each is configuration whose Container method returns an in-process
// sidecar, and whose Run method can be used on its own:
//
//   - LogShipper follows log files in a volume, across rotation, and
//     forwards their lines to a writer (the log adapter's input, or any
//     io.Writer).
//   - ConfigReloader watches a configuration file or directory with
//     inotify and signals another container (SIGHUP by default) when its
//     content changes, debounced; it follows editors' atomic replaces and
//     Kubernetes' ConfigMap "..data" swaps.
//   - ContentSyncer runs a sync step (a command such as git pull, or a Go
//     function) into a volume on an interval, and is Ready after its first
//     success; with WaitForFirstSync the containers after it wait for that
//     first success too.
//
// # Where podkit differs from Kubernetes
//
// In-process sidecars have no Kubernetes counterpart: exported to a
// manifest they become containers running the podkit command. A function
// cannot be killed: on SIGKILL (the end of the grace period) its context is
// already cancelled, and the pod waits for it to return, reporting it as
// killed. Kubernetes signals another container only with a shared process
// namespace; a ConfigReloader signals its target in any pod.
package sidecar
