package kube

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/podkit/podkit/pod"
)

// Validate checks a Pod against the rules of Kubernetes' API validation
// that concern what this package reads and writes: DNS-1123 names for the
// pod, its containers and volumes, container names unique across
// containers and initContainers, an image for every container, ports from
// 1 to 65535 and valid port names, a hostPort equal to its containerPort
// with hostNetwork, one handler per probe and hook, probe
// timings and thresholds (a success threshold of 1 for liveness and startup
// probes), every count of seconds within its range (at most
// pod.MaxDuration, so that none overflows a time.Duration), volume mounts that name a volume of the pod, restart policies and
// rules, requests within limits. It is not the API server's whole
// validation. The error wraps ErrInvalid and names every bad field.
//
// Export validates what it returns; Load applies the same rules except the
// image, which podkit does not need.
func Validate(p *corev1.Pod) error {
	pr := problems{list: validate(p, true, "")}
	return pr.err(fmt.Sprintf("pod %q", p.Name))
}

// validate returns one invalid problem per broken rule. base is the path
// of the pod: "" for a Pod, spec.template for a workload's pod template,
// whose name is the workload's and is checked there.
func validate(p *corev1.Pod, requireImage bool, base string) []Problem {
	v := validator{requireImage: requireImage}
	if base == "" {
		v.dnsSubdomain("metadata.name", p.Name)
	}
	v.podSpec(field(base, "spec"), &p.Spec)
	return v.errs
}

type validator struct {
	requireImage bool
	hostNetwork  bool // the pod's spec.hostNetwork
	errs         []Problem
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, Problem{Path: path, Message: fmt.Sprintf(format, args...), Kind: ProblemInvalid})
}

// maxSeconds is pod.MaxDuration in seconds: the largest count of seconds a
// manifest may give, checked before it is converted to a time.Duration,
// where a larger one would overflow.
const maxSeconds = int64(pod.MaxDuration / time.Second)

// seconds checks that a field counting seconds is between least and
// maxSeconds, and says so in seconds.
func (v *validator) seconds(path string, n, least int64) {
	if n < least || n > maxSeconds {
		v.add(path, "%d is out of range (%d to %d seconds)", n, least, maxSeconds)
	}
}

func (v *validator) dnsSubdomain(path, s string) {
	if s == "" {
		v.add(path, "required")
		return
	}
	for _, msg := range validation.IsDNS1123Subdomain(s) {
		v.add(path, "%q: %s", s, msg)
	}
}

func (v *validator) dnsLabel(path, s string) {
	if s == "" {
		v.add(path, "required")
		return
	}
	for _, msg := range validation.IsDNS1123Label(s) {
		v.add(path, "%q: %s", s, msg)
	}
}

func (v *validator) podSpec(path string, s *corev1.PodSpec) {
	if len(s.Containers) == 0 {
		v.add(field(path, "containers"), "required: a pod needs at least one container")
	}
	switch s.RestartPolicy {
	case "", corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	default:
		v.add(field(path, "restartPolicy"), "%q: must be Always, OnFailure or Never", s.RestartPolicy)
	}
	if t := s.TerminationGracePeriodSeconds; t != nil {
		v.seconds(field(path, "terminationGracePeriodSeconds"), *t, 0)
	}
	if t := s.ActiveDeadlineSeconds; t != nil {
		v.seconds(field(path, "activeDeadlineSeconds"), *t, 1)
	}
	if s.Hostname != "" {
		v.dnsLabel(field(path, "hostname"), s.Hostname)
	}
	if s.Resources != nil {
		v.resources(field(path, "resources"), s.Resources)
	}

	volumes := make(map[string]bool)
	for i := range s.Volumes {
		vol := &s.Volumes[i]
		p := index(path, "volumes", i)
		v.dnsLabel(field(p, "name"), vol.Name)
		if volumes[vol.Name] {
			v.add(field(p, "name"), "%q: duplicate volume name", vol.Name)
		}
		volumes[vol.Name] = true
		if n := setFields(vol.VolumeSource); n != 1 {
			v.add(p, "%d volume sources: exactly one must be set", n)
		}
	}

	v.hostNetwork = s.HostNetwork
	names := make(map[string]bool)
	for i := range s.InitContainers {
		c := &s.InitContainers[i]
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		v.container(index(path, "initContainers", i), c, names, volumes, !sidecar, s.OS)
	}
	for i := range s.Containers {
		v.container(index(path, "containers", i), &s.Containers[i], names, volumes, false, s.OS)
	}
}

