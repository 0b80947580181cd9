package kube

import (
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podkit/podkit/pod"
)

// This file maps a Kubernetes PodSpec onto a pod.Spec. Each function reads
// the fields it maps and hands the rest of its struct to problems.others,
// which warns about or refuses each one that is set.

func mapPodSpec(pr *problems, path string, s *corev1.PodSpec, src *sources) pod.Spec {
	spec := pod.Spec{
		RestartPolicy: pod.RestartPolicy(s.RestartPolicy),
		Hostname:      s.Hostname,
	}
	if s.HostnameOverride != nil {
		// It takes precedence over hostname, as in Kubernetes.
		spec.Hostname = *s.HostnameOverride
	}
	if s.TerminationGracePeriodSeconds != nil {
		d := time.Duration(*s.TerminationGracePeriodSeconds) * time.Second
		spec.TerminationGracePeriod = &d
	}
	if s.ActiveDeadlineSeconds != nil {
		spec.ActiveDeadline = time.Duration(*s.ActiveDeadlineSeconds) * time.Second
	}
	if s.ShareProcessNamespace != nil {
		spec.ShareProcessNamespace = *s.ShareProcessNamespace
	}
	if s.HostNetwork {
		spec.Network = pod.Network{Mode: pod.NetworkHost}
	}
	if s.HostPID {
		pr.unsupportedf(field(path, "hostPID"), "podkit gives a pod its own PID namespaces")
	}
	if s.HostIPC {
		pr.unsupportedf(field(path, "hostIPC"), "podkit gives a pod its own IPC namespace")
	}
	if s.HostUsers != nil && !*s.HostUsers {
		pr.unsupportedf(field(path, "hostUsers"), "podkit has no user namespaces")
	}
	if s.SetHostnameAsFQDN != nil && *s.SetHostnameAsFQDN {
		pr.unsupportedf(field(path, "setHostnameAsFQDN"), "podkit has no cluster domain")
	}
	if s.OS != nil {
		if s.OS.Name != corev1.Linux {
			pr.unsupportedf(field(path, "os.name"), "%q: podkit runs Linux processes", s.OS.Name)
		}
		pr.others(field(path, "os"), s.OS, nil, "name")
	}
	if s.Resources != nil {
		spec.Resources = mapResources(pr, field(path, "resources"), *s.Resources)
	}
	psc := mapPodSecurity(pr, field(path, "securityContext"), s.SecurityContext)
	spec.Sysctls = psc.sysctls

	for i := range s.Volumes {
		if v, ok := mapVolume(pr, index(path, "volumes", i), &s.Volumes[i], src); ok {
			spec.Volumes = append(spec.Volumes, v)
		}
	}
	for i := range s.InitContainers {
		p := index(path, "initContainers", i)
		c := mapContainer(pr, p, &s.InitContainers[i], psc, src)
		// A restartPolicy other than Always (a sidecar) is taken when it is
		// what the pod's policy implies for an init container anyway.
		if c.RestartPolicy != "" && c.RestartPolicy != pod.RestartAlways {
			implied := pod.RestartOnFailure
			if spec.RestartPolicy == pod.RestartNever {
				implied = pod.RestartNever
			}
			if c.RestartPolicy != implied {
				pr.unsupportedf(field(p, "restartPolicy"), "%q: podkit restarts a failed init container per the pod's restart policy (%s here); an init container's own may only be Always (a sidecar)", c.RestartPolicy, implied)
			}
			c.RestartPolicy = ""
		}
		spec.InitContainers = append(spec.InitContainers, c)
	}
	for i := range s.Containers {
		spec.Containers = append(spec.Containers, mapContainer(pr, index(path, "containers", i), &s.Containers[i], psc, src))
	}
	spec.Ports = mapHostPorts(pr, path, s)
	mapDNS(pr, path, s, &spec)
	pr.others(path, s, podSpecRules,
		"volumes", "initContainers", "containers", "restartPolicy", "terminationGracePeriodSeconds",
		"activeDeadlineSeconds", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace",
		"securityContext", "hostname", "hostnameOverride", "setHostnameAsFQDN", "os", "hostUsers", "resources",
		"hostAliases", "dnsPolicy", "dnsConfig")
	return spec
}

