package pod

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Spec describes a pod: what a Kubernetes PodSpec holds (package kube
// converts between the two). It is plain data, like exec.Cmd: New copies
// it, and the zero value of every optional field has the documented
// default.
type Spec struct {
	// InitContainers run before Containers, one at a time, each to
	// successful completion, like Kubernetes' initContainers. A failed
	// init container is restarted with the crash-loop back-off, unless
	// the pod's restart policy is Never, in which case the pod fails.
	// Those with RestartPolicy RestartAlways are sidecars: they start in
	// order, run beside the main containers and stop after them.
	InitContainers []Container
	// Containers are the main containers. At least one.
	Containers []Container
	// Volumes can be mounted by the containers.
	Volumes []Volume
	// RestartPolicy is the pod's; empty means RestartAlways.
	RestartPolicy RestartPolicy
	// TerminationGracePeriod is how long the pod's containers have, all
	// together, to stop after their stop signal before they are killed
	// with SIGKILL; nil means DefaultGracePeriod (30s), zero kills at once.
	TerminationGracePeriod *time.Duration
	// ActiveDeadline bounds how long the pod may run, counted from Start
	// and covering its init containers, like Kubernetes'
	// activeDeadlineSeconds: past it the pod is stopped and fails with
	// reason DeadlineExceeded. Zero sets no deadline.
	ActiveDeadline time.Duration
	// Hostname is the hostname of the pod's UTS namespace, a DNS-1123
	// label. Empty means the pod's name, cut to 63 characters.
	Hostname string
	// ShareProcessNamespace gives all containers one PID namespace, whose
	// PID 1 is the infra process, like Kubernetes' shareProcessNamespace.
	// By default every container has its own PID namespace, with a podkit
	// init as PID 1.
	ShareProcessNamespace bool
	// Resources bound the pod as a whole: the pod's cgroup gets these
	// limits, and every container's cgroup is nested in it.
	Resources Resources
	// Ports are published on the host.
	Ports []Port
	// Network is the pod's network mode; the zero value is an isolated
	// pod.
	Network Network
	// Sysctls are kernel parameters set in the pod's own namespaces once
	// they exist and before any container starts, like Kubernetes'
	// spec.securityContext.sysctls: net.* in its network namespace (not
	// with NetworkHost, where they would be the host's), kernel.shm*,
	// kernel.msg*, kernel.sem and fs.mqueue.* in its IPC namespace,
	// kernel.domainname in its UTS namespace. New refuses every other
	// name, which would change the host's kernel; Start fails, naming it,
	// when a parameter does not exist in the pod's namespace or refuses
	// its value.
	Sysctls []Sysctl

	// HostAliases are added to the pod's /etc/hosts, after its own
	// entries, as Kubernetes' hostAliases.
	HostAliases []HostAlias
	// DNSPolicy says where the pod's /etc/resolv.conf comes from; empty
	// means DNSClusterFirst, which behaves as DNSDefault (podkit has no
	// cluster DNS): the host's resolver configuration.
	DNSPolicy DNSPolicy
	// DNSConfig adds nameservers, search domains and options to what
	// DNSPolicy gives, as Kubernetes' dnsConfig.
	//
	// The pod's /etc/hosts, /etc/hostname and /etc/resolv.conf are bound
	// into every container run from an image; when HostAliases or
	// DNSConfig is set, or DNSPolicy is DNSNone, into every other
	// container with a root filesystem of its own too (RootFS, or the
	// host's filesystem through a private layer). A container with
	// SharedHostFilesystem keeps the host's files.
	DNSConfig *DNSConfig
}

// withDefaults returns a deep enough copy of s for the pod to own, with
// the defaults of its empty fields filled in.
func (s Spec) withDefaults(name string) Spec {
	s.InitContainers = cloneContainers(s.InitContainers)
	s.Containers = cloneContainers(s.Containers)
	s.Volumes = append([]Volume(nil), s.Volumes...)
	for i, v := range s.Volumes {
		if v.Projected != nil {
			pv := *v.Projected
			pv.Files = append([]ProjectedFile(nil), pv.Files...)
			for j := range pv.Files {
				pv.Files[j].Data = append([]byte(nil), pv.Files[j].Data...)
			}
			s.Volumes[i].Projected = &pv
		}
	}
	s.Ports = append([]Port(nil), s.Ports...)
	s.Sysctls = append([]Sysctl(nil), s.Sysctls...)
	s.HostAliases = cloneHostAliases(s.HostAliases)
	s.DNSConfig = s.DNSConfig.clone()
	if s.RestartPolicy == "" {
		s.RestartPolicy = RestartAlways
	}
	grace := DefaultGracePeriod
	if s.TerminationGracePeriod != nil {
		grace = *s.TerminationGracePeriod
	}
	s.TerminationGracePeriod = &grace
	if s.Hostname == "" {
		s.Hostname = hostnameFor(name)
	}
	if s.Network.Mode == "" {
		s.Network.Mode = NetworkIsolated
	}
	return s
}

func cloneContainers(cs []Container) []Container {
	out := make([]Container, len(cs))
	for i, c := range cs {
		c.Command = append([]string(nil), c.Command...)
		c.ExportArgs = append([]string(nil), c.ExportArgs...)
		c.Args = append([]string(nil), c.Args...)
		c.Env = append([]string(nil), c.Env...)
		c.FieldEnv = append([]FieldEnv(nil), c.FieldEnv...)
		if c.StopSignal == 0 {
			c.StopSignal = syscall.SIGTERM
		}
		out[i] = c
	}
	return out
}

// gracePeriod is the pod's termination grace period.
func (p *Pod) gracePeriod() time.Duration { return *p.spec.TerminationGracePeriod }

// Spec returns the pod's spec as New validated it, with the defaults
// filled in: the restart policy, the grace period, the hostname, the
// network mode and each container's stop signal. The slices are the
// caller's; the pointers in containers (probes, hooks, security contexts),
// volumes (projected files, as given to New, not as UpdateVolume changed
// them) and ports (TLS) are shared with the pod and must not be modified.
func (p *Pod) Spec() Spec {
	s := p.spec
	s.InitContainers = append([]Container(nil), s.InitContainers...)
	s.Containers = append([]Container(nil), s.Containers...)
	s.Volumes = append([]Volume(nil), s.Volumes...)
	s.Ports = append([]Port(nil), s.Ports...)
	s.Sysctls = append([]Sysctl(nil), s.Sysctls...)
	s.HostAliases = cloneHostAliases(s.HostAliases)
	s.DNSConfig = s.DNSConfig.clone()
	grace := *s.TerminationGracePeriod
	s.TerminationGracePeriod = &grace
	return s
}

// Container describes one process of a pod. It is plain data, like exec.Cmd:
// the zero value of every optional field has the documented default.
type Container struct {
	// Name identifies the container within its pod. Required; a DNS-1123
	// label (lower-case letters, digits and '-', at most 63 characters),
	// unique within the pod.
	Name string

	// Image names the image the container runs from, as Kubernetes' image
	// does: its layers are the container's root filesystem (an overlay
	// with a private writable layer, discarded when the container ends),
	// and its configuration gives the defaults of Command, Args, Env,
	// WorkingDir and the user. It needs an image store (WithImages). An
	// in-process container (Func) ignores it, but a pod exported to
	// Kubernetes (package kube) names it.
	Image string
	// ImagePullPolicy says when Image is pulled; empty means
	// DefaultPullPolicy(Image), the kubelet's default.
	ImagePullPolicy PullPolicy

	// Command is the executable and its first arguments, like Kubernetes'
	// command: with an image, it replaces the image's Entrypoint and Cmd.
	// Required unless Func or Image is set. A name without a slash is
	// looked up in the PATH of the container's environment, inside the
	// image when there is one.
	Command []string
	// Func, when set instead of Command, makes this an in-process
	// container: a function run by this program in a goroutine of its own,
	// with the same lifecycle, ordering, restarts, probes and hooks as a
	// process. Its context carries the values of the ctx given to
	// Pod.Start, and is cancelled by the container's stop signal (the
	// pod's stop, a failed liveness probe); FromContext gives it its
	// pod, for sockets inside the pod's network namespace, and its output
	// streams. Returning nil, or the context's error after a stop, is exit
	// code 0; another error is FuncErrorExitCode, a panic FuncPanicExitCode.
	//
	// A function cannot be killed: it must return once its context is
	// done, and the pod does not finish before it has returned. Past the
	// grace period it is reported as killed with SIGKILL. The fields that
	// only a process has (Args, Env, WorkingDir, Resources, SecurityContext,
	// VolumeMounts, RootFS, exec probes and hooks) must be unset.
	Func func(ctx context.Context) error
	// ExportArgs, on an in-process container, are the arguments of the
	// podkit command that does Func's job as a process (such as "sidecar",
	// "log-shipper", "--pattern", "*.log"): a pod exported to Kubernetes
	// runs them as a container of the podkit image. The ready-made
	// sidecars and init steps set it; a Func container without it cannot be
	// exported. The exported container mounts every volume of the pod at
	// ExportVolumesDir/<volume name>.
	ExportArgs []string
	// Args follow Command on the command line, like Kubernetes' args; with
	// an image and no Command, they replace the image's Cmd after its
	// Entrypoint.
	Args []string
	// Env holds extra environment variables as "KEY=value". The container's
	// environment is PATH (a standard system PATH) and HOSTNAME (the pod's
	// hostname), then the image's Env, then Env, where a later value of a
	// key wins. Nothing is inherited from the supervising program.
	Env []string
	// FieldEnv holds environment variables whose values are facts of the
	// running pod (its UID, its addresses), filled in when the container
	// starts; they come after Env, and win over a variable of Env with the
	// same name.
	FieldEnv []FieldEnv
	// WorkingDir is the directory the command starts in; it must be absolute.
	// Empty means the image's working directory, or "/".
	WorkingDir string

	// StopSignal is sent to the container to stop it gracefully. Zero means
	// the image's STOPSIGNAL when it has one, SIGTERM otherwise (Spec
	// reports SIGTERM).
	StopSignal syscall.Signal

	// RestartPolicy, on a main container, overrides the pod's restart
	// policy for that container.
	//
	// RestartPolicy, on an init container, may be RestartAlways: the
	// container is then a sidecar, with Kubernetes' native-sidecar
	// semantics. It starts in its place among the init containers, and the
	// next one starts as soon as it runs; it is restarted whenever it ends,
	// whatever the pod's restart policy; it keeps running beside the main
	// containers and is stopped after them, in reverse order of
	// declaration. A pod whose main containers have all completed (under
	// OnFailure or Never) stops its sidecars and completes.
	RestartPolicy RestartPolicy
	// RestartRules decide, in order, whether a main or init container that
	// ended is restarted, before its restart policy does: the first rule
	// whose exit codes match applies (Kubernetes' restartPolicyRules). For
	// an init container they apply to failures only.
	RestartRules []RestartRule

	// Lifecycle holds the container's postStart and preStop hooks.
	Lifecycle *Lifecycle

	// StartupProbe, when set, holds the other probes, and the container's
	// Started status, until it succeeds; if it fails, the container is
	// killed and restarted per the restart policy.
	StartupProbe *Probe
	// LivenessProbe, when it fails, has the container killed and restarted
	// per the restart policy.
	LivenessProbe *Probe
	// ReadinessProbe decides whether the container is Ready. Without one a
	// container is ready as soon as it has started.
	ReadinessProbe *Probe

	// Resources bounds the container; it runs in a cgroup of its own,
	// nested in the pod's.
	Resources Resources

	// SecurityContext sets the user, groups and capabilities of the
	// container; nil keeps the supervising program's.
	SecurityContext *SecurityContext

	// VolumeMounts mount the pod's volumes into the container, in a mount
	// namespace of its own.
	VolumeMounts []VolumeMount
	// RootFS, when set, is a directory that becomes the container's "/"
	// (with /proc, a minimal /dev and the volumes mounted in it). Empty means
	// the container runs from its Image, or without one sees the host's
	// filesystem.
	RootFS string
	// SharedHostFilesystem, on a container without an Image or RootFS,
	// lets it write the host's files, as a program started on the host
	// would. By default such a container sees the host's filesystem
	// through a private writable layer: it reads the host's files, its
	// writes stay its own and are discarded when it ends, its mount paths
	// are created in that layer, podkit's state directory is hidden from
	// it, and it has its own /proc, /dev and /sys. With
	// SharedHostFilesystem it sees the host's, /proc listing the host's
	// processes, and its volume mount paths must exist on the host. A
	// hostPath volume is the way to share one directory with the host
	// instead.
	SharedHostFilesystem bool

	// TerminationMessagePath is where the container finds the file whose
	// content, the first 4 KiB of it, becomes the message of its
	// terminated state when it ends, as in Kubernetes. Empty means
	// DefaultTerminationMessagePath. Each instance gets a new, empty file
	// there, writable by any user, bound from the pod's state directory,
	// so that it outlives the container's filesystem. A container without
	// a root filesystem of its own (SharedHostFilesystem without RootFS,
	// or Func) has no such file and must leave this empty.
	TerminationMessagePath string
	// TerminationMessagePolicy is File (the default, empty) or
	// FallbackToLogsOnError: then a container that failed with an empty
	// message file (or has no such file) takes the end of its output as
	// its message, the last 80 lines and at most 2 KiB.
	TerminationMessagePolicy TerminationMessagePolicy

	// Stdout and Stderr, when not nil, receive a copy of the container's
	// standard output and standard error, line by line, each line ending in
	// '\n', across restarts. Each is written from one goroutine at a time;
	// a slow writer slows the container's output down rather than losing it.
	Stdout io.Writer
	Stderr io.Writer
}

// ExportVolumesDir is where the container that runs an in-process
// container's ExportArgs, in a pod exported to Kubernetes, finds the pod's
// volumes: each at ExportVolumesDir/<volume name>. VolumeDir finds a volume
// there, or under $PODKIT_VOLUMES_DIR (VolumesDirEnv) when it is set.
const ExportVolumesDir = "/podkit/volumes"

// RestartPolicy says which exits of a container lead to a restart, as in
// Kubernetes.
type RestartPolicy string

const (
	// RestartAlways restarts a container whatever its exit status. The
	// default.
	RestartAlways RestartPolicy = "Always"
	// RestartOnFailure restarts a container that exited with a non-zero
	// status or was killed by a signal.
	RestartOnFailure RestartPolicy = "OnFailure"
	// RestartNever never restarts a container.
	RestartNever RestartPolicy = "Never"
)

// shouldRestart reports whether a container that ended with exitCode is
// restarted under policy.
func (r RestartPolicy) shouldRestart(exitCode int) bool {
	switch r {
	case RestartNever:
		return false
	case RestartOnFailure:
		return exitCode != 0
	default:
		return true
	}
}

// RestartRule restarts a container whose exit code matches.
type RestartRule struct {
	// Action is what the rule does; RuleRestart is the only action.
	Action RuleAction
	// ExitCodes are the exit codes the rule matches.
	ExitCodes ExitCodes
}

// RuleAction is what a RestartRule does.
type RuleAction string

// RuleRestart restarts the container.
const RuleRestart RuleAction = "Restart"

// ExitCodes matches exit codes: those In Values, or those NotIn them.
type ExitCodes struct {
	Operator ExitCodeOperator
	Values   []int
}

// ExitCodeOperator says how ExitCodes match.
type ExitCodeOperator string

const (
	ExitCodesIn    ExitCodeOperator = "In"
	ExitCodesNotIn ExitCodeOperator = "NotIn"
)

// matches reports whether the rule applies to exitCode.
func (r RestartRule) matches(exitCode int) bool {
	in := false
	for _, v := range r.ExitCodes.Values {
		if v == exitCode {
			in = true
		}
	}
	return in == (r.ExitCodes.Operator == ExitCodesIn)
}

func (r RestartRule) validate(errs *fieldErrors, field string) {
	if r.Action != RuleRestart {
		errs.add(field+".action", string(r.Action), `must be "Restart"`)
	}
	if op := r.ExitCodes.Operator; op != ExitCodesIn && op != ExitCodesNotIn {
		errs.add(field+".exitCodes.operator", string(op), `must be "In" or "NotIn"`)
	}
	if len(r.ExitCodes.Values) == 0 {
		errs.add(field+".exitCodes.values", "[]", "at least one exit code")
	}
	for i, v := range r.ExitCodes.Values {
		if v < 0 || v > 255 {
			errs.add(fmt.Sprintf("%s.exitCodes.values[%d]", field, i), fmt.Sprint(v), "not an exit code (0-255)")
		}
	}
}

// Backoff configures the crash-loop back-off between restarts of a container.
// The zero value of a field takes the kubelet's default.
type Backoff struct {
	// Initial is the delay before the second restart; the first restart is
	// immediate. Default 10s.
	Initial time.Duration
	// Max caps the delay, which doubles with every restart. Default 300s.
	Max time.Duration
	// Reset is how long a container must run before its back-off starts
	// over. Default 10 minutes.
	Reset time.Duration
}

// Defaults of a pod, as in Kubernetes.
const (
	DefaultGracePeriod = 30 * time.Second
	// MaxDuration bounds every duration of a spec (grace periods,
	// deadlines, probe timings, hook sleeps): far beyond any real use, and
	// low enough that a start time plus two of them cannot overflow. kube
	// checks manifests' seconds against it before converting them.
	MaxDuration            = 100 * 365 * 24 * time.Hour
	DefaultBackoffInitial  = 10 * time.Second
	DefaultBackoffMax      = 300 * time.Second
	DefaultBackoffReset    = 10 * time.Minute
	DefaultLogBufferBytes  = 1 << 20
	defaultPath            = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	maxHostnameLength      = 63
	maxContainerNameLength = 63
)

func (b Backoff) withDefaults() Backoff {
	if b.Initial == 0 {
		b.Initial = DefaultBackoffInitial
	}
	if b.Max == 0 {
		b.Max = DefaultBackoffMax
	}
	if b.Reset == 0 {
		b.Reset = DefaultBackoffReset
	}
	return b
}

// validate checks everything New can check before anything starts, and
// returns one error naming every bad field.
func (p *Pod) validate(hostname string) error {
	var errs fieldErrors
	for _, msg := range dnsSubdomainErrors(p.name) {
		errs.add("name", p.name, msg)
	}
	if hostname != "" {
		for _, msg := range dnsLabelErrors(hostname) {
			errs.add("hostname", hostname, msg)
		}
	}
	switch p.spec.RestartPolicy {
	case RestartAlways, RestartOnFailure, RestartNever:
	default:
		errs.add("restartPolicy", string(p.spec.RestartPolicy), `must be "Always", "OnFailure" or "Never"`)
	}
	errs.duration("terminationGracePeriod", p.gracePeriod())
	b := p.cfg.backoff
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"backoff.initial", b.Initial}, {"backoff.max", b.Max}, {"backoff.reset", b.Reset}} {
		errs.duration(f.name, f.d)
	}
	if bd := b.withDefaults(); bd.Max < bd.Initial && b.Initial >= 0 && b.Max >= 0 {
		errs.add("backoff.max", bd.Max.String(), "must not be less than backoff.initial ("+bd.Initial.String()+")")
	}
	if p.cfg.logBufferBytes < 0 {
		errs.add("logBufferBytes", fmt.Sprint(p.cfg.logBufferBytes), "must not be negative")
	}
	p.spec.Resources.validate(&errs, "resources")
	p.spec.Network.validate(&errs)
	p.spec.validateDNS(&errs)
	if strings.Contains(p.cfg.cgroupParent, "..") {
		errs.add("cgroupParent", p.cfg.cgroupParent, "must not contain '..'")
	}
	p.validateVolumes(&errs)
	p.validatePorts(&errs)
	p.validateSysctls(&errs)
	if len(p.spec.Containers) == 0 {
		errs.add("containers", "[]", "a pod needs at least one container")
	}
	errs.duration("activeDeadline", p.spec.ActiveDeadline)
	seen := make(map[string]bool)
	for i, m := range p.members {
		c := m.spec
		field := fmt.Sprintf("containers[%d]", i)
		if c.Name != "" {
			field = fmt.Sprintf("container %q", c.Name)
		}
		switch {
		case c.Name == "":
			errs.add(field+".name", "", "required")
		case seen[c.Name]:
			errs.add(field+".name", c.Name, "duplicate container name")
		default:
			for _, msg := range dnsLabelErrors(c.Name) {
				errs.add(field+".name", c.Name, msg)
			}
		}
		seen[c.Name] = true
		if c.Func != nil {
			validateFunc(&errs, field, c)
		} else {
			p.validateImage(&errs, field, c)
		}
		for j, a := range append(append([]string(nil), c.Command...), c.Args...) {
			if strings.IndexByte(a, 0) >= 0 {
				errs.add(fmt.Sprintf("%s.command[%d]", field, j), a, "contains a NUL byte")
			}
		}
		for j, kv := range c.Env {
			k, _, ok := strings.Cut(kv, "=")
			if !ok || k == "" || strings.IndexByte(kv, 0) >= 0 {
				errs.add(fmt.Sprintf("%s.env[%d]", field, j), kv, `must be "KEY=value" with a non-empty key and no NUL byte`)
			}
		}
		for j, e := range c.FieldEnv {
			if e.Name == "" || strings.ContainsAny(e.Name, "=\x00") {
				errs.add(fmt.Sprintf("%s.fieldEnv[%d].name", field, j), e.Name, "must be non-empty, without '=' or a NUL byte")
			}
			if !validField(e.Field) {
				errs.add(fmt.Sprintf("%s.fieldEnv[%d].field", field, j), string(e.Field), "not a PodField")
			}
		}
		if c.WorkingDir != "" && !filepath.IsAbs(c.WorkingDir) {
			errs.add(field+".workingDir", c.WorkingDir, "must be an absolute path")
		}
		switch {
		case c.RestartPolicy == "":
		case m.role == RoleMain:
			if c.RestartPolicy != RestartAlways && c.RestartPolicy != RestartOnFailure && c.RestartPolicy != RestartNever {
				errs.add(field+".restartPolicy", string(c.RestartPolicy), `must be "Always", "OnFailure" or "Never"`)
			}
		case c.RestartPolicy != RestartAlways:
			errs.add(field+".restartPolicy", string(c.RestartPolicy), `an init container's may only be "Always" (a sidecar)`)
		}
		for j, r := range c.RestartRules {
			r.validate(&errs, fmt.Sprintf("%s.restartRules[%d]", field, j))
		}
		if len(c.RestartRules) > 0 && c.RestartPolicy == RestartAlways && m.role != RoleMain {
			errs.add(field+".restartRules", fmt.Sprint(len(c.RestartRules)), "a sidecar always restarts: it takes no rules")
		}
		c.Resources.validate(&errs, field+".resources")
		c.validateTermination(&errs, field)
		c.SecurityContext.validate(&errs, field, c.Image == "")
		c.Lifecycle.validate(&errs, field)
		c.StartupProbe.validate(&errs, field+".startupProbe", "startup")
		c.LivenessProbe.validate(&errs, field+".livenessProbe", "liveness")
		c.ReadinessProbe.validate(&errs, field+".readinessProbe", "readiness")
		switch {
		case c.StopSignal < 0 || c.StopSignal > 64:
			errs.add(field+".stopSignal", fmt.Sprint(int(c.StopSignal)), "not a signal number (1-64)")
		case c.StopSignal == 32 || c.StopSignal == 33:
			errs.add(field+".stopSignal", fmt.Sprint(int(c.StopSignal)), "reserved by the C library")
		case c.StopSignal == syscall.SIGURG && !p.spec.ShareProcessNamespace && c.Func == nil:
			errs.add(field+".stopSignal", "SIGURG", "a container's init does not forward it (the Go runtime uses it); share the process namespace")
		}
	}
	return errs.err(p.name)
}