func (v *validator) container(path string, c *corev1.Container, names, volumes map[string]bool, plainInit bool, os *corev1.PodOS) {
	v.dnsLabel(field(path, "name"), c.Name)
	if names[c.Name] {
		v.add(field(path, "name"), "%q: duplicate container name (names are unique across containers and initContainers)", c.Name)
	}
	names[c.Name] = true
	if v.requireImage && c.Image == "" {
		v.add(field(path, "image"), "required")
	}
	for i, e := range c.Env {
		if e.Name == "" || strings.Contains(e.Name, "=") {
			v.add(index(path, "env", i)+".name", "%q: must be non-empty, without '='", e.Name)
		}
	}

	portNames := make(map[string]bool)
	for i, p := range c.Ports {
		pp := index(path, "ports", i)
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			v.add(field(pp, "containerPort"), "%d: must be a port number (1-65535)", p.ContainerPort)
		}
		if p.HostPort < 0 || p.HostPort > 65535 {
			v.add(field(pp, "hostPort"), "%d: must be a port number (0-65535)", p.HostPort)
		} else if v.hostNetwork && p.HostPort != 0 && p.HostPort != p.ContainerPort {
			// As in Kubernetes: on the host's network nothing translates
			// ports, the container binds the host port itself.
			v.add(field(pp, "hostPort"), "%d: must match containerPort (%d) when hostNetwork is true", p.HostPort, p.ContainerPort)
		}
		if p.Name != "" {
			for _, msg := range validation.IsValidPortName(p.Name) {
				v.add(field(pp, "name"), "%q: %s", p.Name, msg)
			}
			if portNames[p.Name] {
				v.add(field(pp, "name"), "%q: duplicate port name", p.Name)
			}
			portNames[p.Name] = true
		}
	}

	v.resources(field(path, "resources"), &c.Resources)

	if rp := c.RestartPolicy; rp != nil {
		switch *rp {
		case corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyOnFailure, corev1.ContainerRestartPolicyNever:
		default:
			v.add(field(path, "restartPolicy"), "%q: must be Always, OnFailure or Never", *rp)
		}
	}
	if len(c.RestartPolicyRules) > 0 && c.RestartPolicy == nil {
		v.add(field(path, "restartPolicy"), "required with restartPolicyRules")
	}
	if len(c.RestartPolicyRules) > 20 {
		v.add(field(path, "restartPolicyRules"), "%d rules: at most 20", len(c.RestartPolicyRules))
	}
	for i, r := range c.RestartPolicyRules {
		rp := index(path, "restartPolicyRules", i)
		if r.Action != corev1.ContainerRestartRuleActionRestart && r.Action != corev1.ContainerRestartRuleActionRestartAllContainers {
			v.add(field(rp, "action"), "%q: must be Restart or RestartAllContainers", r.Action)
		}
		if r.ExitCodes == nil {
			v.add(field(rp, "exitCodes"), "required")
			continue
		}
		if op := r.ExitCodes.Operator; op != corev1.ContainerRestartRuleOnExitCodesOpIn && op != corev1.ContainerRestartRuleOnExitCodesOpNotIn {
			v.add(field(rp, "exitCodes.operator"), "%q: must be In or NotIn", op)
		}
		if len(r.ExitCodes.Values) > 255 {
			v.add(field(rp, "exitCodes.values"), "%d values: at most 255", len(r.ExitCodes.Values))
		}
		for j, code := range r.ExitCodes.Values {
			if code < 0 || code > 255 {
				v.add(index(rp, "exitCodes.values", j), "%d: not an exit code (0-255)", code)
			}
		}
	}

	mountPaths := make(map[string]bool)
	for i, m := range c.VolumeMounts {
		mp := index(path, "volumeMounts", i)
		if !volumes[m.Name] {
			v.add(field(mp, "name"), "%q: no volume of that name in the pod", m.Name)
		}
		if m.MountPath == "" {
			v.add(field(mp, "mountPath"), "required")
		} else if mountPaths[m.MountPath] {
			v.add(field(mp, "mountPath"), "%q: must be unique", m.MountPath)
		}
		mountPaths[m.MountPath] = true
	}

	for _, pr := range []struct {
		name string
		p    *corev1.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if pr.p == nil {
			continue
		}
		pp := field(path, pr.name)
		if plainInit {
			v.add(pp, "may not be set for init containers (only for sidecars, restartPolicy: Always)")
		}
		v.probe(pp, pr.p, pr.name != "readinessProbe", portNames)
	}
	if l := c.Lifecycle; l != nil {
		lp := field(path, "lifecycle")
		if plainInit && (l.PostStart != nil || l.PreStop != nil) {
			v.add(lp, "may not be set for init containers (only for sidecars, restartPolicy: Always)")
		}
		for _, h := range []struct {
			name string
			h    *corev1.LifecycleHandler
		}{{"postStart", l.PostStart}, {"preStop", l.PreStop}} {
			if h.h != nil {
				v.handler(field(lp, h.name), h.h.Exec, h.h.HTTPGet, h.h.TCPSocket, nil, h.h.Sleep, portNames)
			}
		}
		if l.StopSignal != nil {
			if os == nil || os.Name == "" {
				v.add(field(lp, "stopSignal"), "may not be set for pods without spec.os.name")
			}
			if _, ok := parseSignal(string(*l.StopSignal)); !ok {
				v.add(field(lp, "stopSignal"), "%q: not a signal", *l.StopSignal)
			}
		}
	}
}