// mapHostPorts gathers the containers' ports with a hostPort: the pod's
// published ports.
func mapHostPorts(pr *problems, path string, s *corev1.PodSpec) []pod.Port {
	var ports []pod.Port
	for _, list := range []struct {
		name string
		cs   []corev1.Container
	}{{"initContainers", s.InitContainers}, {"containers", s.Containers}} {
		for i, c := range list.cs {
			for j, p := range c.Ports {
				pp := index(index(path, list.name, i), "ports", j)
				if p.HostPort == 0 {
					if p.HostIP != "" {
						pr.unsupportedf(field(pp, "hostIP"), "a hostIP without a hostPort publishes nothing")
					}
					continue
				}
				if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
					pr.unsupportedf(field(pp, "protocol"), "%s: podkit publishes TCP ports only", p.Protocol)
					continue
				}
				ports = append(ports, pod.Port{ContainerPort: int(p.ContainerPort), HostPort: int(p.HostPort), HostIP: p.HostIP})
			}
		}
	}
	return ports
}

// podSecurity is what a pod's securityContext gives each container that
// does not set it itself.
type podSecurity struct {
	runAsUser, runAsGroup *int64
	runAsNonRoot          *bool
	supplementalGroups    []int64
	seccompProfile        *pod.SeccompProfile
	// sysctls are the pod's, not the containers'.
	sysctls []pod.Sysctl
}

func mapPodSecurity(pr *problems, path string, sc *corev1.PodSecurityContext) podSecurity {
	if sc == nil {
		return podSecurity{}
	}
	checkConfinement(pr, path, sc.AppArmorProfile, sc.SELinuxOptions, sc.WindowsOptions)
	pr.others(path, sc, podSecurityRules,
		"runAsUser", "runAsGroup", "runAsNonRoot", "supplementalGroups", "supplementalGroupsPolicy",
		"seccompProfile", "appArmorProfile", "seLinuxOptions", "windowsOptions", "sysctls")
	return podSecurity{runAsUser: sc.RunAsUser, runAsGroup: sc.RunAsGroup, runAsNonRoot: sc.RunAsNonRoot,
		supplementalGroups: sc.SupplementalGroups, seccompProfile: mapSeccomp(pr, field(path, "seccompProfile"), sc.SeccompProfile),
		sysctls: mapSysctls(pr, field(path, "sysctls"), sc.Sysctls)}
}

// mapSeccomp maps a seccompProfile: RuntimeDefault and Unconfined are
// podkit's; a Localhost profile is refused, as podkit has no directory of
// profiles for it to name.
func mapSeccomp(pr *problems, path string, sp *corev1.SeccompProfile) *pod.SeccompProfile {
	if sp == nil {
		return nil
	}
	switch sp.Type {
	case corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined:
		if sp.LocalhostProfile != nil {
			pr.invalidf(field(path, "localhostProfile"), "must be set only with type Localhost")
		}
		return &pod.SeccompProfile{Type: pod.SeccompProfileType(sp.Type)}
	case corev1.SeccompProfileTypeLocalhost:
		pr.unsupportedf(path, "Localhost: podkit has no profile directory: use RuntimeDefault")
	default:
		pr.invalidf(field(path, "type"), "%q: must be RuntimeDefault, Unconfined or Localhost", sp.Type)
	}
	return nil
}

// checkConfinement refuses the confinement podkit does not apply; asking
// for none (Unconfined) is what podkit does.
func checkConfinement(pr *problems, path string, apparmor *corev1.AppArmorProfile,
	selinux *corev1.SELinuxOptions, windows *corev1.WindowsSecurityContextOptions) {
	if apparmor != nil && apparmor.Type != corev1.AppArmorProfileTypeUnconfined {
		pr.unsupportedf(field(path, "appArmorProfile"), "%s: podkit applies no AppArmor profile", apparmor.Type)
	}
	if selinux != nil && !isEmptyValue(*selinux) {
		pr.unsupportedf(field(path, "seLinuxOptions"), "podkit sets no SELinux context")
	}
	if windows != nil && !isEmptyValue(*windows) {
		pr.unsupportedf(field(path, "windowsOptions"), "podkit runs Linux processes")
	}
}

