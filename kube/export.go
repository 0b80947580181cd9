package kube

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podkit/podkit/pod"
)

const (
	// DefaultPodkitImage is the image that runs exported in-process
	// containers when ExportOptions.PodkitImage is empty.
	DefaultPodkitImage = "ghcr.io/podkit/podkit:latest"
	// NameLabel is the label ExportDeployment and ExportJob give the pod
	// template, and that a Deployment selects its pods by.
	NameLabel = "app.kubernetes.io/name"
)

// ExportOptions are the settings of Export, ExportDeployment and ExportJob.
// The zero value is ready to use.
type ExportOptions struct {
	// PodkitImage is the image holding the podkit command, which runs the
	// in-process containers (those with a Func) as processes, with their
	// ExportArgs. Empty means DefaultPodkitImage. A Func container's own
	// Image, when set, wins.
	PodkitImage string
	// Images name, by container name, the images of process containers
	// that have none: containers that ran the host's programs here, for
	// which Kubernetes needs an image that holds the command.
	Images map[string]string
	// Labels are the exported pod's metadata.labels. ExportDeployment and
	// ExportJob add NameLabel with the pod's name, unless Labels has it.
	Labels map[string]string
}

// Export returns the Kubernetes Pod that runs spec as podkit would, so that
// Load gives spec back: every field of pod.Spec has its counterpart, except
// what only makes sense on this machine (Container.RootFS, Stdout, Stderr),
// which is left out.
//
// A process container needs an Image, since Kubernetes has to find its
// command somewhere. An in-process container (Func) becomes a container of
// the podkit image running "podkit" with its ExportArgs, with every volume
// of the pod mounted at pod.ExportVolumesDir/<name>; one without ExportArgs cannot be
// exported. Command, args and env values are escaped so that the kubelet's
// $(VAR) expansion leaves them as they are.
//
// Kubernetes counts durations in whole seconds: a duration that is not is
// refused, rather than rounded. Other refusals: a Func probe, a gRPC probe's
// Host, a pids limit, a stop signal with no Kubernetes name, containers
// whose supplementary groups differ (Kubernetes sets them for the whole
// pod), a Bridged network (a host network is hostNetwork: true, an
// isolated one is Kubernetes' default). The error names every such field, wrapping ErrUnsupported, or
// ErrInvalid for what is missing. The result passes Validate.
func Export(name string, spec pod.Spec, opts ExportOptions) (*corev1.Pod, error) {
	var pr problems
	ps := exportSpec(&pr, "spec", name, spec, opts)
	if err := pr.err(fmt.Sprintf("pod %q", name)); err != nil {
		return nil, err
	}
	kp := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: maps.Clone(opts.Labels)},
		Spec:       ps,
	}
	if err := Validate(kp); err != nil {
		return nil, err
	}
	return kp, nil
}

// ExportDeployment returns a Deployment of one replica whose pod template
// is the pod Export makes of spec, labelled and selected by NameLabel. The
// pod's restart policy must be Always (the default) and it may have no
// active deadline, as Kubernetes requires of a Deployment's pods.
func ExportDeployment(name string, spec pod.Spec, opts ExportOptions) (*appsv1.Deployment, error) {
	const base = "spec.template.spec"
	var pr problems
	if spec.RestartPolicy != "" && spec.RestartPolicy != pod.RestartAlways {
		pr.unsupportedf(field(base, "restartPolicy"), "%s: a Deployment's pods must have restartPolicy Always", spec.RestartPolicy)
	}
	if spec.ActiveDeadline != 0 {
		pr.unsupportedf(field(base, "activeDeadlineSeconds"), "a Deployment's pods may not have one")
	}
	ps := exportSpec(&pr, base, name, spec, opts)
	labels := templateLabels(name, opts)
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: maps.Clone(labels)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{NameLabel: labels[NameLabel]}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: ps},
		},
	}
	return d, finishTemplate(&pr, fmt.Sprintf("deployment %q", name), name, base, &d.Spec.Template.Spec)
}

