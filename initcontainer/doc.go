// Package initcontainer implements the init-container pattern: containers
// that run one at a time, in order, each to successful completion, before any
// main container of the pod starts (Kubernetes' initContainers). Typical uses
// are preparing a shared volume, waiting for a dependency, or running a
// migration.
//
// Package pod runs init containers today (pod.WithInitContainers, with the
// pod.RoleInit role); this package has no API of its own yet.
package initcontainer
