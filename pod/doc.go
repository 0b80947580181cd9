// Package pod runs a group of host processes as a Kubernetes-style pod on one
// Linux machine: they share network (a loopback of their own, the host's, or
// a veth pair to the host), IPC and UTS (the pod's hostname) namespaces, and
// optionally a PID namespace, and they are supervised with the kubelet's
// semantics for phases, conditions, init containers and native sidecars,
// restart policies, crash-loop back-off, probes, lifecycle hooks and
// graceful termination. A container is a process, or a Go function run by
// this program (Container.Func) with the same lifecycle.
//
// # Spec and options
//
// A pod is made with New(name, spec, opts...). The Spec is plain data, like
// exec.Cmd: containers, volumes, network, restart policy, grace period, each
// zero field with a documented default; New validates it and returns an
// error wrapping ErrInvalidSpec that names every bad field. The options are
// what the host decides and a manifest cannot say: the logger (WithLogger),
// the clock (WithClock), the state directory (WithStateDir), the cgroup
// parent (WithCgroupParent, WithNestedCgroup), the metrics registry
// (WithMetrics), the log buffer (WithLogBufferSize) and the back-off
// (WithBackoff).
//
// # Lifecycle
//
// Run starts the pod and blocks until it has ended; a cancelled context
// stops it gracefully (preStop hooks, stop signals in the kubelet's order,
// SIGKILL when the grace period ends). Start and Wait split Run for a caller
// that needs the pod in between; Kill stops it at once. When Run or Wait
// returns, every process the pod started has exited and been reaped, and
// every goroutine, socket, cgroup and volume it made is gone. Status,
// Subscribe, Logs, FollowLogs, Exec, Signal, DialContext and Listen are safe
// from any goroutine while the pod runs.
//
// The pod needs root and Linux 5.8 or later (5.14 on cgroup v2 hosts); its
// infra process and the containers' inits are this program re-executed, so
// programs need no change to their main function.
//
// # Further reading
//
//   - docs/lifecycle.md: the phases, container states, conditions, init
//     stage, restarts, probes, hooks and stop sequence, rule by rule, and
//     every difference from the kubelet.
//   - docs/plumbing.md: the namespaces, cgroups, volumes, root filesystems,
//     security context and network modes under all this, and what happens
//     when the supervising program dies.
//   - docs/config.md: projected volumes (ConfigMaps, Secrets, the downward
//     API), their atomic updates (UpdateVolume) and FieldEnv.
//   - docs/design.md: why it is built this way.
//
// The pattern packages (sidecar, initcontainer, ambassador, adapter) build
// ready-made containers on this package, and package kube reads and writes
// Kubernetes manifests for it.
package pod
