// Package sidecar implements the sidecar pattern: a helper container that
// extends the main container and shares the pod's lifecycle, with
// Kubernetes' native-sidecar semantics (KEP-753): it starts before the main
// containers, is restarted whenever it exits, and is stopped after them.
//
// Package pod runs process sidecars today: an init container with
// RestartPolicy pod.RestartAlways has the pod.RoleSidecar role and these
// semantics. This package has no API of its own yet; in-process sidecars and
// ready-made ones are to come.
package sidecar
