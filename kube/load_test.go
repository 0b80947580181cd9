package kube_test

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

func ptr[T any](v T) *T { return &v }

func load(t *testing.T, file string) *kube.Manifest {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	m, err := kube.Load(data)
	require.NoError(t, err)
	return m
}

// webSpec is what testdata/web.yaml says.
func webSpec() pod.Spec {
	nobody := pod.SecurityContext{RunAsUser: ptr(int64(65534)), RunAsGroup: ptr(int64(65534)), SupplementalGroups: []int64{1}}
	return pod.Spec{
		RestartPolicy:          pod.RestartAlways,
		TerminationGracePeriod: ptr(20 * time.Second),
		ActiveDeadline:         time.Hour,
		Hostname:               "web-1",
		ShareProcessNamespace:  true,
		Resources:              pod.Resources{CPULimit: 2000, MemoryLimit: 1 << 30},
		Volumes: []pod.Volume{
			{Name: "content", EmptyDir: &pod.EmptyDirVolume{}},
			{Name: "cache", EmptyDir: &pod.EmptyDirVolume{Medium: pod.MediumMemory, SizeLimit: 64 << 20}},
			{Name: "logs", HostPath: &pod.HostPathVolume{Path: "/var/log"}},
		},
		InitContainers: []pod.Container{
			{
				Name:            "fetch",
				Image:           "busybox:1.36",
				Command:         []string{"sh", "-c"},
				Args:            []string{"echo hello > /srv/index.html"},
				VolumeMounts:    []pod.VolumeMount{{Name: "content", MountPath: "/srv"}},
				RestartRules:    []pod.RestartRule{{Action: pod.RuleRestart, ExitCodes: pod.ExitCodes{Operator: pod.ExitCodesIn, Values: []int{42}}}},
				SecurityContext: ptr(nobody),
			},
			{
				Name:          "log-shipper",
				Image:         "busybox:1.36",
				RestartPolicy: pod.RestartAlways,
				Command:       []string{"sh", "-c", "tail -F /var/log/web/access.log"},
				VolumeMounts:  []pod.VolumeMount{{Name: "logs", MountPath: "/var/log", ReadOnly: true}},
				StartupProbe: &pod.Probe{
					Exec:   &pod.ExecAction{Command: []string{"test", "-d", "/var/log"}},
					Period: time.Second, FailureThreshold: 30,
				},
				StopSignal:      syscall.SIGINT,
				SecurityContext: ptr(nobody),
			},
		},
		Containers: []pod.Container{
			{
				Name:          "server",
				Image:         "busybox:1.36",
				Command:       []string{"httpd", "-f", "-p", "8080", "-h", "/srv"},
				Args:          []string{"$(not expanded)", "$(UNKNOWN)"},
				WorkingDir:    "/srv",
				Env:           []string{"PORT=8080", "ADDR=127.0.0.1:8080"},
				Resources:     pod.Resources{CPURequest: 250, CPULimit: 500, MemoryLimit: 128 << 20},
				RestartPolicy: pod.RestartAlways,
				VolumeMounts: []pod.VolumeMount{
					{Name: "content", MountPath: "/srv", ReadOnly: true},
					{Name: "cache", MountPath: "/tmp"},
				},
				LivenessProbe: &pod.Probe{
					HTTPGet:      &pod.HTTPGetAction{Path: "/healthz", Port: 8080},
					InitialDelay: 2 * time.Second, Period: 5 * time.Second, Timeout: 2 * time.Second,
					FailureThreshold: 4, TerminationGracePeriod: 10 * time.Second,
				},
				ReadinessProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 8080}, SuccessThreshold: 2},
				StartupProbe:   &pod.Probe{GRPC: &pod.GRPCAction{Port: 9090, Service: "web"}},
				Lifecycle: &pod.Lifecycle{
					PostStart: &pod.LifecycleHandler{Exec: &pod.ExecAction{Command: []string{"sh", "-c", "echo started"}}},
					PreStop:   &pod.LifecycleHandler{Sleep: &pod.SleepAction{Duration: 3 * time.Second}},
				},
				StopSignal: syscall.SIGQUIT,
				SecurityContext: &pod.SecurityContext{
					RunAsUser:                ptr(int64(1)),
					RunAsGroup:               ptr(int64(65534)),
					SupplementalGroups:       []int64{1},
					AllowPrivilegeEscalation: ptr(false),
					ReadOnlyRootFilesystem:   true,
					Capabilities:             &pod.Capabilities{Drop: []string{"ALL"}, Add: []string{"NET_BIND_SERVICE"}},
				},
			},
			{
				Name:          "metrics",
				Image:         "busybox:1.36",
				Command:       []string{"sh", "-c", "while true; do sleep 60; done"},
				RestartPolicy: pod.RestartOnFailure,
				RestartRules:  []pod.RestartRule{{Action: pod.RuleRestart, ExitCodes: pod.ExitCodes{Operator: pod.ExitCodesNotIn, Values: []int{0, 1}}}},
				Lifecycle: &pod.Lifecycle{
					PreStop: &pod.LifecycleHandler{HTTPGet: &pod.HTTPGetAction{Path: "/quit", Port: 9100, Host: "127.0.0.1"}},
				},
				SecurityContext: ptr(nobody),
			},
		},
	}
}

