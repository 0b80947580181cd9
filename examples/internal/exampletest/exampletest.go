// Package exampletest checks the examples' manifests: each pod.yaml loads as
// podkit run loads it, and its Kubernetes export is the kubernetes.yaml
// checked in next to it.
package exampletest

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/cmd/podkit/members"
	"github.com/podkit/podkit/image"
	"github.com/podkit/podkit/image/imagetest"
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

// BusyboxImage is the image the examples' manifests run their programs
// from.
const BusyboxImage = "busybox:1.36"

// Images returns an image store, in a temporary directory, holding
// BusyboxImage built from the host's static busybox with every applet
// (imagetest.BusyboxApplets), so that a test runs a manifest without
// pulling from Docker Hub. It needs the busybox command; without it the
// test is skipped, or fails under CI=true.
func Images(t testing.TB) *image.Store {
	t.Helper()
	return imagetest.Store(t, map[string]v1.Image{BusyboxImage: imagetest.BusyboxApplets(t)})
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