// ExportJob returns a Job that runs the pod Export makes of spec once,
// labelled with NameLabel. The pod's restart policy must be Never or
// OnFailure, as Kubernetes requires of a Job's pods.
func ExportJob(name string, spec pod.Spec, opts ExportOptions) (*batchv1.Job, error) {
	const base = "spec.template.spec"
	var pr problems
	if spec.RestartPolicy != pod.RestartNever && spec.RestartPolicy != pod.RestartOnFailure {
		rp := spec.RestartPolicy
		if rp == "" {
			rp = pod.RestartAlways
		}
		pr.unsupportedf(field(base, "restartPolicy"), "%s: a Job's pods must have restartPolicy Never or OnFailure", rp)
	}
	ps := exportSpec(&pr, base, name, spec, opts)
	labels := templateLabels(name, opts)
	j := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: maps.Clone(labels)},
		Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: ps},
		},
	}
	return j, finishTemplate(&pr, fmt.Sprintf("job %q", name), name, base, &j.Spec.Template.Spec)
}

func templateLabels(name string, opts ExportOptions) map[string]string {
	labels := maps.Clone(opts.Labels)
	if labels == nil {
		labels = make(map[string]string)
	}
	if _, ok := labels[NameLabel]; !ok {
		labels[NameLabel] = name
	}
	return labels
}

// finishTemplate validates an exported pod template and returns the error
// of the export.
func finishTemplate(pr *problems, what, name, base string, ps *corev1.PodSpec) error {
	if err := pr.err(what); err != nil {
		return err
	}
	v := validator{requireImage: true}
	v.dnsSubdomain("metadata.name", name)
	v.podSpec(base, ps)
	pr.list = append(pr.list, v.errs...)
	return pr.err(what)
}

