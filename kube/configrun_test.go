package kube_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

// lines is a container's Stdout that lets a test wait for a line.
type lines struct {
	mu      sync.Mutex
	all     []string
	changed chan struct{}
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, strings.Split(strings.TrimSuffix(string(p), "\n"), "\n")...)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// wait returns the lines once one satisfies ok, and fails the test if
// none does for a long time.
func (l *lines) wait(t *testing.T, what string, ok func(string) bool) []string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		l.mu.Lock()
		all, changed := append([]string(nil), l.all...), l.changed
		l.mu.Unlock()
		for _, s := range all {
			if ok(s) {
				return all
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("timed out waiting for %s; lines: %q", what, all)
		}
	}
}

const configPod = `apiVersion: v1
kind: Pod
metadata:
  name: cfg
  labels: {app: cfg}
spec:
  containers:
  - name: app
    command: [sh, -c]
    args:
    - |
      echo "env LOG_LEVEL=$LOG_LEVEL PASSWORD=$PASSWORD OPTIONAL=${OPTIONAL-unset} POD_IP=$POD_IP NAME=$POD_NAME UID=$POD_UID MEM=$MEM_MI CPU=$CPU_M"
      echo "files $(cat /etc/app/LOG_LEVEL) $(cat /etc/db/password) $(stat -c %a /etc/db/..data/password) $(readlink /etc/app/LOG_LEVEL) $(cat /etc/info/labels)"
      echo "optional $(ls -A /etc/opt | grep -vc '^\.\.')"
      while :; do echo "level $(cat /etc/app/LOG_LEVEL)"; sleep 0.05; done
    resources:
      limits: {cpu: 250m, memory: 64Mi}
    env:
    - {name: LOG_LEVEL, valueFrom: {configMapKeyRef: {name: app, key: LOG_LEVEL}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
    - {name: OPTIONAL, valueFrom: {configMapKeyRef: {name: absent, key: x, optional: true}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: CPU_M, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}
    volumeMounts:
    - {name: app, mountPath: /etc/app}
    - {name: db, mountPath: /etc/db}
    - {name: info, mountPath: /etc/info}
    - {name: opt, mountPath: /etc/opt}
  volumes:
  - {name: app, configMap: {name: app}}
  - {name: db, secret: {secretName: db, defaultMode: 0400}}
  - {name: opt, configMap: {name: absent, optional: true}}
  - name: info
    downwardAPI:
      items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]
`

// A manifest with ConfigMaps, Secrets and the downward API runs: the
// container's environment and files are what Kubernetes would give it,
// and a changed ConfigMap reaches the running container.
func TestConfigPodRuns(t *testing.T) {
	testenv.RequireRoot(t)
	o := configOptions()
	m, err := o.Load([]byte(configPod))
	require.NoError(t, err)
	m.Spec.Network = pod.Network{Mode: pod.NetworkBridged} // an address of its own
	out := newLines()
	m.Spec.Containers[0].Stdout = out
	p, err := pod.New(m.Name, m.Spec, pod.WithStateDir(t.TempDir()))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, p.Start(ctx))
	t.Cleanup(func() {
		cancel()
		_ = p.Wait()
	})
	all := out.wait(t, "the first level", func(s string) bool { return strings.HasPrefix(s, "level ") })
	ip := p.Status().PodIP
	require.NotEmpty(t, ip)
	assert.Equal(t, []string{
		fmt.Sprintf("env LOG_LEVEL=debug PASSWORD=s3cret OPTIONAL=unset POD_IP=%s NAME=cfg UID=%s MEM=64 CPU=250", ip, p.UID()),
		`files debug s3cret 400 ..data/LOG_LEVEL app="cfg"`,
		"optional 0",
		"level debug",
	}, all[:4])

	o.ConfigMaps["app"].Data["LOG_LEVEL"] = "info"
	files, err := o.ProjectedFiles(m.Pod, "app")
	require.NoError(t, err)
	require.NoError(t, p.UpdateVolume("app", files))
	out.wait(t, "the new level", func(s string) bool { return s == "level info" })
	cs, ok := p.Status().Container("app")
	require.True(t, ok)
	assert.Zero(t, cs.RestartCount)

	delete(o.ConfigMaps, "app")
	_, err = o.ProjectedFiles(m.Pod, "app")
	require.ErrorIs(t, err, kube.ErrInvalid)
	assert.ErrorContains(t, err, `spec.volumes[0].configMap: ConfigMap "app" not found`)
	_, err = o.ProjectedFiles(&corev1.Pod{}, "app")
	assert.ErrorContains(t, err, `no volume "app"`)
}