// validateFunc reports the fields an in-process container cannot honour.
func validateFunc(errs *fieldErrors, field string, c Container) {
	unset := func(name string, set bool, value string) {
		if set {
			errs.add(field+"."+name, value, "must not be set on an in-process container (func)")
		}
	}
	unset("command", len(c.Command) > 0, fmt.Sprintf("%q", c.Command))
	unset("args", len(c.Args) > 0, fmt.Sprintf("%q", c.Args))
	unset("env", len(c.Env) > 0, fmt.Sprintf("%q", c.Env))
	unset("fieldEnv", len(c.FieldEnv) > 0, fmt.Sprint(len(c.FieldEnv)))
	unset("workingDir", c.WorkingDir != "", c.WorkingDir)
	unset("resources", c.Resources != (Resources{}), "set")
	unset("securityContext", c.SecurityContext != nil, "set")
	unset("volumeMounts", len(c.VolumeMounts) > 0, fmt.Sprint(len(c.VolumeMounts)))
	unset("rootFS", c.RootFS != "", c.RootFS)
	unset("sharedHostFilesystem", c.SharedHostFilesystem, "true")
	for _, pr := range []struct {
		name string
		p    *Probe
	}{{"startupProbe", c.StartupProbe}, {"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}} {
		unset(pr.name+".exec", pr.p != nil && pr.p.Exec != nil, "set")
	}
	if l := c.Lifecycle; l != nil {
		unset("lifecycle.postStart.exec", l.PostStart != nil && l.PostStart.Exec != nil, "set")
		unset("lifecycle.preStop.exec", l.PreStop != nil && l.PreStop.Exec != nil, "set")
	}
}

// fieldErrors collects validation failures, each naming its field and value.
type fieldErrors []string

func (e *fieldErrors) add(field, value, msg string) {
	*e = append(*e, fmt.Sprintf("%s: invalid value %q: %s", field, value, msg))
}

// duration checks that d is between 0 and MaxDuration.
func (e *fieldErrors) duration(field string, d time.Duration) {
	switch {
	case d < 0:
		e.add(field, d.String(), "must not be negative")
	case d > MaxDuration:
		e.add(field, d.String(), "must be at most "+MaxDuration.String())
	}
}

func (e fieldErrors) err(pod string) error {
	if len(e) == 0 {
		return nil
	}
	return fmt.Errorf("pod %q: %w: %s", pod, ErrInvalidSpec, strings.Join(e, "; "))
}
