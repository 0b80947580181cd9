package pod_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// A subPath mounts a file or a directory of a volume, creates a missing
// one, and resolves links a container planted in the volume inside it:
// neither an absolute link nor one climbing out reaches the host's files,
// and a link to a host directory the volume lacks fails the container's
// start instead of creating anything.
func TestSubPath(t *testing.T) {
	root := busyboxRootfs(t)
	hostDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(hostDir, "secret"), []byte("host\n"), 0o600))
	p, rec, _ := startPod(t, "subpath", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Volumes:       []pod.Volume{{Name: "v", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{{Name: "plant", Command: []string{"sh", "-c",
			`mkdir -p /v/conf && echo hi > /v/conf/app.conf && ln -s ` + hostDir + ` /v/escape && ln -s /conf /v/abs && ln -s ../../../../../../.. /v/up`},
			VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "/v"}}}},
		Containers: []pod.Container{{Name: "c", RootFS: root, Command: []string{"sh", "-c",
			`cat /conf/app.conf; cat /app.conf; touch /new/x && echo made; cat /abs/app.conf; echo up:; ls /up`},
			VolumeMounts: []pod.VolumeMount{
				{Name: "v", MountPath: "/conf", SubPath: "conf"},
				{Name: "v", MountPath: "/app.conf", SubPath: "conf/app.conf", ReadOnly: true},
				{Name: "v", MountPath: "/new", SubPath: "made/here"},
				{Name: "v", MountPath: "/abs", SubPath: "abs"},
				{Name: "v", MountPath: "/up", SubPath: "up"},
			}},
			{Name: "out", RootFS: root, Command: []string{"ls", "/esc"},
				VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "/esc", SubPath: "escape"}}},
		},
	})
	failed := rec.until("out failed", isReason(pod.EventFailed, "out"))
	assert.Contains(t, failed.Message, "mount /esc: subPath escape: ")
	rec.until("c exited", isReason(pod.EventExited, "c"))
	lines := logText(t, p, "c", pod.LogOptions{})
	require.GreaterOrEqual(t, len(lines), 5, "%q", lines)
	assert.Equal(t, []string{"hi", "hi", "made", "hi", "up:"}, lines[:5], "%q", lines)
	assert.Contains(t, lines[5:], "conf", "a link climbing out of the volume did not stop at its root: %q", lines)
	assert.NotContains(t, lines[5:], "proc", "a link climbing out of the volume reached the host's root: %q", lines)

	vol, err := p.VolumePath("v")
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(vol, "made/here/x"), "the missing subPath was not created in the volume")
	data, err := os.ReadFile(filepath.Join(hostDir, "secret"))
	require.NoError(t, err)
	assert.Equal(t, "host\n", string(data))
	entries, err := os.ReadDir(hostDir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "something was created in the host's directory")
}

func TestSubPathValidation(t *testing.T) {
	for _, tc := range []struct{ sub, want string }{
		{"/abs", `volumeMounts[0].subPath: invalid value "/abs": must be a relative path`},
		{"a/../../b", `volumeMounts[0].subPath: invalid value "a/../../b": must not contain '..'`},
	} {
		_, err := pod.New("p", pod.Spec{
			Volumes: []pod.Volume{{Name: "v", EmptyDir: &pod.EmptyDirVolume{}}},
			Containers: []pod.Container{{Name: "c", Command: []string{"true"}, RootFS: t.TempDir(),
				VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "/m", SubPath: tc.sub}}}},
		})
		require.ErrorIs(t, err, pod.ErrInvalidSpec)
		assert.ErrorContains(t, err, tc.want)
	}
}
