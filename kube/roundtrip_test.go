package kube_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

// reload marshals an exported pod and loads it back, checking on the way
// that the YAML decodes strictly and that the pod passes Validate.
func reload(t *testing.T, kp *corev1.Pod) *kube.Manifest {
	t.Helper()
	require.NoError(t, kube.Validate(kp))
	data, err := kube.Marshal(kp)
	require.NoError(t, err)
	j, err := yaml.YAMLToJSONStrict(data)
	require.NoError(t, err)
	var strict corev1.Pod
	strictErrs, err := kjson.UnmarshalStrict(j, &strict)
	require.NoError(t, err)
	require.Empty(t, strictErrs)
	m, err := kube.Load(data)
	require.NoError(t, err, "%s", data)
	return m
}

// Load, Export, Load again: the same spec, for every sample manifest.
func TestRoundTripManifests(t *testing.T) {
	files, err := filepath.Glob("testdata/*.*") // the Pods; testdata/files holds multi-document files
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			m, err := kube.Load(data)
			require.NoError(t, err)
			for i := range m.Spec.Containers {
				if m.Spec.Containers[i].Image == "" {
					m.Spec.Containers[i].Image = "example.com/app:1" // Export needs one
				}
			}
			kp, err := kube.Export(m.Name, m.Spec, kube.ExportOptions{})
			require.NoError(t, err)
			require.Equal(t, m.Spec, reload(t, kp).Spec)
		})
	}
}

// richSpec sets every field of pod.Spec that Kubernetes can express. Its
// paths exist on any Linux host, so Load's pod.New accepts it.
func richSpec() pod.Spec {
	groups := []int64{1}
	return pod.Spec{
		RestartPolicy:          pod.RestartOnFailure,
		TerminationGracePeriod: ptr(time.Duration(0)),
		ActiveDeadline:         90 * time.Second,
		Hostname:               "rich",
		ShareProcessNamespace:  true,
		Resources:              pod.Resources{CPULimit: 1500, CPURequest: 100, MemoryLimit: 512 << 20},
		Network:                pod.Network{Mode: pod.NetworkHost},
		Sysctls:                []pod.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "1"}, {Name: "kernel.msgmax", Value: "16384"}},
		HostAliases:            []pod.HostAlias{{IP: "192.0.2.10", Hostnames: []string{"db", "db.example.com"}}},
		DNSPolicy:              pod.DNSNone,
		DNSConfig: &pod.DNSConfig{Nameservers: []string{"192.0.2.53"}, Searches: []string{"example.com"},
			Options: []pod.DNSOption{{Name: "ndots", Value: "2"}, {Name: "edns0"}}},
		Ports: []pod.Port{{ContainerPort: 8080, HostPort: 8080}, {ContainerPort: 9090, HostPort: 9090, HostIP: "0.0.0.0"}},
		Volumes: []pod.Volume{
			{Name: "scratch", EmptyDir: &pod.EmptyDirVolume{}},
			{Name: "shm", EmptyDir: &pod.EmptyDirVolume{Medium: pod.MediumMemory, SizeLimit: 16 << 20}},
			{Name: "host-tmp", HostPath: &pod.HostPathVolume{Path: "/tmp"}},
		},
		InitContainers: []pod.Container{
			{
				Name: "setup", Image: "example.com/setup:1",
				Command:         []string{"sh", "-c", `echo "$HOME" $$ $(not a reference) $$(neither)`},
				Env:             []string{"A=$(B)", "B=x=y"},
				WorkingDir:      "/tmp",
				RestartRules:    []pod.RestartRule{{Action: pod.RuleRestart, ExitCodes: pod.ExitCodes{Operator: pod.ExitCodesIn, Values: []int{3, 4}}}},
				VolumeMounts:    []pod.VolumeMount{{Name: "scratch", MountPath: "/tmp"}},
				SecurityContext: &pod.SecurityContext{SupplementalGroups: groups},
			},
			{
				Name: "helper", Image: "example.com/helper:1", ImagePullPolicy: pod.PullAlways, RestartPolicy: pod.RestartAlways,
				Command:      []string{"helper"},
				StopSignal:   syscall.Signal(37), // SIGRTMIN+3
				StartupProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 7000, Host: "127.0.0.2"}, Period: time.Second, FailureThreshold: 60},
				Lifecycle: &pod.Lifecycle{
					PostStart: &pod.LifecycleHandler{HTTPGet: &pod.HTTPGetAction{Path: "/ready", Port: 7000}},
					PreStop:   &pod.LifecycleHandler{Exec: &pod.ExecAction{Command: []string{"helper", "drain", "$(X)"}}},
				},
				SecurityContext: &pod.SecurityContext{SupplementalGroups: groups, Capabilities: &pod.Capabilities{Drop: []string{"NET_RAW"}}},
			},
		},
		Containers: []pod.Container{
			{
				Name: "app", Image: "example.com/app:1", ImagePullPolicy: pod.PullNever,
				Command:       []string{"app"},
				Args:          []string{"--listen=:8080", "--price=$5"},
				Env:           []string{"MODE=production", "EMPTY="},
				RestartPolicy: pod.RestartNever,
				RestartRules:  []pod.RestartRule{{Action: pod.RuleRestart, ExitCodes: pod.ExitCodes{Operator: pod.ExitCodesNotIn, Values: []int{0}}}},
				StopSignal:    syscall.SIGUSR1,
				Resources:     pod.Resources{CPULimit: 250, CPURequest: 50, MemoryLimit: 64 << 20},
				VolumeMounts: []pod.VolumeMount{
					{Name: "scratch", MountPath: "/tmp", ReadOnly: true},
					{Name: "shm", MountPath: "/mnt"},
					{Name: "host-tmp", MountPath: "/srv"},
				},
				StartupProbe:             &pod.Probe{Exec: &pod.ExecAction{Command: []string{"app", "check"}}, TerminationGracePeriod: 7 * time.Second},
				LivenessProbe:            &pod.Probe{GRPC: &pod.GRPCAction{Port: 9090}, InitialDelay: 3 * time.Second, Timeout: 4 * time.Second, FailureThreshold: 5, SuccessThreshold: 1},
				ReadinessProbe:           &pod.Probe{HTTPGet: &pod.HTTPGetAction{Path: "/ready", Port: 8080, Host: "localhost"}, SuccessThreshold: 3, Period: 20 * time.Second},
				Lifecycle:                &pod.Lifecycle{PreStop: &pod.LifecycleHandler{Sleep: &pod.SleepAction{Duration: 2 * time.Second}}},
				TerminationMessagePath:   "/run/message",
				TerminationMessagePolicy: pod.TerminationMessageFallbackToLogsOnError,
				SecurityContext: &pod.SecurityContext{
					RunAsUser:                ptr(int64(65534)),
					RunAsGroup:               ptr(int64(65534)),
					SupplementalGroups:       groups,
					AllowPrivilegeEscalation: ptr(false),
					ReadOnlyRootFilesystem:   true,
					Capabilities:             &pod.Capabilities{Drop: []string{"ALL"}, Add: []string{"CAP_NET_BIND_SERVICE"}},
					SeccompProfile:           &pod.SeccompProfile{Type: pod.SeccompRuntimeDefault},
				},
			},
		},
	}
}