func exportSpec(pr *problems, base, name string, spec pod.Spec, opts ExportOptions) corev1.PodSpec {
	var ps corev1.PodSpec
	if spec.RestartPolicy != "" {
		ps.RestartPolicy = corev1.RestartPolicy(spec.RestartPolicy)
	}
	if spec.TerminationGracePeriod != nil {
		ps.TerminationGracePeriodSeconds = ptr(wholeSeconds(pr, field(base, "terminationGracePeriodSeconds"), *spec.TerminationGracePeriod))
	}
	if spec.ActiveDeadline != 0 {
		ps.ActiveDeadlineSeconds = ptr(wholeSeconds(pr, field(base, "activeDeadlineSeconds"), spec.ActiveDeadline))
	}
	ps.Hostname = spec.Hostname
	if spec.ShareProcessNamespace {
		ps.ShareProcessNamespace = ptr(true)
	}
	switch spec.Network.Mode {
	case pod.NetworkHost:
		ps.HostNetwork = true
	case pod.NetworkBridged:
		// Load could not give it back: a Kubernetes pod is on the
		// cluster's network, with an address its CNI plugin picks.
		pr.unsupportedf(field(base, "hostNetwork"), "a Bridged network: Kubernetes has no such mode (its pods are on the cluster's network); export the pod as Isolated or Host")
	}
	if spec.Resources != (pod.Resources{}) {
		ps.Resources = ptr(exportResources(pr, field(base, "resources"), spec.Resources))
	}
	for i, v := range spec.Volumes {
		kv := corev1.Volume{Name: v.Name}
		if v.Projected != nil {
			kv.VolumeSource = exportProjected(pr, index(base, "volumes", i), name, v)
		}
		if ed := v.EmptyDir; ed != nil {
			kv.EmptyDir = &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMedium(ed.Medium)}
			if ed.SizeLimit != 0 {
				kv.EmptyDir.SizeLimit = resource.NewQuantity(ed.SizeLimit, resource.BinarySI)
			}
		}
		if hp := v.HostPath; hp != nil {
			kv.HostPath = &corev1.HostPathVolumeSource{Path: hp.Path}
		}
		ps.Volumes = append(ps.Volumes, kv)
	}

	// The restart policy an init container with restart rules must state,
	// and one a main container's rules default to.
	initPolicy, mainPolicy := corev1.ContainerRestartPolicyOnFailure, corev1.ContainerRestartPolicyAlways
	switch spec.RestartPolicy {
	case pod.RestartNever:
		initPolicy, mainPolicy = corev1.ContainerRestartPolicyNever, corev1.ContainerRestartPolicyNever
	case pod.RestartOnFailure:
		mainPolicy = corev1.ContainerRestartPolicyOnFailure
	}
	needsOS := false
	for i, c := range spec.InitContainers {
		kc, sig := exportContainer(pr, index(base, "initContainers", i), c, spec.Volumes, initPolicy, opts)
		ps.InitContainers = append(ps.InitContainers, kc)
		needsOS = needsOS || sig
	}
	for i, c := range spec.Containers {
		kc, sig := exportContainer(pr, index(base, "containers", i), c, spec.Volumes, mainPolicy, opts)
		ps.Containers = append(ps.Containers, kc)
		needsOS = needsOS || sig
	}
	// Published ports are the pod's in podkit, a container's hostPorts in
	// Kubernetes: they go to the first main container.
	for i, pt := range spec.Ports {
		pp := index(base, "ports", i)
		switch {
		case pt.TLS != nil:
			pr.unsupportedf(field(pp, "tls"), "Kubernetes terminates no TLS on a hostPort")
		case pt.HostPort == 0:
			pr.unsupportedf(field(pp, "hostPort"), "0: Kubernetes picks no hostPort")
		case len(ps.Containers) > 0:
			ps.Containers[0].Ports = append(ps.Containers[0].Ports, corev1.ContainerPort{
				ContainerPort: int32(pt.ContainerPort), HostPort: int32(pt.HostPort), HostIP: pt.HostIP, Protocol: corev1.ProtocolTCP})
		}
	}
	exportDNS(spec, &ps)
	if needsOS {
		// Kubernetes takes a stop signal only from a pod that names its OS.
		ps.OS = &corev1.PodOS{Name: corev1.Linux}
	}

	// Supplementary groups are the pod's in Kubernetes: the containers
	// must agree on them.
	var groups []int64
	first := ""
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		if c.Func != nil {
			continue
		}
		var g []int64
		if c.SecurityContext != nil {
			g = c.SecurityContext.SupplementalGroups
		}
		switch {
		case first == "":
			first, groups = c.Name, g
		case !slices.Equal(g, groups):
			pr.unsupportedf(field(base, "securityContext.supplementalGroups"),
				"Kubernetes sets supplementary groups for the whole pod, and containers %q and %q have different ones", first, c.Name)
		}
	}
	if len(groups) > 0 {
		ps.SecurityContext = &corev1.PodSecurityContext{SupplementalGroups: slices.Clone(groups)}
	}
	if len(spec.Sysctls) > 0 {
		if ps.SecurityContext == nil {
			ps.SecurityContext = &corev1.PodSecurityContext{}
		}
		for _, s := range spec.Sysctls {
			ps.SecurityContext.Sysctls = append(ps.SecurityContext.Sysctls, corev1.Sysctl{Name: s.Name, Value: s.Value})
		}
	}
	return ps
}