func TestLoadWeb(t *testing.T) {
	m := load(t, "testdata/web.yaml")
	require.Equal(t, "web", m.Name)
	require.Equal(t, webSpec(), m.Spec)
	require.Equal(t, []string{
		"metadata.labels: ignored: podkit keeps no object metadata",
		"spec.containers[0].ports: informational: a pod's ports are reachable on its loopback only (named ports serve its probes and hooks)",
		"spec.containers[0].resources.requests.memory: ignored: a request informs scheduling, and podkit reserves nothing",
	}, m.Warnings)
	require.Equal(t, "web", m.Pod.Name)
}

func TestLoadJob(t *testing.T) {
	m := load(t, "testdata/job.yaml")
	require.Equal(t, pod.Spec{
		RestartPolicy:          pod.RestartNever,
		ActiveDeadline:         10 * time.Minute,
		TerminationGracePeriod: ptr(5 * time.Second),
		Volumes:                []pod.Volume{{Name: "out", EmptyDir: &pod.EmptyDirVolume{Medium: pod.MediumMemory}}},
		InitContainers: []pod.Container{{
			Name: "proxy", Image: "registry.example.com/proxy:2", RestartPolicy: pod.RestartAlways,
			Command:        []string{"proxy", "--listen=127.0.0.1:3128"},
			ReadinessProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 3128}, Period: 2 * time.Second},
		}},
		Containers: []pod.Container{{
			Name: "worker", Image: "registry.example.com/report:1.4",
			Command:       []string{"report"},
			Args:          []string{"--out=/tmp/report.csv", "--proxy=http://127.0.0.1:3128"},
			Env:           []string{"PROXY=http://127.0.0.1:3128"},
			VolumeMounts:  []pod.VolumeMount{{Name: "out", MountPath: "/tmp"}},
			RestartPolicy: pod.RestartNever,
			RestartRules:  []pod.RestartRule{{Action: pod.RuleRestart, ExitCodes: pod.ExitCodes{Operator: pod.ExitCodesIn, Values: []int{75}}}},
			Resources:     pod.Resources{MemoryLimit: 256 << 20},
		}},
	}, m.Spec)
}

func TestLoadJSON(t *testing.T) {
	m := load(t, "testdata/minimal.json")
	require.Equal(t, pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers:    []pod.Container{{Name: "hello", Command: []string{"echo", "hello"}}},
	}, m.Spec)
	require.Empty(t, m.Warnings)
}