func (v *validator) resources(path string, r *corev1.ResourceRequirements) {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := r.Requests[name]
		lim, hasLim := r.Limits[name]
		if hasReq && hasLim && req.Cmp(lim) > 0 {
			v.add(field(field(path, "requests"), string(name)), "%s: must not exceed the limit (%s)", req.String(), lim.String())
		}
		for _, q := range []struct {
			kind string
			set  bool
			sign int
		}{{"requests", hasReq, req.Sign()}, {"limits", hasLim, lim.Sign()}} {
			if q.set && q.sign < 0 {
				v.add(field(field(path, q.kind), string(name)), "must not be negative")
			}
		}
	}
}

// probe checks a probe's handler, timings and thresholds. Zero timings and
// thresholds are unset, and take Kubernetes' defaults.
func (v *validator) probe(path string, p *corev1.Probe, killing bool, portNames map[string]bool) {
	v.handler(path, p.Exec, p.HTTPGet, p.TCPSocket, p.GRPC, nil, portNames)
	for _, f := range []struct {
		name string
		v    int32
	}{{"initialDelaySeconds", p.InitialDelaySeconds}, {"timeoutSeconds", p.TimeoutSeconds},
		{"periodSeconds", p.PeriodSeconds}, {"successThreshold", p.SuccessThreshold}, {"failureThreshold", p.FailureThreshold}} {
		if f.v < 0 {
			v.add(field(path, f.name), "%d: must not be negative", f.v)
		}
	}
	if killing && p.SuccessThreshold > 1 {
		v.add(field(path, "successThreshold"), "%d: must be 1 for liveness and startup probes", p.SuccessThreshold)
	}
	if t := p.TerminationGracePeriodSeconds; t != nil {
		switch {
		case !killing:
			v.add(field(path, "terminationGracePeriodSeconds"), "must not be set for readiness probes")
		default:
			v.seconds(field(path, "terminationGracePeriodSeconds"), *t, 1)
		}
	}
}

// handler checks that exactly one action is set, and its ports.
func (v *validator) handler(path string, exec *corev1.ExecAction, http *corev1.HTTPGetAction, tcp *corev1.TCPSocketAction,
	grpc *corev1.GRPCAction, sleep *corev1.SleepAction, portNames map[string]bool) {
	n := 0
	if exec != nil {
		n++
		if len(exec.Command) == 0 {
			v.add(field(path, "exec.command"), "required")
		}
	}
	if http != nil {
		n++
		v.port(field(path, "httpGet.port"), http.Port)
	}
	if tcp != nil {
		n++
		v.port(field(path, "tcpSocket.port"), tcp.Port)
	}
	if grpc != nil {
		n++
		if grpc.Port < 1 || grpc.Port > 65535 {
			v.add(field(path, "grpc.port"), "%d: must be a port number (1-65535)", grpc.Port)
		}
	}
	if sleep != nil {
		n++
		v.seconds(field(path, "sleep.seconds"), sleep.Seconds, 0)
	}
	if n != 1 {
		v.add(path, "%d handlers: exactly one must be set", n)
	}
}

func (v *validator) port(path string, p intstr.IntOrString) {
	if p.Type == intstr.Int {
		if p.IntVal < 1 || p.IntVal > 65535 {
			v.add(path, "%d: must be a port number (1-65535)", p.IntVal)
		}
		return
	}
	for _, msg := range validation.IsValidPortName(p.StrVal) {
		v.add(path, "%q: %s", p.StrVal, msg)
	}
}

// setFields counts the pointer fields of a struct that are set, such as
// the sources of a volume (emptyDir: {} is one).
func setFields(s any) int {
	rv := reflect.ValueOf(s)
	n := 0
	for i := range rv.NumField() {
		if f := rv.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			n++
		}
	}
	return n
}