// exportContainer returns c as a Kubernetes container, and whether it has a
// stop signal. rulesPolicy is the restart policy stated for a container with
// restart rules and none of its own.
func exportContainer(pr *problems, p string, c pod.Container, volumes []pod.Volume,
	rulesPolicy corev1.ContainerRestartPolicy, opts ExportOptions) (corev1.Container, bool) {
	invalid := func(sub, format string, args ...any) {
		pr.invalidf(field(p, sub), format+" (container %q)", append(args, c.Name)...)
	}
	unsupported := func(sub, format string, args ...any) {
		pr.unsupportedf(field(p, sub), format+" (container %q)", append(args, c.Name)...)
	}
	kc := corev1.Container{Name: c.Name, Image: c.Image, WorkingDir: c.WorkingDir}
	if c.Func != nil {
		if len(c.ExportArgs) == 0 {
			invalid("args", "an in-process container without ExportArgs cannot be exported")
		}
		if kc.Image == "" {
			kc.Image = cmp.Or(opts.PodkitImage, DefaultPodkitImage)
		}
		kc.Command = []string{"podkit"}
		kc.Args = escapeAll(c.ExportArgs)
		for _, v := range volumes {
			kc.VolumeMounts = append(kc.VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: path.Join(pod.ExportVolumesDir, v.Name)})
		}
	} else {
		if kc.Image == "" {
			kc.Image = opts.Images[c.Name]
		}
		if kc.Image == "" {
			invalid("image", "required to export: the container runs the host's program here; name an image that holds it (ExportOptions.Images, podkit export --image %s=REF)", c.Name)
		}
		kc.ImagePullPolicy = corev1.PullPolicy(c.ImagePullPolicy)
		kc.Command = escapeAll(c.Command)
		kc.Args = escapeAll(c.Args)
		for i, kv := range c.Env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				invalid(fmt.Sprintf("env[%d]", i), "%q: not KEY=value", kv)
			}
			kc.Env = append(kc.Env, corev1.EnvVar{Name: k, Value: escape(v)})
		}
		for _, e := range c.FieldEnv {
			kc.Env = append(kc.Env, corev1.EnvVar{Name: e.Name,
				ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: string(e.Field)}}})
		}
		for _, m := range c.VolumeMounts {
			kc.VolumeMounts = append(kc.VolumeMounts, corev1.VolumeMount{Name: m.Name, MountPath: m.MountPath, ReadOnly: m.ReadOnly, SubPath: m.SubPath})
		}
	}
	kc.Resources = exportResources(pr, field(p, "resources"), c.Resources)

	if c.RestartPolicy != "" {
		kc.RestartPolicy = ptr(corev1.ContainerRestartPolicy(c.RestartPolicy))
	}
	if len(c.RestartRules) > 0 && kc.RestartPolicy == nil {
		// Kubernetes wants the policy stated next to the rules.
		kc.RestartPolicy = ptr(rulesPolicy)
	}
	for _, r := range c.RestartRules {
		kr := corev1.ContainerRestartRule{
			Action:    corev1.ContainerRestartRuleAction(r.Action),
			ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOperator(r.ExitCodes.Operator)},
		}
		for _, v := range r.ExitCodes.Values {
			kr.ExitCodes.Values = append(kr.ExitCodes.Values, int32(v))
		}
		kc.RestartPolicyRules = append(kc.RestartPolicyRules, kr)
	}

	if c.Func != nil {
		// An in-process member's probes are podkit's own helpers (is it
		// listening yet? has it synced?): its process form gets the
		// nearest Kubernetes probe, in whole seconds, or none.
		kc.StartupProbe = exportMemberProbe(c.StartupProbe)
		kc.LivenessProbe = exportMemberProbe(c.LivenessProbe)
		kc.ReadinessProbe = exportMemberProbe(c.ReadinessProbe)
	} else {
		kc.StartupProbe = exportProbe(pr, p, "startupProbe", c.StartupProbe, unsupported)
		kc.LivenessProbe = exportProbe(pr, p, "livenessProbe", c.LivenessProbe, unsupported)
		kc.ReadinessProbe = exportProbe(pr, p, "readinessProbe", c.ReadinessProbe, unsupported)
	}

	// SIGTERM is Kubernetes' default too: leaving it out keeps the manifest
	// valid on clusters without the ContainerStopSignals feature.
	stopSignal := c.StopSignal
	if stopSignal == syscall.SIGTERM {
		stopSignal = 0
	}
	if l := c.Lifecycle; l != nil || stopSignal != 0 {
		kl := &corev1.Lifecycle{}
		if l != nil {
			kl.PostStart = exportHandler(pr, field(p, "lifecycle.postStart"), l.PostStart)
			kl.PreStop = exportHandler(pr, field(p, "lifecycle.preStop"), l.PreStop)
		}
		if stopSignal != 0 {
			name, err := signalName(stopSignal)
			if err != nil {
				unsupported("lifecycle.stopSignal", "%v", err)
			}
			kl.StopSignal = ptr(corev1.Signal(name))
		}
		if !reflect.ValueOf(*kl).IsZero() {
			kc.Lifecycle = kl
		}
	}
	kc.SecurityContext = exportSecurity(c.SecurityContext)
	kc.TerminationMessagePath = c.TerminationMessagePath
	kc.TerminationMessagePolicy = corev1.TerminationMessagePolicy(c.TerminationMessagePolicy)
	return kc, stopSignal != 0
}