// hostNetwork: true puts the pod on the host's network, and exports back;
// an isolated pod, podkit's default, exports as Kubernetes' default.
func TestHostNetwork(t *testing.T) {
	m, err := kube.Load(manifest("  hostNetwork: true\n" + hello))
	require.NoError(t, err)
	require.Equal(t, pod.Network{Mode: pod.NetworkHost}, m.Spec.Network)
	require.Empty(t, m.Warnings)
	m.Spec.Containers[0].Image = "example.com/app:1" // Export needs one
	kp, err := kube.Export("p", m.Spec, kube.ExportOptions{})
	require.NoError(t, err)
	require.True(t, kp.Spec.HostNetwork)

	m.Spec.Network = pod.Network{Mode: pod.NetworkIsolated}
	kp, err = kube.Export("p", m.Spec, kube.ExportOptions{})
	require.NoError(t, err)
	require.False(t, kp.Spec.HostNetwork)
}

// manifest returns a Pod manifest named "p" whose spec is spec, indented
// by two spaces.
func manifest(spec string) []byte {
	return []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n" + spec)
}

const hello = `  containers:
  - name: c
    command: ["true"]
`

func TestLoadErrors(t *testing.T) {
	for _, tt := range []struct {
		name     string
		data     string
		sentinel error
		want     []string // each is in the message
	}{
		{
			name: "unknown field",
			data: string(manifest(`  containers:
  - name: c
    command: ["true"]
    imagePullPolicyy: Always
  volumes:
  - name: v
    emptyDir: {sizeLimitt: 1Mi}
`)),
			sentinel: kube.ErrInvalid,
			want:     []string{`pod "p"`, "spec.containers[0].imagePullPolicyy: unknown field", "spec.volumes[0].emptyDir.sizeLimitt: unknown field"},
		},
		{
			// Issue 14: seconds that overflowed a time.Duration into 290 ms
			// or into "-1s".
			name: "seconds out of range",
			data: string(manifest(`  activeDeadlineSeconds: 18446744074
  terminationGracePeriodSeconds: 9223372036854775807
  containers:
  - name: c
    command: ["true"]
    lifecycle:
      preStop: {sleep: {seconds: 9223372036854775807}}
    livenessProbe:
      exec: {command: ["true"]}
      terminationGracePeriodSeconds: 18446744074
`)),
			sentinel: kube.ErrInvalid,
			want: []string{
				"spec.activeDeadlineSeconds: 18446744074 is out of range (1 to 3153600000 seconds)",
				"spec.terminationGracePeriodSeconds: 9223372036854775807 is out of range (0 to 3153600000 seconds)",
				"spec.containers[0].lifecycle.preStop.sleep.seconds: 9223372036854775807 is out of range (0 to 3153600000 seconds)",
				"spec.containers[0].livenessProbe.terminationGracePeriodSeconds: 18446744074 is out of range (1 to 3153600000 seconds)",
			},
		},
		{
			name:     "field in the wrong case",
			data:     string(manifest("  containers:\n  - name: c\n    Command: [\"true\"]\n")),
			sentinel: kube.ErrInvalid,
			want:     []string{"spec.containers[0].Command: unknown field"},
		},
		{
			name:     "duplicate key",
			data:     string(manifest("  restartPolicy: Never\n  restartPolicy: Always\n" + hello)),
			sentinel: kube.ErrInvalid,
			want:     []string{`key "restartPolicy" already set`},
		},
		{
			name: "every unsupported field",
			data: string(manifest(`  hostPID: true
  containers:
  - name: c
    command: ["true"]
    env:
    - name: TOKEN
      valueFrom:
        fieldRef: {fieldPath: status.phase}
    volumeMounts:
    - name: v
      mountPath: /tmp
      mountPropagation: Bidirectional
  volumes:
  - name: v
    emptyDir: {}
`)),
			sentinel: kube.ErrUnsupported,
			want: []string{
				"spec.hostPID: podkit gives a pod its own PID namespaces",
				`spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: "status.phase": podkit's downward API has`,
				"spec.containers[0].volumeMounts[0].mountPropagation: Bidirectional: podkit's mounts propagate nothing",
			},
		},
		{
			name:     "neither image nor command",
			data:     string(manifest("  containers:\n  - name: c\n    args: [x]\n")),
			sentinel: kube.ErrUnsupported,
			want:     []string{"spec.containers[0].command: required: the container has no image to take a default command from"},
		},
		{
			name:     "unknown pull policy",
			data:     string(manifest("  containers:\n  - name: c\n    image: nginx\n    imagePullPolicy: Sometimes\n")),
			sentinel: kube.ErrInvalid,
			want:     []string{`spec.containers[0].imagePullPolicy: must be Always, IfNotPresent or Never, got "Sometimes"`},
		},
		{
			name:     "wrong kind",
			data:     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: p}\n",
			sentinel: kube.ErrInvalid,
			want:     []string{`apiVersion "apps/v1", kind "Deployment": Load takes a v1 Pod`},
		},
		{
			name:     "wrong version",
			data:     "apiVersion: v2\nkind: Pod\nmetadata: {name: p}\n",
			sentinel: kube.ErrInvalid,
			want:     []string{`apiVersion "v2", kind "Pod"`},
		},
		{
			name:     "several documents",
			data:     string(manifest(hello)) + "---\n" + string(manifest(hello)),
			sentinel: kube.ErrInvalid,
			want:     []string{"2 YAML documents: Load takes exactly one Pod"},
		},
		{
			name:     "empty",
			data:     "---\n# nothing\n",
			sentinel: kube.ErrInvalid,
			want:     []string{"the input is empty"},
		},
		{
			name:     "not YAML",
			data:     "apiVersion: v1\nkind: Pod\n  spec: [",
			sentinel: kube.ErrInvalid,
		},
		{
			name:     "wrong type",
			data:     string(manifest("  containers:\n  - name: c\n    command: true\n")),
			sentinel: kube.ErrInvalid,
			want:     []string{"spec.containers[0].command: must be a list, got the boolean true"},
		},
		{
			name: "unknown named port",
			data: string(manifest(`  containers:
  - name: c
    command: ["true"]
    ports: [{name: http, containerPort: 80}]
    livenessProbe:
      httpGet: {port: https}
`)),
			sentinel: kube.ErrInvalid,
			want:     []string{`spec.containers[0].livenessProbe.httpGet.port: "https": the container declares no port of that name`},
		},
		{
			name:     "missing name",
			data:     "apiVersion: v1\nkind: Pod\nspec:\n" + hello,
			sentinel: kube.ErrInvalid,
			want:     []string{"metadata.name: required"},
		},
		{
			name: "kubernetes validation",
			data: string(manifest(`  initContainers:
  - name: c
    command: ["true"]
    livenessProbe:
      exec: {command: ["true"]}
  containers:
  - name: c
    command: ["true"]
    livenessProbe:
      exec: {command: ["true"]}
      successThreshold: 2
    volumeMounts: [{name: nope, mountPath: /tmp}]
`)),
			sentinel: kube.ErrInvalid,
			want: []string{
				"spec.initContainers[0].livenessProbe: may not be set for init containers",
				`spec.containers[0].name: "c": duplicate container name`,
				"spec.containers[0].livenessProbe.successThreshold: 2: must be 1",
				`spec.containers[0].volumeMounts[0].name: "nope": no volume of that name`,
			},
		},
		{
			name:     "https probe and headers",
			data:     string(manifest(hello + "    readinessProbe:\n      httpGet: {port: 443, scheme: HTTPS, httpHeaders: [{name: Host, value: x}]}\n")),
			sentinel: kube.ErrUnsupported,
			want: []string{
				"spec.containers[0].readinessProbe.httpGet.scheme: HTTPS: podkit sends plain HTTP only",
				"spec.containers[0].readinessProbe.httpGet.httpHeaders: podkit sends no custom headers",
			},
		},
		{
			name: "other volume sources and resources",
			data: string(manifest(hello + `    resources:
      limits: {ephemeral-storage: 1Gi, nvidia.com/gpu: "1"}
  volumes:
  - name: config
    persistentVolumeClaim: {claimName: app}
`)),
			sentinel: kube.ErrUnsupported,
			want: []string{
				"spec.volumes[0].persistentVolumeClaim: podkit does not support this field",
				"spec.containers[0].resources.limits.ephemeral-storage: podkit limits cpu and memory only",
				"spec.containers[0].resources.limits.nvidia.com/gpu: podkit limits cpu and memory only",
			},
		},
		{
			name: "security",
			data: string(manifest(`  securityContext:
    fsGroup: 2000
    runAsNonRoot: true
    seccompProfile: {type: Localhost, localhostProfile: profiles/audit.json}
  containers:
  - name: c
    command: ["true"]
    securityContext:
      privileged: true
`)),
			sentinel: kube.ErrUnsupported,
			want: []string{
				"spec.securityContext.seccompProfile: Localhost: podkit has no profile directory: use RuntimeDefault",
				"spec.securityContext.fsGroup: podkit does not change the ownership of volumes",
				"spec.containers[0].securityContext.privileged",
			},
		},
		{
			name:     "quantities finer than podkit counts",
			data:     string(manifest(hello + "    resources:\n      limits: {cpu: 0.0001, memory: 400m}\n")),
			sentinel: kube.ErrInvalid,
			want: []string{
				"spec.containers[0].resources.limits.cpu: 100u: finer than a millicore",
				"spec.containers[0].resources.limits.memory: 400m: not a whole number of bytes",
			},
		},
		{
			name:     "confinement",
			data:     string(manifest(hello + "    securityContext:\n      seccompProfile: {type: Unconfined}\n      appArmorProfile: {type: RuntimeDefault}\n      seLinuxOptions: {level: s0}\n")),
			sentinel: kube.ErrUnsupported,
			want: []string{
				"spec.containers[0].securityContext.appArmorProfile: RuntimeDefault: podkit applies no AppArmor profile",
				"spec.containers[0].securityContext.seLinuxOptions: podkit sets no SELinux context",
			},
		},
		{
			name:     "init container restart policy podkit cannot follow",
			data:     string(manifest("  restartPolicy: Never\n  initContainers:\n  - name: i\n    command: [\"true\"]\n    restartPolicy: OnFailure\n" + hello)),
			sentinel: kube.ErrUnsupported,
			want:     []string{`spec.initContainers[0].restartPolicy: "OnFailure": podkit restarts a failed init container per the pod's restart policy (Never here)`},
		},
		{
			name:     "refused by pod",
			data:     string(manifest(hello + "    imagePullPolicy: Always\n")),
			sentinel: pod.ErrInvalidSpec,
			want:     []string{`kube: pod "p": podkit rejects the spec`, "imagePullPolicy", "set without an image"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := kube.Load([]byte(tt.data))
			require.Error(t, err)
			require.Nil(t, m)
			require.ErrorIs(t, err, tt.sentinel)
			require.True(t, strings.HasPrefix(err.Error(), "kube: "), err.Error())
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// Every unsupported field is in one error, which wraps both sentinels when
// the manifest is also invalid.
func TestLoadErrorCollectsEverything(t *testing.T) {
	_, err := kube.Load(manifest(`  hostPID: true
  hostIPC: true
  runtimeClassName: gvisor
  containers:
  - name: c
    tty: true
    envFrom: [{configMapRef: {name: x}}]
    ports: [{containerPort: 80, hostPort: 80, protocol: UDP}]
    livenessProbe: {tcpSocket: {port: admin}}
`))
	require.ErrorIs(t, err, kube.ErrUnsupported)
	require.ErrorIs(t, err, kube.ErrInvalid) // the unknown port name
	for _, path := range []string{
		"spec.containers[0].livenessProbe.tcpSocket.port",
		"spec.hostPID", "spec.hostIPC", "spec.runtimeClassName", "spec.containers[0].tty", "spec.containers[0].envFrom[0].configMapRef",
		"spec.containers[0].ports[0].protocol", "spec.containers[0].command",
	} {
		assert.Contains(t, err.Error(), path+":")
	}
}

func TestLoadWarnings(t *testing.T) {
	m, err := kube.Load([]byte(`apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: prod
  annotations: {a: b}
spec:
  nodeSelector: {disk: ssd}
  nodeName: node-1
  tolerations: [{key: k, operator: Exists}]
  affinity: {}
  schedulerName: default-scheduler
  priorityClassName: high
  serviceAccountName: app
  automountServiceAccountToken: false
  dnsPolicy: ClusterFirst
  imagePullSecrets: [{name: regcred}]
  enableServiceLinks: false
  hostNetwork: false
  containers:
  - name: c
    image: nginx:1.27
    imagePullPolicy: IfNotPresent
    command: ["true"]
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
    tty: false
    ports: [{containerPort: 80, protocol: TCP}]
    resources:
      requests: {memory: 64Mi, ephemeral-storage: 1Gi}
  volumes:
  - name: scratch
    emptyDir: {sizeLimit: 1Gi}
status:
  phase: Running
`))
	require.NoError(t, err)
	require.Equal(t, []string{
		"metadata.namespace: ignored: podkit has no namespaces of objects",
		"metadata.annotations: ignored: podkit keeps no object metadata",
		"status: ignored: podkit reports the pod's status itself",
		"spec.volumes[0].emptyDir.sizeLimit: not enforced: podkit bounds the size of a Memory emptyDir only",
		"spec.containers[0].ports: informational: a pod's ports are reachable on its loopback only (named ports serve its probes and hooks)",
		"spec.containers[0].resources.requests.ephemeral-storage: ignored: a request informs scheduling, and podkit reserves nothing",
		"spec.containers[0].resources.requests.memory: ignored: a request informs scheduling, and podkit reserves nothing",
		"spec.dnsPolicy: ClusterFirst: podkit has no cluster DNS: the pod gets the host's resolver configuration, as the kubelet falls back to Default without one",
		"spec.nodeSelector: ignored: scheduling does not apply, podkit runs the pod on this machine",
		"spec.serviceAccountName: ignored: podkit has no API server, services or service accounts",
		"spec.automountServiceAccountToken: ignored: podkit has no API server, services or service accounts; no token is mounted",
		"spec.nodeName: ignored: scheduling does not apply, podkit runs the pod on this machine",
		"spec.imagePullSecrets: ignored: podkit takes registry credentials from the Docker config file ($DOCKER_CONFIG or ~/.docker/config.json)",
		"spec.schedulerName: ignored: scheduling does not apply, podkit runs the pod on this machine",
		"spec.tolerations: ignored: scheduling does not apply, podkit runs the pod on this machine",
		"spec.priorityClassName: ignored: scheduling does not apply, podkit runs the pod on this machine",
		"spec.enableServiceLinks: ignored: podkit has no API server, services or service accounts",
	}, m.Warnings)
	require.Equal(t, int64(1<<30), m.Spec.Volumes[0].EmptyDir.SizeLimit)
	require.Equal(t, "nginx:1.27", m.Spec.Containers[0].Image)
	require.Equal(t, pod.PullIfNotPresent, m.Spec.Containers[0].ImagePullPolicy)
}

// A container's image and pull policy are the pod's; its command may come
// from the image, and its mount paths need not exist on the host: they are
// created inside the image, or in the private layer over the host's
// filesystem of a container without one.
func TestLoadImages(t *testing.T) {
	m, err := kube.Load(manifest(`  containers:
  - name: web
    image: nginx:1.27
    volumeMounts: [{name: v, mountPath: /usr/share/nginx/html}]
  - name: tool
    image: example.com/tool
    imagePullPolicy: Never
    args: ["--once"]
  - name: host
    command: ["sleep", "1"]
    volumeMounts: [{name: v, mountPath: /does/not/exist}]
  volumes: [{name: v, emptyDir: {}}]
`))
	require.NoError(t, err)
	require.Empty(t, m.Warnings)
	web, tool, host := m.Spec.Containers[0], m.Spec.Containers[1], m.Spec.Containers[2]
	require.Equal(t, "nginx:1.27", web.Image)
	require.Empty(t, web.Command, "the image's entrypoint runs")
	require.Empty(t, web.ImagePullPolicy, "the pod defaults it, as the kubelet does")
	require.Equal(t, pod.PullIfNotPresent, pod.DefaultPullPolicy(web.Image))
	require.Equal(t, pod.PullNever, tool.ImagePullPolicy)
	require.Empty(t, tool.Command)
	require.Equal(t, []string{"--once"}, tool.Args)
	require.Empty(t, host.Image, "a container without an image runs the host's program")
	require.False(t, host.SharedHostFilesystem)
}

// Load takes the manifest's values as the kubelet would run them.
func TestLoadExpandsReferences(t *testing.T) {
	m, err := kube.Load(manifest(`  containers:
  - name: c
    command: ["echo", "$(A)", "$(B)", "$$(A)", "$(C", "$A", "$(UNSET)"]
    args: ["$$$(A)", "cost: $$5"]
    env:
    - {name: A, value: one}
    - {name: B, value: "$(A)-two-$(B)"}
    - {name: A, value: "$(A)$(A)"}
`))
	require.NoError(t, err)
	c := m.Spec.Containers[0]
	require.Equal(t, []string{"A=one", "B=one-two-$(B)", "A=oneone"}, c.Env)
	require.Equal(t, []string{"echo", "oneone", "one-two-$(B)", "$(A)", "$(C", "$A", "$(UNSET)"}, c.Command)
	require.Equal(t, []string{"$oneone", "cost: $5"}, c.Args)
}

func TestLoadHostPathTypes(t *testing.T) {
	for _, tt := range []struct {
		path, typ string
		err       string
	}{
		{"/tmp", "Directory", ""},
		{"/tmp", "DirectoryOrCreate", ""},
		{"/tmp", "File", `spec.volumes[0].hostPath.type: File: /tmp is not one on this host`},
		{"/dev/null", "CharDevice", ""},
		{"/nonexistent-podkit", "DirectoryOrCreate", "podkit creates nothing on the host"},
		{"/tmp", "Bogus", `"Bogus": not a hostPath type`},
	} {
		t.Run(tt.path+" "+tt.typ, func(t *testing.T) {
			_, err := kube.Load(manifest(hello + "  volumes:\n  - name: v\n    hostPath: {path: " + tt.path + ", type: " + tt.typ + "}\n"))
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.err)
		})
	}
}

func TestFromPodKeepsItsInput(t *testing.T) {
	m := load(t, "testdata/web.yaml")
	before, err := kube.Marshal(m.Pod)
	require.NoError(t, err)
	_, err = kube.FromPod(m.Pod)
	require.NoError(t, err)
	after, err := kube.Marshal(m.Pod)
	require.NoError(t, err)
	require.Equal(t, string(before), string(after))
	require.False(t, errors.Is(err, kube.ErrInvalid))
}

// TestPublishedPortNoLoopbackWarning: a port with a hostPort is published
// on the host, so the warning that ports are reachable on the pod's
// loopback only is not given for it.
func TestPublishedPortNoLoopbackWarning(t *testing.T) {
	m, err := kube.Load(manifest(`  containers:
  - name: c
    command: ["true"]
    ports: [{containerPort: 8080, hostPort: 18080}]
`))
	require.NoError(t, err)
	for _, w := range m.Warnings {
		assert.NotContains(t, w, "loopback only")
	}
	m, err = kube.Load(manifest(`  containers:
  - name: c
    command: ["true"]
    ports: [{containerPort: 8080, hostPort: 18080}, {containerPort: 9090}]
`))
	require.NoError(t, err)
	assert.Contains(t, m.Warnings, "spec.containers[0].ports: informational: a pod's ports are reachable on its loopback only (named ports serve its probes and hooks)")
}

// runAsNonRoot reaches the pod, which checks the image's user when the
// container starts, as the kubelet does, and is exported again.
func TestRunAsNonRootMapped(t *testing.T) {
	m, err := kube.Load(manifest(`  securityContext:
    runAsNonRoot: true
  containers:
  - name: c
    image: busybox:1.36
`))
	require.NoError(t, err)
	sc := m.Spec.Containers[0].SecurityContext
	require.NotNil(t, sc)
	require.NotNil(t, sc.RunAsNonRoot)
	assert.True(t, *sc.RunAsNonRoot)
	kp, err := kube.Export(m.Name, m.Spec, kube.ExportOptions{})
	require.NoError(t, err)
	require.NotNil(t, kp.Spec.Containers[0].SecurityContext)
	assert.Equal(t, true, *kp.Spec.Containers[0].SecurityContext.RunAsNonRoot)
}
