// Package initcontainer implements the init-container pattern: steps that
// run one at a time, in order, each to successful completion, before any
// main container of the pod starts (Kubernetes' initContainers). Typical
// uses are preparing a shared volume, waiting for a dependency, or running
// a migration.
//
// An init container is a pod.Container declared with With (which is
// pod.WithInitContainers). Package pod gives it these guarantees:
//
//   - Init containers run one at a time, in declaration order; each must
//     exit 0 before the next starts, and the main containers start only
//     after the last.
//   - A failed init container is retried with the pod's crash-loop back-off
//     when the pod's restart policy is Always or OnFailure; with Never the
//     pod fails, and Pod.Wait returns a *pod.ExitError naming it. Its own
//     RestartRules (exit-code rules) can ask for a retry under Never too.
//   - The pod's active deadline (pod.WithActiveDeadline) covers the init
//     stage: past it the pod fails with reason DeadlineExceeded.
//   - A container among them with RestartPolicy pod.RestartAlways is a
//     sidecar (see package sidecar): it keeps running, and the next init
//     container starts once it has started.
//
// A step is a process (Command, or any pod.Container) or a Go function run
// by the supervising program (Func), with the same ordering and retries;
// pod.FromContext gives a function its pod, for sockets inside the pod's
// network namespace and volume paths.
//
// # Ready-made steps
//
//   - WaitForTCP waits until an address accepts connections (the classic
//     "until nc -z db 5432" init container), from inside the pod or from
//     the host, with an interval and an optional timeout.
//   - Extract unpacks a tar or tar.gz archive into a volume, refusing any
//     entry that would land outside it: the "WAR file and Tomcat" example of
//     the pattern, where an init container puts the application in place
//     for the server container.
//
// # Where podkit differs from Kubernetes
//
// In-process steps have no Kubernetes counterpart: exported to a manifest
// they become containers running the podkit command.
package initcontainer