func exportResources(pr *problems, p string, r pod.Resources) corev1.ResourceRequirements {
	var rr corev1.ResourceRequirements
	set := func(l *corev1.ResourceList, name corev1.ResourceName, q *resource.Quantity) {
		if *l == nil {
			*l = make(corev1.ResourceList)
		}
		(*l)[name] = *q
	}
	if r.CPULimit != 0 {
		set(&rr.Limits, corev1.ResourceCPU, resource.NewMilliQuantity(r.CPULimit, resource.DecimalSI))
	}
	if r.MemoryLimit != 0 {
		set(&rr.Limits, corev1.ResourceMemory, resource.NewQuantity(r.MemoryLimit, resource.BinarySI))
	}
	if r.CPURequest != 0 {
		set(&rr.Requests, corev1.ResourceCPU, resource.NewMilliQuantity(r.CPURequest, resource.DecimalSI))
	}
	if r.PidsLimit != 0 {
		pr.unsupportedf(p, "pidsLimit %d: Kubernetes has no pids limit per pod or container (the kubelet's is per node)", r.PidsLimit)
	}
	return rr
}

// exportProbe returns the probe called name of the container at path cp.
func exportProbe(pr *problems, cp, name string, pp *pod.Probe, unsupported func(sub, format string, args ...any)) *corev1.Probe {
	if pp == nil {
		return nil
	}
	p := field(cp, name)
	kp := &corev1.Probe{
		InitialDelaySeconds: int32(wholeSeconds(pr, field(p, "initialDelaySeconds"), pp.InitialDelay)),
		PeriodSeconds:       int32(wholeSeconds(pr, field(p, "periodSeconds"), pp.Period)),
		TimeoutSeconds:      int32(wholeSeconds(pr, field(p, "timeoutSeconds"), pp.Timeout)),
		SuccessThreshold:    int32(pp.SuccessThreshold),
		FailureThreshold:    int32(pp.FailureThreshold),
	}
	if pp.TerminationGracePeriod != 0 {
		kp.TerminationGracePeriodSeconds = ptr(wholeSeconds(pr, field(p, "terminationGracePeriodSeconds"), pp.TerminationGracePeriod))
	}
	if a := pp.Exec; a != nil {
		kp.Exec = &corev1.ExecAction{Command: a.Command}
	}
	if a := pp.TCPSocket; a != nil {
		kp.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(a.Port)), Host: a.Host}
	}
	if a := pp.HTTPGet; a != nil {
		kp.HTTPGet = exportHTTPGet(a)
	}
	if a := pp.GRPC; a != nil {
		kp.GRPC = &corev1.GRPCAction{Port: int32(a.Port), Service: ptr(a.Service)}
		if a.Host != "" {
			unsupported(name+".grpc", "host %q: Kubernetes always probes the pod's IP", a.Host)
		}
	}
	if pp.Func != nil {
		unsupported(name+".func", "a func probe has no Kubernetes counterpart")
	}
	return kp
}

