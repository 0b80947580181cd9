package kube_test

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

// configOptions gives the ConfigMap "app" and the Secret "db".
func configOptions() kube.LoadOptions {
	return kube.LoadOptions{
		ConfigMaps: map[string]*corev1.ConfigMap{"app": {
			ObjectMeta: metav1.ObjectMeta{Name: "app"},
			Data:       map[string]string{"LOG_LEVEL": "debug", "app.conf": "port=80\n", "ü": "not a name"},
			BinaryData: map[string][]byte{"logo.bin": {0xff, 0x00, 0xfe}},
		}},
		Secrets: map[string]*corev1.Secret{"db": {
			ObjectMeta: metav1.ObjectMeta{Name: "db"},
			Data:       map[string][]byte{"password": []byte("s3cret")},
			StringData: map[string]string{"user": "admin"},
		}},
	}
}

func loadWith(t *testing.T, o kube.LoadOptions, doc string) (*kube.Manifest, error) {
	t.Helper()
	return o.Load([]byte(doc))
}

const downwardPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, tier: front}
  annotations: {note: "say \"hi\""}
spec:
  serviceAccountName: robot
  containers:
  - name: app
    command: [sh]
    resources:
      limits: {cpu: 500m, memory: 129M}
    envFrom:
    - configMapRef: {name: app}
      prefix: APP_
    - secretRef: {name: db}
    - configMapRef: {name: absent, optional: true}
    env:
    - {name: LOG_LEVEL, valueFrom: {configMapKeyRef: {name: app, key: LOG_LEVEL}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
    - {name: OPTIONAL, valueFrom: {configMapKeyRef: {name: absent, key: x, optional: true}}}
    - {name: OPTIONAL_KEY, valueFrom: {secretKeyRef: {name: db, key: nope, optional: true}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
    - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
    - {name: NOTE, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['note']"}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: POD_IPS, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}
    - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
    - {name: HOST_IPS, valueFrom: {fieldRef: {fieldPath: status.hostIPs}}}
    - {name: CPU_M, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}
    - {name: CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
    - {name: CPU_REQ_M, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}
    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: MEM_REQ, valueFrom: {resourceFieldRef: {resource: requests.memory}}}
    - {name: SIDE_MEM_MI, valueFrom: {resourceFieldRef: {containerName: side, resource: limits.memory, divisor: 1Mi}}}
    - {name: SIDE_CPU, valueFrom: {resourceFieldRef: {containerName: side, resource: limits.cpu}}}
    - {name: SIDE_CPU_REQ, valueFrom: {resourceFieldRef: {containerName: side, resource: requests.cpu}}}
    - {name: HOST_IP, value: "overridden $(LOG_LEVEL)"}
  - name: side
    command: [sh]
`

func TestLoadEnvFromConfigAndDownwardAPI(t *testing.T) {
	m, err := loadWith(t, configOptions(), downwardPod)
	require.NoError(t, err)
	host, err := os.Hostname()
	require.NoError(t, err)
	var si unix.Sysinfo_t
	require.NoError(t, unix.Sysinfo(&si))
	memMi := int64(math.Ceil(float64(int64(si.Totalram)*int64(si.Unit)) / (1 << 20)))
	c := m.Spec.Containers[0]
	assert.Equal(t, []string{
		"APP_LOG_LEVEL=debug", "APP_app.conf=port=80\n", // envFrom, sorted by key
		"password=s3cret", "user=admin",
		"LOG_LEVEL=debug", "PASSWORD=s3cret",
		"POD_NAMESPACE=default", "APP=web", `NOTE=say "hi"`, "NODE=" + host, "SA=robot",
		"CPU_M=500", "CPU=1", "CPU_REQ_M=500", // requests default to limits
		"MEM_MI=124", // 129e6 / 2^20 = 123.02, rounded up
		"MEM_REQ=129000000",
		fmt.Sprintf("SIDE_MEM_MI=%d", memMi), // no limit: the node's memory
		fmt.Sprintf("SIDE_CPU=%d", runtime.NumCPU()),
		"SIDE_CPU_REQ=0",
		"HOST_IP=overridden debug",
	}, c.Env)
	assert.Equal(t, []pod.FieldEnv{
		{Name: "POD_NAME", Field: pod.FieldPodName}, {Name: "POD_UID", Field: pod.FieldPodUID},
		{Name: "POD_IP", Field: pod.FieldPodIP}, {Name: "POD_IPS", Field: pod.FieldPodIPs},
		{Name: "HOST_IPS", Field: pod.FieldHostIPs}, // HOST_IP is replaced by the later value
	}, c.FieldEnv)
	assert.Contains(t, m.Warnings, "spec.containers[0].envFrom[0]: skipped keys that are not valid environment variable names, as the kubelet does: APP_ü")
}

func TestLoadDownwardUIDFromManifest(t *testing.T) {
	m, err := kube.Load(manifest(`  containers:
  - name: c
    command: ["true"]
    env: [{name: U, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}]
`))
	require.NoError(t, err)
	assert.Equal(t, []pod.FieldEnv{{Name: "U", Field: pod.FieldPodUID}}, m.Spec.Containers[0].FieldEnv)

	kp := m.Pod.DeepCopy()
	kp.UID = "1234"
	m, err = kube.FromPod(kp)
	require.NoError(t, err)
	assert.Equal(t, []string{"U=1234"}, m.Spec.Containers[0].Env)
}

func TestLoadConfigVolumes(t *testing.T) {
	m, err := loadWith(t, configOptions(), `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {b: "2", a: "1"}
spec:
  containers:
  - name: app
    command: [sh]
    resources: {limits: {memory: 64Mi}}
    volumeMounts:
    - {name: all, mountPath: /etc/all}
  volumes:
  - name: all
    configMap: {name: app}
  - name: some
    configMap:
      name: app
      defaultMode: 0600
      items:
      - {key: app.conf, path: conf/app.conf}
      - {key: logo.bin, path: logo, mode: 0444}
  - name: creds
    secret:
      secretName: db
      defaultMode: 0400
  - name: none
    secret: {secretName: absent, optional: true}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: ns, fieldRef: {fieldPath: metadata.namespace}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
      - {path: uid, fieldRef: {fieldPath: metadata.uid}}
      - {path: mem, resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}
  - name: mixed
    projected:
      defaultMode: 0640
      sources:
      - configMap: {name: app, items: [{key: LOG_LEVEL, path: level}]}
      - secret: {name: db, items: [{key: user, path: user}, {key: missing, path: m}], optional: true}
      - downwardAPI: {items: [{path: a, fieldRef: {fieldPath: "metadata.labels['a']"}}]}
`)
	require.NoError(t, err)
	vols := make(map[string]*pod.ProjectedVolume)
	for _, v := range m.Spec.Volumes {
		require.NotNil(t, v.Projected, v.Name)
		vols[v.Name] = v.Projected
	}
	assert.Equal(t, &pod.ProjectedVolume{Files: []pod.ProjectedFile{
		{Path: "LOG_LEVEL", Data: []byte("debug")}, {Path: "app.conf", Data: []byte("port=80\n")},
		{Path: "logo.bin", Data: []byte{0xff, 0x00, 0xfe}}, {Path: "ü", Data: []byte("not a name")},
	}}, vols["all"])
	assert.Equal(t, &pod.ProjectedVolume{Files: []pod.ProjectedFile{
		{Path: "conf/app.conf", Data: []byte("port=80\n"), Mode: 0o600},
		{Path: "logo", Data: []byte{0xff, 0x00, 0xfe}, Mode: 0o444},
	}}, vols["some"])
	assert.Equal(t, &pod.ProjectedVolume{Medium: pod.MediumMemory, Files: []pod.ProjectedFile{
		{Path: "password", Data: []byte("s3cret"), Mode: 0o400}, {Path: "user", Data: []byte("admin"), Mode: 0o400},
	}}, vols["creds"])
	assert.Equal(t, &pod.ProjectedVolume{Medium: pod.MediumMemory}, vols["none"])
	assert.Equal(t, &pod.ProjectedVolume{Medium: pod.MediumMemory, Files: []pod.ProjectedFile{
		{Path: "labels", Data: []byte("a=\"1\"\nb=\"2\"")},
		{Path: "ns", Data: []byte("shop")},
		{Path: "name", Field: pod.FieldPodName},
		{Path: "uid", Field: pod.FieldPodUID},
		{Path: "mem", Data: []byte("64")},
	}}, vols["info"])
	assert.Equal(t, &pod.ProjectedVolume{Medium: pod.MediumMemory, Files: []pod.ProjectedFile{
		{Path: "level", Data: []byte("debug"), Mode: 0o640},
		{Path: "user", Data: []byte("admin"), Mode: 0o640},
		{Path: "a", Data: []byte("1"), Mode: 0o640},
	}}, vols["mixed"])
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name     string
		spec     string
		sentinel error
		want     string
	}{
		{"missing ConfigMap", `    env: [{name: A, valueFrom: {configMapKeyRef: {name: nope, key: k}}}]`, kube.ErrInvalid,
			`spec.containers[0].env[0].valueFrom.configMapKeyRef: ConfigMap "nope" not found`},
		{"missing key", `    env: [{name: A, valueFrom: {secretKeyRef: {name: db, key: k}}}]`, kube.ErrInvalid,
			`spec.containers[0].env[0].valueFrom.secretKeyRef: Secret "db" has no key "k"`},
		{"missing envFrom", `    envFrom: [{secretRef: {name: nope}}]`, kube.ErrInvalid,
			`spec.containers[0].envFrom[0].secretRef: Secret "nope" not found`},
		{"missing volume", "  volumes: [{name: v, secret: {secretName: nope}}]", kube.ErrInvalid,
			`spec.volumes[0].secret: Secret "nope" not found`},
		{"missing item key", "  volumes: [{name: v, configMap: {name: app, items: [{key: nope, path: p}]}}]", kube.ErrInvalid,
			`spec.volumes[0].configMap.items[0].key: ConfigMap "app" has no key "nope"`},
		{"token", "  volumes: [{name: v, projected: {sources: [{serviceAccountToken: {path: t}}]}}]", kube.ErrUnsupported,
			`spec.volumes[0].projected.sources[0].serviceAccountToken: podkit has no API server to issue a service account token`},
		{"podIP in a volume", "  volumes: [{name: v, downwardAPI: {items: [{path: ip, fieldRef: {fieldPath: status.podIP}}]}}]", kube.ErrInvalid,
			`spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: "status.podIP": a downwardAPI volume takes`},
		{"all labels in env", `    env: [{name: L, valueFrom: {fieldRef: {fieldPath: metadata.labels}}}]`, kube.ErrInvalid,
			`spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: "metadata.labels": an environment variable takes one key`},
		{"unknown container", `    env: [{name: M, valueFrom: {resourceFieldRef: {containerName: x, resource: limits.memory}}}]`, kube.ErrInvalid,
			`spec.containers[0].env[0].valueFrom.resourceFieldRef.containerName: "x": no such container in the pod`},
		{"hugepages", `    env: [{name: M, valueFrom: {resourceFieldRef: {resource: limits.hugepages-2Mi}}}]`, kube.ErrUnsupported,
			`spec.containers[0].env[0].valueFrom.resourceFieldRef.resource: "limits.hugepages-2Mi"`},
		{"reference to a runtime field", "    env: [{name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}, {name: URL, value: \"http://$(IP)/\"}]", kube.ErrUnsupported,
			`spec.containers[0].env[1].value: $(IP) refers to status.podIP, known only when the pod starts`},
		{"bad mode", "  volumes: [{name: v, configMap: {name: app, defaultMode: 4096}}]", pod.ErrInvalidSpec,
			`.mode: invalid value "010000"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := "  containers:\n  - name: c\n    command: [\"true\"]\n"
			spec += tt.spec + "\n"
			_, err := configOptions().Load(manifest(spec))
			require.ErrorIs(t, err, tt.sentinel)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// A spec with projected volumes and field env comes back from Export,
// ExportConfig and Load.
func TestRoundTripConfig(t *testing.T) {
	spec := pod.Spec{
		Volumes: []pod.Volume{
			{Name: "conf", Projected: &pod.ProjectedVolume{Files: []pod.ProjectedFile{
				{Path: "app.conf", Data: []byte("port=80\n")},
				{Path: "dir/logo", Data: []byte{0xff, 0x01}, Mode: 0o600},
				{Path: "dir_logo", Data: []byte("clash")}, // its key would be dir/logo's
			}}},
			{Name: "secret", Projected: &pod.ProjectedVolume{Medium: pod.MediumMemory, Files: []pod.ProjectedFile{
				{Path: "token", Data: []byte("t0k"), Mode: 0o400},
				{Path: "name", Field: pod.FieldPodName},
				{Path: "uid", Field: pod.FieldPodUID, Mode: 0o444},
				{Path: "more", Data: []byte("x")},
			}}},
			{Name: "empty", Projected: &pod.ProjectedVolume{Medium: pod.MediumMemory}},
		},
		Containers: []pod.Container{{Name: "app", Image: "example.com/app:1", Command: []string{"app"},
			Env:      []string{"A=1"},
			FieldEnv: []pod.FieldEnv{{Name: "IP", Field: pod.FieldPodIP}, {Name: "NAME", Field: pod.FieldPodName}, {Name: "UID", Field: pod.FieldPodUID}},
			VolumeMounts: []pod.VolumeMount{{Name: "conf", MountPath: "/etc/conf"}, {Name: "secret", MountPath: "/etc/secret"},
				{Name: "empty", MountPath: "/etc/empty"}}}},
	}
	_, err := pod.New("cfg", spec)
	require.NoError(t, err)
	kp, err := kube.Export("cfg", spec, kube.ExportOptions{})
	require.NoError(t, err)
	cms, secs := kube.ExportConfig("cfg", spec)
	require.Len(t, cms, 1)
	require.Len(t, secs, 1)
	assert.Equal(t, "cfg-conf", cms[0].Name)
	assert.Equal(t, map[string]string{"app.conf": "port=80\n", "file-2": "clash"}, cms[0].Data)
	assert.Equal(t, map[string][]byte{"dir_logo": {0xff, 0x01}}, cms[0].BinaryData)
	assert.Equal(t, "cfg-secret", secs[0].Name)

	// Through YAML, as a user would keep them.
	data, err := kube.Marshal(kp)
	require.NoError(t, err)
	o := kube.LoadOptions{ConfigMaps: map[string]*corev1.ConfigMap{}, Secrets: map[string]*corev1.Secret{}}
	for _, cm := range cms {
		o.ConfigMaps[cm.Name] = viaYAML(t, cm)
	}
	for _, s := range secs {
		o.Secrets[s.Name] = viaYAML(t, s)
	}
	m, err := o.Load(data)
	require.NoError(t, err, "%s", data)
	assert.Equal(t, spec, m.Spec)

	// A field on disk has no Kubernetes counterpart.
	spec.Volumes[0].Projected.Files = append(spec.Volumes[0].Projected.Files, pod.ProjectedFile{Path: "uid", Field: pod.FieldPodUID})
	_, err = kube.Export("cfg", spec, kube.ExportOptions{})
	require.ErrorIs(t, err, kube.ErrUnsupported)
	assert.Contains(t, err.Error(), "spec.volumes[0].projected.files[3]: metadata.uid: a volume on disk holds no pod fields")
}

// viaYAML returns obj marshalled to YAML and decoded strictly.
func viaYAML[T any, PT interface {
	*T
	kruntime.Object
}](t *testing.T, obj PT) PT {
	t.Helper()
	b, err := kube.Marshal(obj)
	require.NoError(t, err)
	back := PT(new(T))
	require.NoError(t, yaml.UnmarshalStrict(b, back))
	return back
}
