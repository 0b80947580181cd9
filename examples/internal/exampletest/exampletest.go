// Package exampletest checks the examples' manifests: each pod.yaml loads as
// podkit run loads it, and its Kubernetes export is the kubernetes.yaml
// checked in next to it.
package exampletest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/cmd/podkit/members"
	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

// UpdateEnv, set to 1, makes CheckManifest rewrite kubernetes.yaml.
const UpdateEnv = "PODKIT_UPDATE_MANIFESTS"

// Load loads dir/pod.yaml as podkit run does: ready-made members run
// in-process.
func Load(t testing.TB, dir string) *kube.Manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "pod.yaml"))
	require.NoError(t, err)
	m, err := kube.LoadOptions{Container: func(c pod.Container) (pod.Container, []string, error) {
		ip, warnings, _, err := members.InProcess(c)
		return ip, warnings, err
	}}.Load(data)
	require.NoError(t, err)
	return m
}

// CheckManifest checks that dir/kubernetes.yaml is the export of
// dir/pod.yaml with podkit's defaults, as podkit export writes it; with
// PODKIT_UPDATE_MANIFESTS=1 it writes the file instead.
func CheckManifest(t testing.TB, dir string) {
	t.Helper()
	m := Load(t, dir)
	p, err := pod.New(m.Name, m.Spec)
	require.NoError(t, err)
	kp, err := kube.Export(m.Name, p.Spec(), kube.ExportOptions{})
	require.NoError(t, err)
	require.NoError(t, kube.Validate(kp))
	data, err := kube.Marshal(kp)
	require.NoError(t, err)
	path := filepath.Join(dir, "kubernetes.yaml")
	if os.Getenv(UpdateEnv) == "1" {
		require.NoError(t, os.WriteFile(path, data, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run the test with %s=1 to write it", UpdateEnv)
	require.Equal(t, string(want), string(data), "%s is out of date: run the test with %s=1", path, UpdateEnv)
}
