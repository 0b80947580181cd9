package pod_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/pod"
)

// lineWaiter is a container's Stdout that lets a test wait for a line.
type lineWaiter struct {
	mu    sync.Mutex
	lines []string
	seen  map[string]chan struct{}
}

func newLineWaiter() *lineWaiter { return &lineWaiter{seen: make(map[string]chan struct{})} }

func (w *lineWaiter) ch(line string) chan struct{} {
	c, ok := w.seen[line]
	if !ok {
		c = make(chan struct{})
		w.seen[line] = c
	}
	return c
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		w.lines = append(w.lines, l)
		c := w.ch(l)
		select {
		case <-c:
		default:
			close(c)
		}
	}
	return len(p), nil
}

// wait returns once line has been written, and fails the test if it is
// not written in a long time.
func (w *lineWaiter) wait(t testing.TB, line string) {
	t.Helper()
	w.mu.Lock()
	c := w.ch(line)
	w.mu.Unlock()
	select {
	case <-c:
	case <-time.After(20 * time.Second):
		lines := w.all()
		t.Fatalf("timed out waiting for the line %q; last lines: %q", line, lines[max(0, len(lines)-5):])
	}
}

func (w *lineWaiter) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

func TestProjectedVolumeLayout(t *testing.T) {
	for _, medium := range []pod.StorageMedium{pod.MediumDefault, pod.MediumMemory} {
		t.Run(fmt.Sprintf("medium=%q", medium), func(t *testing.T) {
			out := newLineWaiter()
			state := t.TempDir()
			p, _, _ := startPod(t, "projected", pod.Spec{
				Volumes: []pod.Volume{{Name: "config", Projected: &pod.ProjectedVolume{Medium: medium, Files: []pod.ProjectedFile{
					{Path: "greeting", Data: []byte("hello")},
					{Path: "dir/secret", Data: []byte("s3cret"), Mode: 0o400},
					{Path: "name", Field: pod.FieldPodName},
					{Path: "uid", Field: pod.FieldPodUID},
				}}}},
				Containers: []pod.Container{{Name: "reader", Stdout: out, Command: []string{"sh", "-c",
					`cd /etc/config && echo "$(cat greeting) $(cat dir/secret) $(cat name) $(cat uid)"; ` +
						`stat -c '%a' ..data/dir/secret; readlink greeting; readlink dir; touch x 2>/dev/null || echo read-only; exec sleep 1000`},
					VolumeMounts: []pod.VolumeMount{{Name: "config", MountPath: "/etc/config"}}}},
			}, pod.WithStateDir(state), pod.WithUID("0b5f1a2e-1111-4222-8333-444455556666"))
			out.wait(t, "read-only")
			dir, err := p.VolumePath("config")
			require.NoError(t, err)
			// Memory is a tmpfs of the volume's own; the default medium is
			// the state directory's filesystem, whatever it is (a tmpfs
			// /tmp on some hosts).
			var st unix.Statfs_t
			require.NoError(t, unix.Statfs(dir, &st))
			var volStat, stateStat unix.Stat_t
			require.NoError(t, unix.Stat(dir, &volStat))
			require.NoError(t, unix.Stat(state, &stateStat))
			if medium == pod.MediumMemory {
				assert.Equal(t, int64(unix.TMPFS_MAGIC), int64(st.Type), "tmpfs")
				assert.NotEqual(t, stateStat.Dev, volStat.Dev, "the tmpfs is not a mount of its own")
			} else {
				assert.Equal(t, stateStat.Dev, volStat.Dev, "the volume is not on the state directory's filesystem")
			}
			ts, err := os.Readlink(filepath.Join(dir, "..data"))
			require.NoError(t, err)
			assert.Regexp(t, `^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$`, ts)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			assert.ElementsMatch(t, []string{"..data", ts, "greeting", "dir", "name", "uid"}, names)

			assert.Equal(t, []string{
				"hello s3cret projected 0b5f1a2e-1111-4222-8333-444455556666",
				"400", "..data/greeting", "..data/dir", "read-only",
			}, out.all())
		})
	}
}