func mapContainer(pr *problems, path string, c *corev1.Container, psc podSecurity, src *sources) pod.Container {
	pc := pod.Container{
		Name:          c.Name,
		Image:         c.Image,
		WorkingDir:    c.WorkingDir,
		RestartPolicy: pod.RestartPolicy(ptrValue(c.RestartPolicy)),
	}
	if c.Image == "" && len(c.Command) == 0 {
		hint := ""
		if len(c.Args) > 0 {
			hint = "; did you mean command? (args are given to a command)"
		}
		pr.unsupportedf(field(path, "command"), "required: the container has no image to take a default command from%s", hint)
		pr.follows(field(path, "image"))
	}
	switch c.ImagePullPolicy {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		pc.ImagePullPolicy = pod.PullPolicy(c.ImagePullPolicy)
	default:
		pr.invalidf(field(path, "imagePullPolicy"), "must be Always, IfNotPresent or Never, got %q", c.ImagePullPolicy)
	}

	// Environment first: command and args refer to it.
	lookup := src.mapEnv(pr, path, c, &pc)
	for _, s := range c.Command {
		pc.Command = append(pc.Command, expand(s, lookup))
	}
	for _, s := range c.Args {
		pc.Args = append(pc.Args, expand(s, lookup))
	}

	ports := make(map[string]int)
	unpublished := false
	for i := range c.Ports {
		p := &c.Ports[i]
		if p.Name != "" {
			ports[p.Name] = int(p.ContainerPort)
		}
		unpublished = unpublished || p.HostPort == 0
		pr.others(index(path, "ports", i), p, portRules, "name", "containerPort", "protocol", "hostPort", "hostIP")
	}
	if unpublished {
		pr.warnf(field(path, "ports"), "informational: a pod's ports are reachable on its loopback only (named ports serve its probes and hooks)")
	}

	pc.Resources = mapResources(pr, field(path, "resources"), c.Resources)

	for i, r := range c.RestartPolicyRules {
		p := index(path, "restartPolicyRules", i)
		if r.Action != corev1.ContainerRestartRuleActionRestart {
			pr.unsupportedf(field(p, "action"), "%q: podkit's only restart rule action is Restart", r.Action)
			continue
		}
		pr.others(p, &r, nil, "action", "exitCodes")
		if r.ExitCodes == nil {
			continue // validate says it is required
		}
		pr.others(field(p, "exitCodes"), r.ExitCodes, nil, "operator", "values")
		rule := pod.RestartRule{Action: pod.RuleRestart, ExitCodes: pod.ExitCodes{Operator: pod.ExitCodeOperator(r.ExitCodes.Operator)}}
		for _, v := range r.ExitCodes.Values {
			rule.ExitCodes.Values = append(rule.ExitCodes.Values, int(v))
		}
		pc.RestartRules = append(pc.RestartRules, rule)
	}

	for i := range c.VolumeMounts {
		vm := &c.VolumeMounts[i]
		p := index(path, "volumeMounts", i)
		if vm.MountPropagation != nil && *vm.MountPropagation != corev1.MountPropagationNone {
			pr.unsupportedf(field(p, "mountPropagation"), "%s: podkit's mounts propagate nothing", *vm.MountPropagation)
		}
		if vm.RecursiveReadOnly != nil && *vm.RecursiveReadOnly != corev1.RecursiveReadOnlyDisabled {
			pr.unsupportedf(field(p, "recursiveReadOnly"), "%s: podkit makes read-only mounts that are not recursive", *vm.RecursiveReadOnly)
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			if vm.SubPath != "" {
				pr.invalidf(field(p, "subPathExpr"), "subPath and subPathExpr are mutually exclusive")
			}
			// Expanded with the container's environment, as the kubelet
			// does when it starts the container.
			sub = expand(vm.SubPathExpr, lookup)
		}
		switch {
		case strings.HasPrefix(sub, "/"):
			pr.invalidf(field(p, subPathField(vm)), "%q: must be a relative path", sub)
		case slices.Contains(strings.Split(sub, "/"), ".."):
			pr.invalidf(field(p, subPathField(vm)), "%q: must not contain '..'", sub)
		}
		pr.others(p, vm, volumeMountRules, "name", "mountPath", "readOnly", "mountPropagation", "recursiveReadOnly", "subPath", "subPathExpr")
		pc.VolumeMounts = append(pc.VolumeMounts, pod.VolumeMount{Name: vm.Name, MountPath: vm.MountPath, ReadOnly: vm.ReadOnly, SubPath: sub})
	}

	pc.StartupProbe = mapProbe(pr, field(path, "startupProbe"), c.StartupProbe, ports)
	pc.LivenessProbe = mapProbe(pr, field(path, "livenessProbe"), c.LivenessProbe, ports)
	pc.ReadinessProbe = mapProbe(pr, field(path, "readinessProbe"), c.ReadinessProbe, ports)
	pc.Lifecycle, pc.StopSignal = mapLifecycle(pr, field(path, "lifecycle"), c.Lifecycle, ports)
	pc.SecurityContext = mapSecurity(pr, field(path, "securityContext"), c.SecurityContext, psc)

	// Kubernetes' default path is podkit's default; leaving it unset
	// keeps a manifest that states it valid for a container without a
	// root filesystem of its own, which has no such file.
	if c.TerminationMessagePath != pod.DefaultTerminationMessagePath {
		pc.TerminationMessagePath = c.TerminationMessagePath
	}
	switch c.TerminationMessagePolicy {
	case "", corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError:
		pc.TerminationMessagePolicy = pod.TerminationMessagePolicy(c.TerminationMessagePolicy)
	default:
		pr.invalidf(field(path, "terminationMessagePolicy"), "must be File or FallbackToLogsOnError, got %q", c.TerminationMessagePolicy)
	}

	for _, b := range []struct {
		name string
		set  bool
	}{{"stdin", c.Stdin}, {"stdinOnce", c.StdinOnce}, {"tty", c.TTY}} {
		if b.set {
			pr.unsupportedf(field(path, b.name), "podkit attaches no terminal or standard input")
		}
	}
	pr.others(path, c, containerRules,
		"name", "image", "imagePullPolicy", "command", "args", "workingDir", "ports", "env", "envFrom", "resources", "restartPolicy",
		"restartPolicyRules", "volumeMounts", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
		"securityContext", "stdin", "stdinOnce", "tty", "terminationMessagePath", "terminationMessagePolicy")
	return pc
}

