// Package sidecar implements the sidecar pattern: a helper container that
// extends the main container and shares the pod's lifecycle, with
// Kubernetes' native-sidecar semantics (KEP-753): it starts before the main
// containers, is restarted whenever it exits, and is stopped after them.
//
// The package has no API yet: package pod already models the sidecar role
// (pod.RoleSidecar) that it will use.
package sidecar