// Export, then Load: the spec comes back.
func TestRoundTripGoSpec(t *testing.T) {
	spec := richSpec()
	_, err := pod.New("rich", spec)
	require.NoError(t, err)
	kp, err := kube.Export("rich", spec, kube.ExportOptions{Labels: map[string]string{"team": "a"}})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"team": "a"}, kp.Labels)
	m := reload(t, kp)
	require.Equal(t, spec, m.Spec)
	require.Equal(t, "rich", m.Name)
}

// Each pull policy, and none, comes back from Export and Load as it was;
// the exported manifest states it in Kubernetes' words.
func TestRoundTripPullPolicy(t *testing.T) {
	for _, policy := range []pod.PullPolicy{"", pod.PullAlways, pod.PullIfNotPresent, pod.PullNever} {
		t.Run(string(policy), func(t *testing.T) {
			spec := app(func(c *pod.Container) { c.ImagePullPolicy = policy })
			kp, err := kube.Export("p", spec, kube.ExportOptions{})
			require.NoError(t, err)
			require.Equal(t, corev1.PullPolicy(policy), kp.Spec.Containers[0].ImagePullPolicy)
			data, err := kube.Marshal(kp)
			require.NoError(t, err)
			if policy == "" {
				require.NotContains(t, string(data), "imagePullPolicy")
			} else {
				require.Contains(t, string(data), "imagePullPolicy: "+string(policy)+"\n")
			}
			require.Equal(t, spec, reload(t, kp).Spec)
		})
	}
}

// A manifest loaded, exported and marshalled reads like its source.
func TestExportWebManifest(t *testing.T) {
	m := load(t, "testdata/web.yaml")
	kp, err := kube.Export(m.Name, m.Spec, kube.ExportOptions{})
	require.NoError(t, err)
	c := kp.Spec.Containers[0]
	// Literal text that the kubelet would expand is escaped.
	require.Equal(t, []string{"$$(not expanded)", "$$(UNKNOWN)"}, c.Args)
	require.Equal(t, "8080", c.LivenessProbe.HTTPGet.Port.String()) // the named port, resolved
	require.Equal(t, corev1.Signal("SIGQUIT"), *c.Lifecycle.StopSignal)
	require.Equal(t, corev1.Linux, kp.Spec.OS.Name)
	require.Equal(t, []int64{1}, kp.Spec.SecurityContext.SupplementalGroups)
	// Restart rules state the policy an init container follows anyway.
	require.Equal(t, corev1.ContainerRestartPolicyOnFailure, *kp.Spec.InitContainers[0].RestartPolicy)
}