// mapResources maps cpu and memory; requests that only inform scheduling
// are warnings, and anything else is refused.
func mapResources(pr *problems, path string, rr corev1.ResourceRequirements) pod.Resources {
	var r pod.Resources
	for _, name := range sortedKeys(rr.Limits) {
		p := field(field(path, "limits"), string(name))
		q := rr.Limits[name]
		switch name {
		case corev1.ResourceCPU:
			r.CPULimit = millicores(pr, p, q)
		case corev1.ResourceMemory:
			r.MemoryLimit = bytesOf(pr, p, q)
		default:
			pr.unsupportedf(p, "podkit limits cpu and memory only")
		}
	}
	for _, name := range sortedKeys(rr.Requests) {
		p := field(field(path, "requests"), string(name))
		q := rr.Requests[name]
		switch name {
		case corev1.ResourceCPU:
			r.CPURequest = millicores(pr, p, q)
		case corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
			pr.warnf(p, "ignored: a request informs scheduling, and podkit reserves nothing")
		default:
			pr.unsupportedf(p, "podkit has no such resource to allocate")
		}
	}
	pr.others(path, &rr, resourceRules, "limits", "requests")
	return r
}

func millicores(pr *problems, path string, q resource.Quantity) int64 {
	m := q.MilliValue()
	if q.Cmp(*resource.NewMilliQuantity(m, resource.DecimalSI)) != 0 {
		pr.invalidf(path, "%s: finer than a millicore", q.String())
	}
	return m
}

func bytesOf(pr *problems, path string, q resource.Quantity) int64 {
	b := q.Value()
	if q.Cmp(*resource.NewQuantity(b, resource.BinarySI)) != 0 {
		pr.invalidf(path, "%s: not a whole number of bytes", q.String())
	}
	return b
}

