package pod

import (
	"context"
	"errors"
	"strings"
)

// ImageStore gives a pod the images its containers run from. Package image's
// Store implements it; WithImages gives it to a pod. A pod calls it from
// the goroutine that starts a container, concurrently for several
// containers and pods, so implementations must be safe for concurrent use.
type ImageStore interface {
	// Lookup returns the image ref names if the store holds it, with its
	// layers unpacked, without asking a registry. An image the store does
	// not hold gives an error wrapping ErrImageNotPresent; a ref that is
	// not a valid image reference, ErrInvalidImageName.
	Lookup(ctx context.Context, ref string) (*Image, error)
	// Pull fetches ref from its registry into the store, sending only
	// what the store lacks, and returns it as Lookup does. It blocks until
	// the image is stored and unpacked, or ctx is done.
	Pull(ctx context.Context, ref string) (*Image, error)
}

// Image is an image ready to run: stored, verified and unpacked.
type Image struct {
	// Name is the full reference, such as
	// "index.docker.io/library/busybox:1.36".
	Name string
	// Digest is the digest of the image's manifest, "sha256:...".
	Digest string
	// ID is the digest of the image's configuration, as kubectl and
	// podman show an image ID.
	ID string
	// Size is the size in bytes of the image's layers as stored
	// (compressed).
	Size int64
	// Layers are the directories of the image's unpacked layers, bottom
	// layer first, in overlayfs's form (whiteouts as 0/0 character
	// devices, opaque directories marked with trusted.overlay.opaque).
	// They are shared and must never be written.
	Layers []string
	// Config is what the image says about running it.
	Config ImageConfig
	// Release, when not nil, is called once by the pod when no container
	// uses the image any longer; until then the store keeps its layers,
	// whatever removes or prunes images.
	Release func()
}

// ImageConfig is the part of an image's configuration that decides how its
// containers run (the OCI image configuration's config object).
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	// Env holds "KEY=value" entries.
	Env        []string
	WorkingDir string
	// User is "user", "uid", "user:group" or "uid:gid", resolved through
	// the image's own /etc/passwd and /etc/group.
	User string
	// StopSignal is a signal name such as "SIGQUIT", or "".
	StopSignal string
}

var (
	// ErrImageNotPresent is wrapped by ImageStore.Lookup's error for an
	// image the store does not hold.
	ErrImageNotPresent = errors.New("image not present")
	// ErrInvalidImageName is wrapped by an ImageStore's error for a
	// reference that names no image.
	ErrInvalidImageName = errors.New("invalid image name")
)

// PullPolicy says when a container's image is pulled, as Kubernetes'
// imagePullPolicy does.
type PullPolicy string

const (
	// PullAlways pulls the image every time a container starts; only
	// what changed is downloaded.
	PullAlways PullPolicy = "Always"
	// PullIfNotPresent pulls the image only when the store lacks it.
	PullIfNotPresent PullPolicy = "IfNotPresent"
	// PullNever never pulls: the image must be in the store.
	PullNever PullPolicy = "Never"
)

// DefaultPullPolicy returns the kubelet's default pull policy for image: a
// reference with the tag "latest" or with neither tag nor digest is pulled
// Always, any other IfNotPresent.
func DefaultPullPolicy(image string) PullPolicy {
	if strings.Contains(image, "@") {
		return PullIfNotPresent
	}
	// The tag follows the last ':' after the last '/' (a ':' before it
	// is a registry's port).
	last := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(last, ":")
	if i < 0 || last[i+1:] == "latest" {
		return PullAlways
	}
	return PullIfNotPresent
}
