package pod

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// An Option configures a pod in New.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	containers            []Container
	initContainers        []Container
	activeDeadline        time.Duration
	restartPolicy         RestartPolicy
	gracePeriod           time.Duration
	hostname              string
	shareProcessNamespace bool
	backoff               Backoff
	logger                *zap.Logger
	clock                 clock.Clock
	logBufferBytes        int
	resources             Resources
	cgroupParent          string
	cgroupNested          bool
	volumes               []Volume
	stateDir              string
	network               Network
	ports                 []Port
	registerer            prometheus.Registerer
}

// WithContainers adds main containers to the pod, in order. It may be given
// more than once.
func WithContainers(cs ...Container) Option {
	return optionFunc(func(c *config) { c.containers = append(c.containers, cs...) })
}

// WithInitContainers adds init containers to the pod, in order: they run
// one at a time, each to successful completion, before any main container
// starts, like Kubernetes' initContainers. A failed init container is
// restarted, with the crash-loop back-off, unless the pod's restart policy is
// Never, in which case the pod fails. It may be given more than once.
func WithInitContainers(cs ...Container) Option {
	return optionFunc(func(c *config) { c.initContainers = append(c.initContainers, cs...) })
}

// WithActiveDeadline bounds how long the pod may run, counted from Start and
// covering its init containers too, like Kubernetes' activeDeadlineSeconds:
// past it the pod is stopped and fails with reason DeadlineExceeded. Zero,
// the default, sets no deadline.
func WithActiveDeadline(d time.Duration) Option {
	return optionFunc(func(c *config) { c.activeDeadline = d })
}

// WithRestartPolicy sets the pod's restart policy. Default RestartAlways.
func WithRestartPolicy(p RestartPolicy) Option {
	return optionFunc(func(c *config) { c.restartPolicy = p })
}

// WithTerminationGracePeriod sets how long the pod's containers have, all
// together, to stop after their stop signal before they are killed with
// SIGKILL. Zero kills at once. Default 30s.
func WithTerminationGracePeriod(d time.Duration) Option {
	return optionFunc(func(c *config) { c.gracePeriod = d })
}

// WithHostname sets the hostname of the pod's UTS namespace. It must be a
// DNS-1123 label. Default: the pod's name, cut to 63 characters.
func WithHostname(h string) Option {
	return optionFunc(func(c *config) { c.hostname = h })
}

// WithShareProcessNamespace makes all containers of the pod share one PID
// namespace, whose PID 1 is the infra process, like Kubernetes'
// shareProcessNamespace. By default every container has its own PID
// namespace, with a podkit init as PID 1.
func WithShareProcessNamespace(share bool) Option {
	return optionFunc(func(c *config) { c.shareProcessNamespace = share })
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

// WithResources bounds the pod as a whole: the pod's cgroup gets these
// limits, and every container's cgroup is nested in it.
func WithResources(r Resources) Option {
	return optionFunc(func(c *config) { c.resources = r })
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

// WithVolumes adds volumes that the pod's containers can mount.
func WithVolumes(vs ...Volume) Option {
	return optionFunc(func(c *config) { c.volumes = append(c.volumes, vs...) })
}

// WithStateDir sets the directory where podkit keeps pods' emptyDir volumes.
// Default /var/lib/podkit.
func WithStateDir(dir string) Option {
	return optionFunc(func(c *config) { c.stateDir = dir })
}

// Spec is the portable part of a pod's definition: what a Kubernetes Pod
// manifest holds (package kube converts between the two). The options
// named in each field's comment set the same things piece by piece.
type Spec struct {
	// InitContainers run before Containers, one at a time; those with
	// RestartPolicy RestartAlways are sidecars. (WithInitContainers)
	InitContainers []Container
	// Containers are the main containers. (WithContainers)
	Containers []Container
	// Volumes can be mounted by the containers. (WithVolumes)
	Volumes []Volume
	// RestartPolicy is the pod's; empty means RestartAlways.
	// (WithRestartPolicy)
	RestartPolicy RestartPolicy
	// TerminationGracePeriod is the pod's grace period; nil means
	// DefaultGracePeriod, zero kills at once. (WithTerminationGracePeriod)
	TerminationGracePeriod *time.Duration
	// ActiveDeadline bounds the pod's run; zero sets none.
	// (WithActiveDeadline)
	ActiveDeadline time.Duration
	// Hostname is the pod's; empty means the pod's name. (WithHostname)
	Hostname string
	// ShareProcessNamespace gives the containers one PID namespace.
	// (WithShareProcessNamespace)
	ShareProcessNamespace bool
	// Resources bound the pod as a whole. (WithResources)
	Resources Resources
	// Ports are published on the host. (WithPorts)
	Ports []Port
	// Network is the pod's network mode; the zero value is an isolated
	// pod. (WithNetwork)
	Network Network
}

// WithSpec sets every part of the pod that Spec holds, replacing what
// earlier options set of it; later options change it further.
func WithSpec(s Spec) Option {
	return optionFunc(func(c *config) {
		c.initContainers = append([]Container(nil), s.InitContainers...)
		c.containers = append([]Container(nil), s.Containers...)
		c.volumes = append([]Volume(nil), s.Volumes...)
		c.restartPolicy = s.RestartPolicy
		if c.restartPolicy == "" {
			c.restartPolicy = RestartAlways
		}
		c.gracePeriod = DefaultGracePeriod
		if s.TerminationGracePeriod != nil {
			c.gracePeriod = *s.TerminationGracePeriod
		}
		c.activeDeadline = s.ActiveDeadline
		c.hostname = s.Hostname
		c.shareProcessNamespace = s.ShareProcessNamespace
		c.resources = s.Resources
		c.network = s.Network
		c.ports = append([]Port(nil), s.Ports...)
	})
}

// Spec returns the pod's spec as New validated it, with the defaults
// filled in: the restart policy, the grace period, the hostname and the
// network mode. The slices are the caller's; the pointers in containers
// (probes, hooks, security contexts) and ports (TLS) are shared with the
// pod and must not be modified.
func (p *Pod) Spec() Spec {
	grace := p.cfg.gracePeriod
	s := Spec{
		Volumes:                append([]Volume(nil), p.cfg.volumes...),
		RestartPolicy:          p.cfg.restartPolicy,
		TerminationGracePeriod: &grace,
		ActiveDeadline:         p.cfg.activeDeadline,
		Hostname:               p.cfg.hostname,
		ShareProcessNamespace:  p.cfg.shareProcessNamespace,
		Resources:              p.cfg.resources,
		Network:                p.cfg.network,
		Ports:                  append([]Port(nil), p.cfg.ports...),
	}
	for _, m := range p.members {
		if m.role == RoleMain {
			s.Containers = append(s.Containers, m.spec)
		} else {
			s.InitContainers = append(s.InitContainers, m.spec)
		}
	}
	return s
}