func mapVolume(pr *problems, path string, v *corev1.Volume, src *sources) (pod.Volume, bool) {
	pv := pod.Volume{Name: v.Name}
	if prj, ok := src.mapConfigVolume(pr, path, v); ok {
		pv.Projected = prj
		pr.others(path, v, volumeRules, "name", "configMap", "secret", "downwardAPI", "projected")
		return pv, true
	}
	switch {
	case v.EmptyDir != nil:
		ed := v.EmptyDir
		p := field(path, "emptyDir")
		pv.EmptyDir = &pod.EmptyDirVolume{Medium: pod.StorageMedium(ed.Medium)}
		switch ed.Medium {
		case corev1.StorageMediumDefault, corev1.StorageMediumMemory:
		default:
			pr.unsupportedf(field(p, "medium"), "%q: podkit keeps an emptyDir on disk or in memory (Memory)", ed.Medium)
		}
		if ed.SizeLimit != nil {
			pv.EmptyDir.SizeLimit = bytesOf(pr, field(p, "sizeLimit"), *ed.SizeLimit)
			if ed.Medium == corev1.StorageMediumDefault {
				pr.warnf(field(p, "sizeLimit"), "not enforced: podkit bounds the size of a Memory emptyDir only")
			}
		}
		if ed.Mode != nil && *ed.Mode != 0o777 {
			pr.unsupportedf(field(p, "mode"), "%#o: podkit makes an emptyDir with mode 0777", *ed.Mode)
		}
		pr.others(p, ed, nil, "medium", "sizeLimit", "mode")
	case v.HostPath != nil:
		pv.HostPath = &pod.HostPathVolume{Path: v.HostPath.Path}
		checkHostPathType(pr, field(path, "hostPath"), v.HostPath)
		pr.others(field(path, "hostPath"), v.HostPath, nil, "path", "type")
	}
	pr.others(path, v, volumeRules, "name", "emptyDir", "hostPath")
	return pv, v.EmptyDir != nil || v.HostPath != nil
}

// checkHostPathType checks, now, what a hostPath's type asks the kubelet to
// check when the pod starts. podkit creates nothing on the host: an
// ...OrCreate type is taken when the path already exists.
func checkHostPathType(pr *problems, path string, hp *corev1.HostPathVolumeSource) {
	if hp.Type == nil || *hp.Type == corev1.HostPathUnset {
		return
	}
	t := *hp.Type
	fi, err := os.Stat(hp.Path)
	if err != nil {
		if t == corev1.HostPathDirectoryOrCreate || t == corev1.HostPathFileOrCreate {
			pr.unsupportedf(field(path, "type"), "%s: %s does not exist, and podkit creates nothing on the host", t, hp.Path)
		}
		return // pod.New names the missing path
	}
	mode := fi.Mode()
	ok := map[corev1.HostPathType]bool{
		corev1.HostPathDirectoryOrCreate: mode.IsDir(),
		corev1.HostPathDirectory:         mode.IsDir(),
		corev1.HostPathFileOrCreate:      mode.IsRegular(),
		corev1.HostPathFile:              mode.IsRegular(),
		corev1.HostPathSocket:            mode&os.ModeSocket != 0,
		corev1.HostPathCharDev:           mode&os.ModeCharDevice != 0,
		corev1.HostPathBlockDev:          mode&os.ModeDevice != 0 && mode&os.ModeCharDevice == 0,
	}
	good, known := ok[t]
	switch {
	case !known:
		pr.invalidf(field(path, "type"), "%q: not a hostPath type", t)
	case !good:
		pr.invalidf(field(path, "type"), "%s: %s is not one on this host", t, hp.Path)
	}
}