// TestUpdateVolumeSeenByRunningContainer updates a volume under a
// container that reads it in a loop: the container sees each new content
// without a restart, and every read is of one whole version.
func TestUpdateVolumeSeenByRunningContainer(t *testing.T) {
	version := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 256<<10) }
	sum := func(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
	out := newLineWaiter()
	p, _, _ := startPod(t, "update", pod.Spec{
		Volumes: []pod.Volume{{Name: "config", Projected: &pod.ProjectedVolume{Files: []pod.ProjectedFile{
			{Path: "data", Data: version(0)}, {Path: "old", Data: []byte("gone soon")},
		}}}},
		Containers: []pod.Container{{Name: "reader", Stdout: out, Command: []string{"sh", "-c",
			`while :; do md5sum < /etc/config/data | cut -d' ' -f1; done`},
			VolumeMounts: []pod.VolumeMount{{Name: "config", MountPath: "/etc/config"}}}},
	}, pod.WithStateDir(t.TempDir()))
	out.wait(t, sum(version(0)))
	pid := statusOf(t, p, "reader").PID
	known := map[string]bool{sum(version(0)): true}
	const updates = 5
	for i := 1; i <= updates; i++ {
		require.NoError(t, p.UpdateVolume("config", []pod.ProjectedFile{{Path: "data", Data: version(i)}}))
		known[sum(version(i))] = true
		out.wait(t, sum(version(i)))
	}
	dir, err := p.VolumePath("config")
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "..data, one timestamped directory and data: the old ones and \"old\" are removed")
	_, err = os.Lstat(filepath.Join(dir, "old"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	cs := statusOf(t, p, "reader")
	assert.Equal(t, pid, cs.PID, "the container was not restarted")
	assert.Zero(t, cs.RestartCount)
	for _, l := range out.all() {
		assert.True(t, known[l], "a read saw a half-written file: %s", l)
	}

	err = p.UpdateVolume("config", []pod.ProjectedFile{{Path: "../escape", Data: []byte("x")}})
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	assert.Contains(t, err.Error(), "../escape")
	assert.ErrorContains(t, p.UpdateVolume("nope", nil), `no volume "nope"`)
}

func statusOf(t *testing.T, p *pod.Pod, name string) pod.ContainerStatus {
	t.Helper()
	cs, ok := p.Status().Container(name)
	require.True(t, ok)
	return cs
}

func TestUpdateVolumeNotRunning(t *testing.T) {
	p, err := pod.New("idle", pod.Spec{
		Volumes:    []pod.Volume{{Name: "config", Projected: &pod.ProjectedVolume{}}},
		Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
	})
	require.NoError(t, err)
	assert.ErrorIs(t, p.UpdateVolume("config", nil), pod.ErrNotRunning)
}

func TestProjectedVolumeValidation(t *testing.T) {
	for _, tc := range []struct {
		files []pod.ProjectedFile
		want  string
	}{
		{[]pod.ProjectedFile{{Path: ""}}, "files[0].path"},
		{[]pod.ProjectedFile{{Path: "/abs"}}, "must be relative"},
		{[]pod.ProjectedFile{{Path: "a/../b"}}, "must not contain '..'"},
		{[]pod.ProjectedFile{{Path: "..data"}}, "must not start with '..'"},
		{[]pod.ProjectedFile{{Path: "a"}, {Path: "a"}}, "duplicate path"},
		{[]pod.ProjectedFile{{Path: "a"}, {Path: "a/b"}}, `is a file and the directory of "a/b"`},
		{[]pod.ProjectedFile{{Path: "a", Mode: 0o4755}}, "files[0].mode"},
		{[]pod.ProjectedFile{{Path: "a", Field: pod.FieldPodIP}}, "must be metadata.name or metadata.uid"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := pod.New("v", pod.Spec{
				Volumes:    []pod.Volume{{Name: "config", Projected: &pod.ProjectedVolume{Files: tc.files}}},
				Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
			})
			require.ErrorIs(t, err, pod.ErrInvalidSpec)
			assert.Contains(t, err.Error(), "volumes[0].projected.files")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestFieldEnv(t *testing.T) {
	out := newLineWaiter()
	p, _, _ := startPod(t, "fieldenv", pod.Spec{
		Network: pod.Network{Mode: pod.NetworkBridged},
		Containers: []pod.Container{{Name: "env", Stdout: out, Command: []string{"sh", "-c",
			`echo "$NAME $UID_ $POD_IP $POD_IPS $HOST_IP $HOST_IPS"; exec sleep 1000`},
			Env: []string{"POD_IP=overridden"},
			FieldEnv: []pod.FieldEnv{{Name: "NAME", Field: pod.FieldPodName}, {Name: "UID_", Field: pod.FieldPodUID},
				{Name: "POD_IP", Field: pod.FieldPodIP}, {Name: "POD_IPS", Field: pod.FieldPodIPs},
				{Name: "HOST_IP", Field: pod.FieldHostIP}, {Name: "HOST_IPS", Field: pod.FieldHostIPs}}}},
	}, pod.WithStateDir(t.TempDir()))
	st := p.Status()
	require.NotEmpty(t, st.PodIP)
	line := fmt.Sprintf("fieldenv %s %s %s %s %s", p.UID(), st.PodIP, st.PodIP, st.HostIP, st.HostIP)
	out.wait(t, line)
	assert.Equal(t, []string{line}, out.all())
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, p.UID())

	_, err := pod.New("bad", pod.Spec{Containers: []pod.Container{{Name: "c", Command: []string{"true"},
		FieldEnv: []pod.FieldEnv{{Name: "A=B", Field: "status.phase"}}}}})
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	assert.Contains(t, err.Error(), "fieldEnv[0].name")
	assert.Contains(t, err.Error(), `fieldEnv[0].field: invalid value "status.phase"`)
}
