package kube_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

func app(mod func(c *pod.Container)) pod.Spec {
	c := pod.Container{Name: "app", Image: "example.com/app:1", Command: []string{"app"}}
	if mod != nil {
		mod(&c)
	}
	return pod.Spec{Containers: []pod.Container{c}}
}

func TestExportErrors(t *testing.T) {
	fn := func(context.Context) error { return nil }
	for _, tt := range []struct {
		name     string
		spec     pod.Spec
		sentinel error
		want     []string
	}{
		{
			name:     "no image",
			spec:     app(func(c *pod.Container) { c.Image = "" }),
			sentinel: kube.ErrInvalid,
			want: []string{`spec.containers[0].image: required to export: the container runs the host's program here; ` +
				`name an image that holds it (ExportOptions.Images, podkit export --image app=REF) (container "app")`},
		},
		{
			name:     "in-process without export args",
			spec:     pod.Spec{Containers: []pod.Container{{Name: "f", Func: fn}}},
			sentinel: kube.ErrInvalid,
			want:     []string{`spec.containers[0].args: an in-process container without ExportArgs cannot be exported (container "f")`},
		},
		{
			name: "func probe",
			// An in-process member's func probes are its own, and left
			// out; a process's have no counterpart.
			spec: pod.Spec{Containers: []pod.Container{{Name: "f", Image: "i", Command: []string{"true"},
				ReadinessProbe: &pod.Probe{Func: fn}}}},
			sentinel: kube.ErrUnsupported,
			want:     []string{`spec.containers[0].readinessProbe.func: a func probe has no Kubernetes counterpart (container "f")`},
		},
		{
			name: "durations that are not whole seconds",
			spec: func() pod.Spec {
				s := app(func(c *pod.Container) {
					c.LivenessProbe = &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 1}, Period: 1500 * time.Millisecond, Timeout: 100 * time.Millisecond}
					c.Lifecycle = &pod.Lifecycle{PreStop: &pod.LifecycleHandler{Sleep: &pod.SleepAction{Duration: time.Millisecond}}}
				})
				s.TerminationGracePeriod = ptr(2500 * time.Millisecond)
				s.ActiveDeadline = time.Minute + time.Nanosecond
				return s
			}(),
			sentinel: kube.ErrUnsupported,
			want: []string{
				"spec.terminationGracePeriodSeconds: 2.5s: Kubernetes counts whole seconds",
				"spec.activeDeadlineSeconds: 1m0.000000001s",
				"spec.containers[0].livenessProbe.periodSeconds: 1.5s",
				"spec.containers[0].livenessProbe.timeoutSeconds: 100ms",
				"spec.containers[0].lifecycle.preStop.sleep.seconds: 1ms",
			},
		},
		{
			name:     "pids limit",
			spec:     app(func(c *pod.Container) { c.Resources.PidsLimit = 100 }),
			sentinel: kube.ErrUnsupported,
			want:     []string{"spec.containers[0].resources: pidsLimit 100: Kubernetes has no pids limit"},
		},
		{
			name:     "gRPC probe host",
			spec:     app(func(c *pod.Container) { c.LivenessProbe = &pod.Probe{GRPC: &pod.GRPCAction{Port: 1, Host: "10.0.0.1"}} }),
			sentinel: kube.ErrUnsupported,
			want:     []string{`spec.containers[0].livenessProbe.grpc: host "10.0.0.1": Kubernetes always probes the pod's IP`},
		},
		{
			name:     "signal without a name",
			spec:     app(func(c *pod.Container) { c.StopSignal = 32 }),
			sentinel: kube.ErrUnsupported,
			want:     []string{"spec.containers[0].lifecycle.stopSignal: signal 32 has no Kubernetes name"},
		},
		{
			name: "supplementary groups that differ",
			spec: pod.Spec{Containers: []pod.Container{
				{Name: "a", Image: "i", Command: []string{"a"}, SecurityContext: &pod.SecurityContext{SupplementalGroups: []int64{1}}},
				{Name: "b", Image: "i", Command: []string{"b"}},
			}},
			sentinel: kube.ErrUnsupported,
			want:     []string{`spec.securityContext.supplementalGroups: Kubernetes sets supplementary groups for the whole pod, and containers "a" and "b" have different ones`},
		},
		{
			name: "bridged network",
			spec: func() pod.Spec {
				s := app(nil)
				s.Network = pod.Network{Mode: pod.NetworkBridged}
				return s
			}(),
			sentinel: kube.ErrUnsupported,
			want:     []string{"spec.hostNetwork: a Bridged network: Kubernetes has no such mode"},
		},
		{
			name:     "kubernetes validation",
			spec:     app(func(c *pod.Container) { c.Name = "Not_A_Label" }),
			sentinel: kube.ErrInvalid,
			want:     []string{`spec.containers[0].name: "Not_A_Label": a lowercase RFC 1123 label`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kp, err := kube.Export("p", tt.spec, kube.ExportOptions{})
			require.Error(t, err)
			require.Nil(t, kp)
			require.ErrorIs(t, err, tt.sentinel)
			require.True(t, strings.HasPrefix(err.Error(), `kube: pod "p": `), err.Error())
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// ExportOptions.Images names the images of containers that run the host's
// programs here; a container's own image wins, and an entry for a
// container the pod lacks changes nothing.
func TestExportImages(t *testing.T) {
	spec := pod.Spec{
		InitContainers: []pod.Container{{Name: "setup", Command: []string{"mkdir", "-p", "/data/x"}}},
		Containers: []pod.Container{
			{Name: "app", Command: []string{"app"}},
			{Name: "db", Image: "postgres:17", ImagePullPolicy: pod.PullIfNotPresent},
		},
	}
	opts := kube.ExportOptions{Images: map[string]string{
		"setup": "busybox:1.36", "app": "example.com/app:1", "db": "example.com/other:1", "absent": "x",
	}}
	kp, err := kube.Export("p", spec, opts)
	require.NoError(t, err)
	require.Equal(t, "busybox:1.36", kp.Spec.InitContainers[0].Image)
	require.Equal(t, "example.com/app:1", kp.Spec.Containers[0].Image)
	require.Equal(t, "postgres:17", kp.Spec.Containers[1].Image)
	require.Empty(t, kp.Spec.Containers[0].ImagePullPolicy, "Kubernetes defaults it from the tag")
	require.Equal(t, corev1.PullIfNotPresent, kp.Spec.Containers[1].ImagePullPolicy)
	require.Empty(t, kp.Spec.Containers[1].Command, "the image's entrypoint runs")
	require.Empty(t, spec.Containers[0].Image, "Export must not modify the spec")

	// Without an entry, each host-program container is named.
	_, err = kube.Export("p", spec, kube.ExportOptions{Images: map[string]string{"app": "example.com/app:1"}})
	require.ErrorIs(t, err, kube.ErrInvalid)
	require.ErrorContains(t, err, "spec.initContainers[0].image: required to export")
	require.ErrorContains(t, err, "podkit export --image setup=REF")
	require.NotContains(t, err.Error(), "--image app=")
}

// An in-process container becomes the podkit command, with every volume
// of the pod where its --volume arguments find them.
func TestExportInProcess(t *testing.T) {
	fn := func(context.Context) error { return nil }
	spec := pod.Spec{
		Volumes: []pod.Volume{
			{Name: "logs", EmptyDir: &pod.EmptyDirVolume{}},
			{Name: "config", HostPath: &pod.HostPathVolume{Path: "/etc/app"}},
		},
		InitContainers: []pod.Container{{
			Name: "shipper", Func: fn, RestartPolicy: pod.RestartAlways,
			ExportArgs:     []string{"sidecar", "log-shipper", "--volume", "logs", "--pattern", "*.log"},
			ReadinessProbe: &pod.Probe{HTTPGet: &pod.HTTPGetAction{Path: "/ready", Port: 8081}},
		}},
		Containers: []pod.Container{{
			Name: "app", Image: "example.com/app:1", Command: []string{"app"},
			VolumeMounts: []pod.VolumeMount{{Name: "logs", MountPath: "/var/log/app"}},
		}},
	}
	kp, err := kube.Export("p", spec, kube.ExportOptions{})
	require.NoError(t, err)
	c := kp.Spec.InitContainers[0]
	require.Equal(t, kube.DefaultPodkitImage, c.Image)
	require.Equal(t, []string{"podkit"}, c.Command)
	require.Equal(t, spec.InitContainers[0].ExportArgs, c.Args)
	require.Equal(t, []corev1.VolumeMount{
		{Name: "logs", MountPath: "/podkit/volumes/logs"},
		{Name: "config", MountPath: "/podkit/volumes/config"},
	}, c.VolumeMounts)
	require.Equal(t, corev1.ContainerRestartPolicyAlways, *c.RestartPolicy)
	require.Equal(t, intstr.FromInt32(8081), c.ReadinessProbe.HTTPGet.Port)

	kp, err = kube.Export("p", spec, kube.ExportOptions{PodkitImage: "registry.example.com/podkit:v1"})
	require.NoError(t, err)
	require.Equal(t, "registry.example.com/podkit:v1", kp.Spec.InitContainers[0].Image)
}

// Kubernetes wants a container's restart policy stated next to its rules:
// Export states the one the pod gives it.
func TestExportStatesRestartPolicyWithRules(t *testing.T) {
	rules := []pod.RestartRule{{Action: pod.RuleRestart, ExitCodes: pod.ExitCodes{Operator: pod.ExitCodesIn, Values: []int{42}}}}
	spec := app(func(c *pod.Container) { c.RestartRules = rules })
	spec.RestartPolicy = pod.RestartNever
	kp, err := kube.Export("p", spec, kube.ExportOptions{})
	require.NoError(t, err)
	require.Equal(t, corev1.ContainerRestartPolicyNever, *kp.Spec.Containers[0].RestartPolicy)
	m := reload(t, kp)
	require.Equal(t, pod.RestartNever, m.Spec.Containers[0].RestartPolicy)
	require.Equal(t, rules, m.Spec.Containers[0].RestartRules)
}

func TestExportDeployment(t *testing.T) {
	spec := app(nil)
	d, err := kube.ExportDeployment("web", spec, kube.ExportOptions{Labels: map[string]string{"tier": "front"}})
	require.NoError(t, err)
	require.Equal(t, "apps/v1", d.APIVersion)
	require.Equal(t, "Deployment", d.Kind)
	require.Equal(t, int32(1), *d.Spec.Replicas)
	want := map[string]string{"tier": "front", kube.NameLabel: "web"}
	require.Equal(t, want, d.Labels)
	require.Equal(t, want, d.Spec.Template.Labels)
	require.Equal(t, map[string]string{kube.NameLabel: "web"}, d.Spec.Selector.MatchLabels)
	require.Equal(t, []string{"app"}, d.Spec.Template.Spec.Containers[0].Command)

	// The caller's name label wins, and the selector follows it.
	d, err = kube.ExportDeployment("web", spec, kube.ExportOptions{Labels: map[string]string{kube.NameLabel: "shop"}})
	require.NoError(t, err)
	require.Equal(t, map[string]string{kube.NameLabel: "shop"}, d.Spec.Selector.MatchLabels)

	spec.RestartPolicy = pod.RestartNever
	spec.ActiveDeadline = time.Minute
	_, err = kube.ExportDeployment("web", spec, kube.ExportOptions{})
	require.ErrorIs(t, err, kube.ErrUnsupported)
	require.ErrorContains(t, err, `kube: deployment "web": `)
	require.ErrorContains(t, err, "spec.template.spec.restartPolicy: Never: a Deployment's pods must have restartPolicy Always")
	require.ErrorContains(t, err, "spec.template.spec.activeDeadlineSeconds: a Deployment's pods may not have one")

	_, err = kube.ExportDeployment("web", app(func(c *pod.Container) { c.Image = "" }), kube.ExportOptions{})
	require.ErrorContains(t, err, "spec.template.spec.containers[0].image: required to export")
}

func TestExportJob(t *testing.T) {
	m := load(t, "testdata/job.yaml")
	j, err := kube.ExportJob("report", m.Spec, kube.ExportOptions{})
	require.NoError(t, err)
	require.Equal(t, "batch/v1", j.APIVersion)
	require.Equal(t, "Job", j.Kind)
	require.Equal(t, map[string]string{kube.NameLabel: "report"}, j.Spec.Template.Labels)
	require.Equal(t, corev1.RestartPolicyNever, j.Spec.Template.Spec.RestartPolicy)
	require.Nil(t, j.Spec.Selector) // the Job controller makes its own
	require.Equal(t, corev1.ContainerRestartPolicyAlways, *j.Spec.Template.Spec.InitContainers[0].RestartPolicy)
	data, err := kube.Marshal(j)
	require.NoError(t, err)
	require.Contains(t, string(data), "apiVersion: batch/v1\nkind: Job\n")

	for _, rp := range []pod.RestartPolicy{"", pod.RestartAlways} {
		spec := m.Spec
		spec.RestartPolicy = rp
		_, err = kube.ExportJob("report", spec, kube.ExportOptions{})
		require.ErrorIs(t, err, kube.ErrUnsupported)
		require.ErrorContains(t, err, "spec.template.spec.restartPolicy: Always: a Job's pods must have restartPolicy Never or OnFailure")
	}
}

func TestMarshal(t *testing.T) {
	kp := &corev1.Pod{}
	kp.Name = "p"
	kp.Spec.Containers = []corev1.Container{{Name: "c", Image: "i"}}
	data, err := kube.Marshal(kp)
	require.NoError(t, err)
	require.Equal(t, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - image: i\n    name: c\n", string(data))
	require.Empty(t, kp.APIVersion, "Marshal must not modify its argument")

	_, err = kube.Marshal(&corev1.ConfigMap{})
	require.ErrorContains(t, err, "apiVersion and kind are not set")
	cm := &corev1.ConfigMap{Data: map[string]string{"k": "v"}}
	cm.APIVersion, cm.Kind = "v1", "ConfigMap"
	data, err = kube.Marshal(cm)
	require.NoError(t, err)
	require.Equal(t, "apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\nmetadata: {}\n", string(data))
}

func TestStopSignals(t *testing.T) {
	for s := syscall.Signal(1); s <= 64; s++ {
		if s == 32 || s == 33 {
			continue // glibc's own: no Kubernetes name
		}
		if s == syscall.SIGURG {
			continue // a container's init does not forward it: pod.New refuses it (see TestStopSignalValidation)
		}
		if s == syscall.SIGTERM {
			// The default of both: left out, for clusters without the
			// ContainerStopSignals feature.
			kp, err := kube.Export("p", app(func(c *pod.Container) { c.StopSignal = s }), kube.ExportOptions{})
			require.NoError(t, err)
			require.Nil(t, kp.Spec.Containers[0].Lifecycle)
			require.Nil(t, kp.Spec.OS)
			continue
		}
		spec := app(func(c *pod.Container) { c.StopSignal = s })
		kp, err := kube.Export("p", spec, kube.ExportOptions{})
		require.NoError(t, err, "signal %d", int(s))
		require.Equal(t, s, reload(t, kp).Spec.Containers[0].StopSignal, "%s", *kp.Spec.Containers[0].Lifecycle.StopSignal)
	}
	for name, want := range map[string]syscall.Signal{
		"SIGRTMIN": 34, "SIGRTMIN+1": 35, "SIGRTMIN+15": 49, "SIGRTMAX-14": 50, "SIGRTMAX-1": 63, "SIGRTMAX": 64,
		"SIGCLD": syscall.SIGCHLD, "SIGIOT": syscall.SIGABRT, "SIGPOLL": syscall.SIGIO, "SIGTERM": 0,
	} {
		m, err := kube.Load(manifest("  os: {name: linux}\n" + hello + "    lifecycle: {stopSignal: \"" + name + "\"}\n"))
		require.NoError(t, err, name)
		require.Equal(t, want, m.Spec.Containers[0].StopSignal, name)
	}
	_, err := kube.Load(manifest("  os: {name: linux}\n" + hello + "    lifecycle: {stopSignal: SIGRTMIN+16}\n"))
	require.ErrorContains(t, err, `spec.containers[0].lifecycle.stopSignal: "SIGRTMIN+16": not a signal`)
}