func mapProbe(pr *problems, path string, p *corev1.Probe, ports map[string]int) *pod.Probe {
	if p == nil {
		return nil
	}
	pp := &pod.Probe{
		InitialDelay:     seconds(int64(p.InitialDelaySeconds)),
		Period:           seconds(int64(p.PeriodSeconds)),
		Timeout:          seconds(int64(p.TimeoutSeconds)),
		SuccessThreshold: int(p.SuccessThreshold),
		FailureThreshold: int(p.FailureThreshold),
	}
	if p.TerminationGracePeriodSeconds != nil {
		pp.TerminationGracePeriod = seconds(*p.TerminationGracePeriodSeconds)
	}
	if a := p.Exec; a != nil {
		pp.Exec = &pod.ExecAction{Command: a.Command}
		pr.others(field(path, "exec"), a, nil, "command")
	}
	if a := p.TCPSocket; a != nil {
		pp.TCPSocket = &pod.TCPSocketAction{Port: resolvePort(pr, field(path, "tcpSocket.port"), a.Port, ports), Host: a.Host}
		pr.others(field(path, "tcpSocket"), a, nil, "port", "host")
	}
	if a := p.HTTPGet; a != nil {
		pp.HTTPGet = mapHTTPGet(pr, field(path, "httpGet"), a, ports)
	}
	if a := p.GRPC; a != nil {
		pp.GRPC = &pod.GRPCAction{Port: int(a.Port), Service: ptrValue(a.Service)}
		if a.Mode != nil && *a.Mode != corev1.GRPCProbeModePlaintext {
			pr.unsupportedf(field(path, "grpc.mode"), "%s: podkit probes gRPC over plaintext only", *a.Mode)
		}
		pr.others(field(path, "grpc"), a, nil, "port", "service", "mode")
	}
	pr.others(path, p, probeRules,
		"exec", "tcpSocket", "httpGet", "grpc", "initialDelaySeconds", "periodSeconds", "timeoutSeconds",
		"successThreshold", "failureThreshold", "terminationGracePeriodSeconds")
	return pp
}

func mapHTTPGet(pr *problems, path string, a *corev1.HTTPGetAction, ports map[string]int) *pod.HTTPGetAction {
	if a.Scheme != "" && a.Scheme != corev1.URISchemeHTTP {
		pr.unsupportedf(field(path, "scheme"), "%s: podkit sends plain HTTP only", a.Scheme)
	}
	if a.Protocol != nil && *a.Protocol != corev1.HTTPProtocolHTTP1 {
		pr.unsupportedf(field(path, "protocol"), "%s: podkit speaks HTTP/1.1 only", *a.Protocol)
	}
	pr.others(path, a, httpGetRules, "path", "port", "host", "scheme", "protocol")
	return &pod.HTTPGetAction{Path: a.Path, Port: resolvePort(pr, field(path, "port"), a.Port, ports), Host: a.Host}
}

// resolvePort returns a port's number, looking a named port up in the
// container's ports.
func resolvePort(pr *problems, path string, port intstr.IntOrString, ports map[string]int) int {
	if port.Type == intstr.Int {
		return int(port.IntVal)
	}
	n, ok := ports[port.StrVal]
	if !ok {
		pr.invalidf(path, "%q: the container declares no port of that name", port.StrVal)
	}
	return n
}

func mapLifecycle(pr *problems, path string, l *corev1.Lifecycle, ports map[string]int) (*pod.Lifecycle, syscall.Signal) {
	if l == nil {
		return nil, 0
	}
	var sig syscall.Signal
	if l.StopSignal != nil {
		s, ok := parseSignal(string(*l.StopSignal))
		if !ok {
			pr.invalidf(field(path, "stopSignal"), "%q: not a signal", *l.StopSignal)
		}
		if s != syscall.SIGTERM { // the default of both: zero in pod.Container
			sig = s
		}
	}
	handler := func(name string, h *corev1.LifecycleHandler) *pod.LifecycleHandler {
		if h == nil {
			return nil
		}
		p := field(path, name)
		ph := &pod.LifecycleHandler{}
		if h.Exec != nil {
			ph.Exec = &pod.ExecAction{Command: h.Exec.Command}
			pr.others(field(p, "exec"), h.Exec, nil, "command")
		}
		if h.HTTPGet != nil {
			ph.HTTPGet = mapHTTPGet(pr, field(p, "httpGet"), h.HTTPGet, ports)
		}
		if h.Sleep != nil {
			ph.Sleep = &pod.SleepAction{Duration: seconds(h.Sleep.Seconds)}
			pr.others(field(p, "sleep"), h.Sleep, nil, "seconds")
		}
		if h.TCPSocket != nil {
			pr.unsupportedf(field(p, "tcpSocket"), "not a hook action (Kubernetes keeps it only for compatibility, and runs nothing)")
		}
		pr.others(p, h, nil, "exec", "httpGet", "sleep", "tcpSocket")
		return ph
	}
	pl := &pod.Lifecycle{PostStart: handler("postStart", l.PostStart), PreStop: handler("preStop", l.PreStop)}
	pr.others(path, l, nil, "postStart", "preStop", "stopSignal")
	if pl.PostStart == nil && pl.PreStop == nil {
		pl = nil
	}
	return pl, sig
}

