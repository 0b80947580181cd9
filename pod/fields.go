package pod

import (
	"crypto/rand"
	"fmt"
)

// PodField names a fact of the running pod that becomes known only when
// it starts, which an environment variable (FieldEnv) or a file of a
// projected volume (ProjectedFile.Field) can take, as Kubernetes' downward
// API gives them. Its values are the Kubernetes field paths.
type PodField string

const (
	// FieldPodName is the pod's name.
	FieldPodName PodField = "metadata.name"
	// FieldPodUID is the pod's UID (see UID).
	FieldPodUID PodField = "metadata.uid"
	// FieldPodIP is Status.PodIP: empty for an isolated pod.
	FieldPodIP PodField = "status.podIP"
	// FieldPodIPs is every address of the pod, comma-separated: podkit
	// gives a pod one, so the same as FieldPodIP.
	FieldPodIPs PodField = "status.podIPs"
	// FieldHostIP is Status.HostIP: empty for an isolated pod.
	FieldHostIP PodField = "status.hostIP"
	// FieldHostIPs is every address of the host as the pod sees it,
	// comma-separated: the same as FieldHostIP.
	FieldHostIPs PodField = "status.hostIPs"
)

// FieldEnv is an environment variable whose value the pod takes from a
// PodField when the container starts (and for each Exec), like an env
// entry with Kubernetes' valueFrom.fieldRef.
type FieldEnv struct {
	// Name is the variable's name; non-empty, without '=' or a NUL byte.
	Name string
	// Field is the value's source.
	Field PodField
}

// UID returns the pod's unique identifier, Kubernetes' metadata.uid: the
// one WithUID gave, or a random UUID made by New. It never changes.
func (p *Pod) UID() string { return p.uid }

// newUID returns a random (version 4) UUID.
func newUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// fieldValue is the value of f in the running pod; the addresses are
// known once Start has set up the network.
func (p *Pod) fieldValue(f PodField) string {
	switch f {
	case FieldPodName:
		return p.name
	case FieldPodUID:
		return p.uid
	case FieldPodIP, FieldPodIPs:
		return p.podIP
	case FieldHostIP, FieldHostIPs:
		return p.hostIP
	}
	return ""
}

// validField reports whether f is one of the PodField constants.
func validField(f PodField) bool {
	switch f {
	case FieldPodName, FieldPodUID, FieldPodIP, FieldPodIPs, FieldHostIP, FieldHostIPs:
		return true
	}
	return false
}

// fieldEnv is c's FieldEnv as "KEY=value".
func (p *Pod) fieldEnv(c Container) []string {
	var env []string
	for _, e := range c.FieldEnv {
		env = append(env, e.Name+"="+p.fieldValue(e.Field))
	}
	return env
}
