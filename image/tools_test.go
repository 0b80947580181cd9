package image_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/image"
	"github.com/podkit/podkit/image/imagetest"
	"github.com/podkit/podkit/internal/testenv"
)

func run(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
}

// Archives written by skopeo (OCI archive, docker-archive) load.
func TestLoadSkopeoArchives(t *testing.T) {
	testenv.RequireTool(t, "skopeo")
	dir := filepath.Join(t.TempDir(), "layout")
	imagetest.WriteLayout(t, dir, map[string]any{"example.com/busybox:1": imagetest.Busybox(t)})
	tmp := t.TempDir()
	oci := filepath.Join(tmp, "oci.tar")
	docker := filepath.Join(tmp, "docker.tar")
	run(t, nil, "skopeo", "copy", "oci:"+dir+":example.com/busybox:1", "oci-archive:"+oci+":example.com/busybox:1")
	run(t, nil, "skopeo", "copy", "oci:"+dir+":example.com/busybox:1", "docker-archive:"+docker+":example.com/busybox:1")
	for _, p := range []string{oci, docker} {
		s := open(t)
		loaded, err := s.Load(context.Background(), p)
		require.NoError(t, err, p)
		require.Len(t, loaded, 1)
		assert.Equal(t, []string{"example.com/busybox:1"}, loaded[0].Names, p)
		img := lookup(t, s, "example.com/busybox:1")
		assert.FileExists(t, filepath.Join(img.Layers[0], "bin/busybox"))
	}
}

// A docker-archive written by podman save loads, with podman's image ID.
// podman runs with its own storage and configuration, so the host's
// are untouched.
func TestLoadPodmanSave(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "podman")
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "containers.conf")
	// load and save run no container, so any installed runtime does;
	// runc is preferred as crun fails on hybrid-cgroup hosts.
	runtime := "runc"
	if _, err := exec.LookPath("runc"); err != nil {
		runtime = "crun"
	}
	require.NoError(t, os.WriteFile(conf, []byte("[engine]\nruntime = \""+runtime+"\"\n"), 0o644))
	env := []string{"CONTAINERS_CONF=" + conf}
	podman := func(args ...string) []string {
		return append([]string{"--root", filepath.Join(tmp, "root"), "--runroot", filepath.Join(tmp, "runroot"),
			"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"}, args...)
	}
	in := filepath.Join(tmp, "in.tar")
	imagetest.WriteDockerArchive(t, in, map[string]v1.Image{"example.com/busybox:1": imagetest.Busybox(t)})
	run(t, env, "podman", podman("load", "-q", "-i", in)...)
	out := filepath.Join(tmp, "out.tar")
	run(t, env, "podman", podman("save", "-q", "--format", "docker-archive", "-o", out, "example.com/busybox:1")...)
	id, err := exec.Command("podman", podman("image", "inspect", "--format", "{{.Id}}", "example.com/busybox:1")...).Output()
	require.NoError(t, err)

	s := open(t)
	loaded, err := s.Load(context.Background(), out)
	require.NoError(t, err)
	require.Len(t, loaded, 1)
	assert.Equal(t, "sha256:"+string(trimNL(id)), loaded[0].ID)
	img := lookup(t, s, "example.com/busybox:1")
	assert.FileExists(t, filepath.Join(img.Layers[0], "bin/busybox"))
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// umoci reads the store's layout and lists its names.
func TestUmociReadsStore(t *testing.T) {
	testenv.RequireTool(t, "umoci")
	s := open(t)
	_, err := s.Import(context.Background(), bytes.NewReader(rootfs(t)), "example.com/rootfs:1", image.ImportConfig{})
	require.NoError(t, err)
	out, err := exec.Command("umoci", "ls", "--layout", filepath.Join(s.Dir(), "oci")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "example.com/rootfs:1\n", string(out))
}