func mapSecurity(pr *problems, path string, sc *corev1.SecurityContext, psc podSecurity) *pod.SecurityContext {
	ps := &pod.SecurityContext{
		RunAsUser:      psc.runAsUser,
		RunAsGroup:     psc.runAsGroup,
		SeccompProfile: psc.seccompProfile,
	}
	if len(psc.supplementalGroups) > 0 {
		ps.SupplementalGroups = psc.supplementalGroups
	}
	runAsNonRoot := psc.runAsNonRoot
	if sc != nil {
		if sc.RunAsUser != nil {
			ps.RunAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			ps.RunAsGroup = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			runAsNonRoot = sc.RunAsNonRoot
		}
		ps.AllowPrivilegeEscalation = sc.AllowPrivilegeEscalation
		if sc.ReadOnlyRootFilesystem != nil {
			ps.ReadOnlyRootFilesystem = *sc.ReadOnlyRootFilesystem
		}
		if c := sc.Capabilities; c != nil {
			pr.others(field(path, "capabilities"), c, nil, "add", "drop")
			ps.Capabilities = &pod.Capabilities{}
			for _, a := range c.Add {
				ps.Capabilities.Add = append(ps.Capabilities.Add, string(a))
			}
			for _, d := range c.Drop {
				ps.Capabilities.Drop = append(ps.Capabilities.Drop, string(d))
			}
		}
		if sc.Privileged != nil && *sc.Privileged {
			pr.unsupportedf(field(path, "privileged"), "podkit gives no container access to the host's devices")
		}
		if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
			pr.unsupportedf(field(path, "procMount"), "%s: podkit mounts /proc its own way", *sc.ProcMount)
		}
		if sc.SeccompProfile != nil {
			// The container's profile overrides the pod's, as in Kubernetes.
			ps.SeccompProfile = mapSeccomp(pr, field(path, "seccompProfile"), sc.SeccompProfile)
		}
		checkConfinement(pr, path, sc.AppArmorProfile, sc.SELinuxOptions, sc.WindowsOptions)
		pr.others(path, sc, containerSecurityRules,
			"capabilities", "privileged", "runAsUser", "runAsGroup", "runAsNonRoot", "readOnlyRootFilesystem",
			"allowPrivilegeEscalation", "procMount", "seccompProfile", "appArmorProfile", "seLinuxOptions", "windowsOptions")
	}
	if runAsNonRoot != nil && *runAsNonRoot {
		// The image's user is checked when the container starts, as
		// the kubelet checks it.
		ps.RunAsNonRoot = runAsNonRoot
		if ps.RunAsUser != nil && *ps.RunAsUser == 0 {
			pr.invalidf(field(path, "runAsNonRoot"), "runAsUser is 0 (root)")
		}
	}
	if reflect.ValueOf(*ps).IsZero() {
		return nil
	}
	return ps
}

func seconds(s int64) time.Duration { return time.Duration(s) * time.Second }

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func sortedKeys(l corev1.ResourceList) []corev1.ResourceName {
	return slices.Sorted(maps.Keys(l))
}

func isEmptyValue(v any) bool { return isEmpty(reflect.ValueOf(v)) }

// subPathField names the field a volume mount's subpath comes from.
func subPathField(vm *corev1.VolumeMount) string {
	if vm.SubPathExpr != "" {
		return "subPathExpr"
	}
	return "subPath"
}
