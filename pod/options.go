package pod

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// An Option sets something the host decides about a pod in New: where its
// logs and state go, which clock and back-off it uses, where its cgroup
// lives. What the pod is (its containers, volumes, policies, network) is
// its Spec.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config holds what the host decides about a pod, as the options set it.
type config struct {
	backoff        Backoff
	logger         *zap.Logger
	clock          clock.Clock
	logBufferBytes int
	cgroupParent   string
	cgroupNested   bool
	stateDir       string
	maskedPaths    []string
	registerer     prometheus.Registerer
	images         ImageStore
	uid            string
}

// WithUID sets the pod's UID (Pod.UID, the downward API's metadata.uid),
// as an API server assigns one; a manifest's metadata.uid is such a UID.
// Default a random UUID, made by New.
func WithUID(uid string) Option {
	return optionFunc(func(c *config) { c.uid = uid })
}

// WithBackoff sets the crash-loop back-off; zero fields keep the kubelet's
// defaults.
func WithBackoff(b Backoff) Option {
	return optionFunc(func(c *config) { c.backoff = b })
}

// WithLogger sets the logger for the pod's events and diagnostics. The pod
// never calls Sync on it. Default zap.NewNop().
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithClock sets the clock used for back-off, the grace period and
// timestamps; tests pass a fake clock. Default the real clock.
func WithClock(clk clock.Clock) Option {
	return optionFunc(func(c *config) {
		if clk != nil {
			c.clock = clk
		}
	})
}

// WithLogBufferSize sets how many bytes of output are kept in memory for each
// container instance (the current one and the previous one). Default 1 MiB.
func WithLogBufferSize(bytes int) Option {
	return optionFunc(func(c *config) { c.logBufferBytes = bytes })
}

// WithCgroupParent sets the cgroup that holds the pod's cgroup, relative to
// the root of the cgroup hierarchy. Default "podkit", so a container's cgroup
// is /sys/fs/cgroup/<controller>/podkit/<pod>_<owner>/<container> on cgroup v1.
func WithCgroupParent(parent string) Option {
	return optionFunc(func(c *config) { c.cgroupParent = parent })
}

// WithNestedCgroup places the cgroup parent under the supervising program's
// own cgroup instead of the hierarchy's root, for programs that run in a
// delegated cgroup.
func WithNestedCgroup() Option {
	return optionFunc(func(c *config) { c.cgroupNested = true })
}

// WithMaskedPaths hides host directories from every container: each is
// covered by an empty read-only tmpfs in the container's own mount
// namespace, before its volumes are mounted (a hostPath volume above one
// shows it empty too). A program that serves a pod's API passes its run
// directory (podapi's DefaultDir, or its own), so that no container
// reaches the API sockets. A path that does not exist when a container
// starts is skipped.
func WithMaskedPaths(paths ...string) Option {
	return optionFunc(func(c *config) { c.maskedPaths = append(c.maskedPaths, paths...) })
}

// WithStateDir sets the directory where podkit keeps pods' emptyDir volumes.
// Default /var/lib/podkit.
func WithStateDir(dir string) Option {
	return optionFunc(func(c *config) { c.stateDir = dir })
}

// WithImages sets the store that containers with an Image run from (package
// image's Store). Without it, Start fails with ErrNoImageStore for a pod
// with a process container that names an image.
func WithImages(store ImageStore) Option {
	return optionFunc(func(c *config) { c.images = store })
}
