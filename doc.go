// Package podkit is a library of container design patterns for Go programs:
// Kubernetes-grade pods on one Linux machine, without a container engine.
//
// A pod (package pod) groups host processes that share network, IPC and UTS
// namespaces, and optionally a PID namespace, and supervises them with the
// kubelet's semantics: phases, conditions, restart policies, crash-loop
// back-off, graceful termination, events and logs.
//
// Around a pod's main containers the single-node patterns of Burns and
// Oppenheimer ("Design patterns for container-based distributed systems",
// HotCloud 2016) each have a package:
//
//   - initcontainer: containers that run to completion, in order, before the
//     application starts;
//   - sidecar: helpers that share the pod's lifecycle, with Kubernetes'
//     native-sidecar start and stop order;
//   - ambassador: the application talks to localhost inside the pod, and the
//     ambassador carries the traffic to the outside world;
//   - adapter: presents the application to the outside world in a standard
//     form (metrics, logs, health).
//
// Pattern packages build on package pod; pod knows the roles containers play
// (infra, init, sidecar, main), not the patterns.
package podkit
