// Package initcontainer implements the init-container pattern: containers
// that run one at a time, in order, each to successful completion, before any
// main container of the pod starts (Kubernetes' initContainers). Typical uses
// are preparing a shared volume, waiting for a dependency, or running a
// migration.
//
// The package has no API yet: package pod already models the init role
// (pod.RoleInit) that it will use.
package initcontainer