// exportMemberProbe exports a probe of an in-process member, with its
// durations rounded up to whole seconds; a func probe has no counterpart
// and is left out.
func exportMemberProbe(pp *pod.Probe) *corev1.Probe {
	if pp == nil || pp.Func != nil {
		return nil
	}
	up := func(d time.Duration) int32 { return int32((d + time.Second - 1) / time.Second) }
	kp := &corev1.Probe{
		InitialDelaySeconds: up(pp.InitialDelay),
		PeriodSeconds:       max(up(pp.Period), 1),
		TimeoutSeconds:      up(pp.Timeout),
		SuccessThreshold:    int32(pp.SuccessThreshold),
		FailureThreshold:    int32(pp.FailureThreshold),
	}
	switch {
	case pp.TCPSocket != nil:
		kp.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(pp.TCPSocket.Port)), Host: pp.TCPSocket.Host}
	case pp.HTTPGet != nil:
		kp.HTTPGet = exportHTTPGet(pp.HTTPGet)
	case pp.GRPC != nil:
		kp.GRPC = &corev1.GRPCAction{Port: int32(pp.GRPC.Port), Service: ptr(pp.GRPC.Service)}
	default:
		return nil
	}
	return kp
}

func exportHTTPGet(a *pod.HTTPGetAction) *corev1.HTTPGetAction {
	return &corev1.HTTPGetAction{Path: a.Path, Port: intstr.FromInt32(int32(a.Port)), Host: a.Host}
}

func exportHandler(pr *problems, p string, h *pod.LifecycleHandler) *corev1.LifecycleHandler {
	if h == nil {
		return nil
	}
	kh := &corev1.LifecycleHandler{}
	if h.Exec != nil {
		kh.Exec = &corev1.ExecAction{Command: h.Exec.Command}
	}
	if h.HTTPGet != nil {
		kh.HTTPGet = exportHTTPGet(h.HTTPGet)
	}
	if h.Sleep != nil {
		kh.Sleep = &corev1.SleepAction{Seconds: wholeSeconds(pr, field(p, "sleep.seconds"), h.Sleep.Duration)}
	}
	return kh
}

func exportSecurity(sc *pod.SecurityContext) *corev1.SecurityContext {
	if sc == nil {
		return nil
	}
	k := &corev1.SecurityContext{
		RunAsUser:                sc.RunAsUser,
		RunAsGroup:               sc.RunAsGroup,
		RunAsNonRoot:             sc.RunAsNonRoot,
		AllowPrivilegeEscalation: sc.AllowPrivilegeEscalation,
	}
	if sc.ReadOnlyRootFilesystem {
		k.ReadOnlyRootFilesystem = ptr(true)
	}
	if c := sc.Capabilities; c != nil {
		k.Capabilities = &corev1.Capabilities{}
		for _, a := range c.Add {
			k.Capabilities.Add = append(k.Capabilities.Add, corev1.Capability(a))
		}
		for _, d := range c.Drop {
			k.Capabilities.Drop = append(k.Capabilities.Drop, corev1.Capability(d))
		}
	}
	if p := sc.SeccompProfile; p != nil {
		k.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileType(p.Type)}
	}
	if reflect.ValueOf(*k).IsZero() {
		return nil // supplementary groups alone are the pod's
	}
	return k
}

// wholeSeconds returns d in seconds, refusing what Kubernetes cannot count.
func wholeSeconds(pr *problems, p string, d time.Duration) int64 {
	if d%time.Second != 0 {
		pr.unsupportedf(p, "%s: Kubernetes counts whole seconds, and podkit does not round", d)
	}
	return int64(d / time.Second)
}

func ptr[T any](v T) *T { return &v }
