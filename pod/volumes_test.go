package pod_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

func TestEmptyDirSharedAtDifferentPaths(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharedPID=%v", shared), func(t *testing.T) {
			state := t.TempDir()
			writerAt, readerAt := t.TempDir(), t.TempDir()
			p, rec, _ := startPod(t, "emptydir", pod.Spec{
				ShareProcessNamespace: shared,
				RestartPolicy:         pod.RestartNever,
				Volumes:               []pod.Volume{{Name: "shared", EmptyDir: &pod.EmptyDirVolume{}}},
				Containers: []pod.Container{
					{Name: "writer", Command: []string{"sh", "-c", "echo hello > $D/greeting"},
						Env: []string{"D=" + writerAt}, VolumeMounts: []pod.VolumeMount{{Name: "shared", MountPath: writerAt}}},
					{Name: "reader", Command: []string{"sh", "-c",
						"while [ ! -e $D/greeting ]; do sleep 0.01; done; cat $D/greeting; touch $D/mine || echo refused"},
						Env: []string{"D=" + readerAt}, VolumeMounts: []pod.VolumeMount{{Name: "shared", MountPath: readerAt, ReadOnly: true}}},
				},
			}, pod.WithStateDir(state))
			rec.until("reader done", isReason(pod.EventExited, "reader"))
			assert.Equal(t, "hello", logText(t, p, "reader", pod.LogOptions{})[0])
			assert.Contains(t, logText(t, p, "reader", pod.LogOptions{}), "refused", "a read-only mount took a write")
			errs, err := p.Logs("reader", pod.LogOptions{})
			require.NoError(t, err)
			assert.Contains(t, fmt.Sprint(errs), "Read-only file system")

			// The mounts stayed in the containers' mount namespaces.
			for _, d := range []string{writerAt, readerAt} {
				entries, err := os.ReadDir(d)
				require.NoError(t, err)
				assert.Empty(t, entries, "a volume mount leaked to the host at %s", d)
			}
			require.NoError(t, p.Wait())
			pods, err := os.ReadDir(filepath.Join(state, "pods"))
			require.NoError(t, err)
			assert.Empty(t, pods, "the emptyDir outlived its pod")
		})
	}
}

func TestMemoryEmptyDirSizeLimit(t *testing.T) {
	state, at := t.TempDir(), t.TempDir()
	p, rec, _ := startPod(t, "tmpfs", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Volumes:       []pod.Volume{{Name: "mem", EmptyDir: &pod.EmptyDirVolume{Medium: pod.MediumMemory, SizeLimit: 1 << 20}}},
		Containers: []pod.Container{{Name: "c", Command: []string{"sh", "-c",
			"df -k $D | tail -1; head -c 2000000 /dev/zero > $D/big || echo full"},
			Env: []string{"D=" + at}, VolumeMounts: []pod.VolumeMount{{Name: "mem", MountPath: at}}}},
	}, pod.WithStateDir(state))
	rec.until("done", isReason(pod.EventExited, "c"))
	lines := logText(t, p, "c", pod.LogOptions{})
	require.GreaterOrEqual(t, len(lines), 2, "%q", lines)
	assert.True(t, strings.HasPrefix(lines[0], "tmpfs"), "%q", lines)
	assert.Contains(t, lines, "full")
	_ = p.Wait()
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	assert.NotContains(t, string(mounts), state, "the tmpfs outlived its pod")
}

// busyboxRootfs builds a root filesystem holding only a static busybox.
func busyboxRootfs(t testing.TB) string {
	t.Helper()
	requireTool(t, "busybox")
	bb, err := exec.LookPath("busybox")
	require.NoError(t, err)
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	data, err := os.ReadFile(bb)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755))
	for _, applet := range []string{"sh", "ls", "cat", "touch", "id", "echo", "sleep", "hostname", "mount"} {
		require.NoError(t, os.Symlink("busybox", filepath.Join(root, "bin", applet)))
	}
	return root
}

func TestRootfs(t *testing.T) {
	root := busyboxRootfs(t)
	marker := filepath.Join("/tmp", fmt.Sprintf("podkit-host-only-%d", time.Now().UnixNano()))
	require.NoError(t, os.WriteFile(marker, nil, 0o644))
	defer os.Remove(marker)
	state := t.TempDir()
	nobody, no := int64(65534), false
	p, rec, _ := startPod(t, "rootfs", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Hostname:      "jail",
		Volumes:       []pod.Volume{{Name: "data", EmptyDir: &pod.EmptyDirVolume{}}},
		Containers: []pod.Container{
			{Name: "c", RootFS: root, WorkingDir: "/data",
				VolumeMounts:    []pod.VolumeMount{{Name: "data", MountPath: "/data"}},
				SecurityContext: &pod.SecurityContext{ReadOnlyRootFilesystem: true},
				Command: []string{"sh", "-c", `ls /; test -e ` + marker + ` && echo host-visible || echo host-hidden; ` +
					`touch /etc-nope 2>/dev/null && echo root-writable || echo root-read-only; ` +
					`touch ./ok && echo data-writable; hostname; cat /proc/1/cmdline | tr '\0' ' '; echo; sleep 1000`}},
			{Name: "locked", RootFS: root, Command: []string{"sh", "-c", "id -u; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status"},
				SecurityContext: &pod.SecurityContext{RunAsUser: &nobody, AllowPrivilegeEscalation: &no,
					Capabilities: &pod.Capabilities{Drop: []string{"ALL"}}}},
		},
	}, pod.WithStateDir(state))
	rec.until("running", isPhase(pod.PhaseRunning))
	waitLogs(t, p, "c", 10)
	lines := logText(t, p, "c", pod.LogOptions{})
	assert.Equal(t, []string{"bin", "data", "dev", "proc", "sys"}, lines[:5], "%q", lines)
	assert.Contains(t, lines, "host-hidden")
	assert.Contains(t, lines, "root-read-only")
	assert.Contains(t, lines, "data-writable")
	assert.Contains(t, lines, "jail")
	assert.Contains(t, strings.Join(lines, "\n"), "podkit-init /bin/sh -- sh -c", "/proc is not the container's")
	if index(rec, pod.EventExited, "locked") < 0 {
		rec.until("locked exit", isReason(pod.EventExited, "locked"))
	}
	assert.Equal(t, []string{"65534", "CapEff:\t0000000000000000", "NoNewPrivs:\t1"}, logText(t, p, "locked", pod.LogOptions{}))

	var out strings.Builder
	cmd := exec.Command("ls", "/data")
	cmd.Stdout = &out
	require.NoError(t, p.Exec(context.Background(), "c", cmd))
	assert.Equal(t, "ok\n", out.String(), "exec does not see the container's filesystem")
}

func TestVolumeValidation(t *testing.T) {
	existing := t.TempDir()
	vol := pod.Volume{Name: "v", EmptyDir: &pod.EmptyDirVolume{}}
	tests := []struct {
		name string
		vols []pod.Volume
		c    pod.Container
		want string
	}{
		{"unknown volume", nil, pod.Container{VolumeMounts: []pod.VolumeMount{{Name: "nope", MountPath: existing}}},
			`volumeMounts[0].name: invalid value "nope": no volume of that name in the pod`},
		{"relative mount path", []pod.Volume{vol}, pod.Container{VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "data"}}},
			`volumeMounts[0].mountPath: invalid value "data": must be an absolute path`},
		{"escaping mount path", []pod.Volume{vol}, pod.Container{RootFS: existing, VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "/a/../../etc"}}},
			`mountPath: invalid value "/a/../../etc": must not contain '..'`},
		{"duplicate mount path", []pod.Volume{vol}, pod.Container{RootFS: existing, VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "/d"}, {Name: "v", MountPath: "/d/"}}},
			`volumeMounts[1].mountPath: invalid value "/d/": duplicate mount path`},
		{"missing host mount point", []pod.Volume{vol}, pod.Container{SharedHostFilesystem: true, VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "/no/such/dir"}}},
			`volumeMounts[0].mountPath: invalid value "/no/such/dir": does not exist on the host, and a container that shares the host's filesystem cannot create it`},
		{"missing rootfs", nil, pod.Container{RootFS: "/no/such/rootfs"},
			`rootfs: invalid value "/no/such/rootfs": not an existing directory`},
		{"two sources", []pod.Volume{{Name: "v", EmptyDir: &pod.EmptyDirVolume{}, HostPath: &pod.HostPathVolume{Path: "/"}}}, pod.Container{},
			`volumes[0]: invalid value "v": exactly one of emptyDir, hostPath and projected must be set`},
		{"missing host path", []pod.Volume{{Name: "v", HostPath: &pod.HostPathVolume{Path: "/no/such/path"}}}, pod.Container{},
			`volumes[0].hostPath.path: invalid value "/no/such/path": does not exist on the host`},
		{"bad medium", []pod.Volume{{Name: "v", EmptyDir: &pod.EmptyDirVolume{Medium: "Disk"}}}, pod.Container{},
			`volumes[0].emptyDir.medium: invalid value "Disk"`},
		{"duplicate volume", []pod.Volume{vol, vol}, pod.Container{}, `volumes[1].name: invalid value "v": duplicate volume name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Name, c.Command = "c", []string{"true"}
			_, err := pod.New("p", pod.Spec{
				Volumes:    tt.vols,
				Containers: []pod.Container{c},
			})
			require.ErrorIs(t, err, pod.ErrInvalidSpec)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestHostPath(t *testing.T) {
	host, at := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(host, "from-host"), []byte("hi\n"), 0o644))
	p, rec, _ := startPod(t, "hostpath", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Volumes:       []pod.Volume{{Name: "h", HostPath: &pod.HostPathVolume{Path: host}}},
		Containers: []pod.Container{{Name: "c", Command: []string{"sh", "-c", "cat $D/from-host; echo back > $D/from-pod"},
			Env: []string{"D=" + at}, VolumeMounts: []pod.VolumeMount{{Name: "h", MountPath: at}}}},
	})
	rec.until("done", isPhase(pod.PhaseSucceeded))
	assert.Equal(t, []string{"hi"}, logText(t, p, "c", pod.LogOptions{}))
	data, err := os.ReadFile(filepath.Join(host, "from-pod"))
	require.NoError(t, err)
	assert.Equal(t, "back\n", string(data))
	assert.DirExists(t, host, "a hostPath volume is the host's: it stays")
}

// TestMountTargetsStayInRootfs is issue 14's root filesystem holding
// "data -> /tmp/escape" and a relative "../../.." variant: mount paths
// /data/sub created /tmp/escape/sub on the host, and the pod Succeeded with
// its volume missing. Every component is now resolved inside the root
// filesystem, and a mount that cannot be placed there (a link to a
// directory the root filesystem lacks, a file on the path) fails its
// container with the reason.
func TestMountTargetsStayInRootfs(t *testing.T) {
	root := busyboxRootfs(t)
	escape := fmt.Sprintf("/tmp/podkit-escape-%d", time.Now().UnixNano())
	escapeRel, gone := escape+"-rel", escape+"-gone"
	for _, d := range []string{escape, escapeRel, gone} {
		// The host has the links' targets; the first two the root
		// filesystem has too.
		require.NoError(t, os.Mkdir(d, 0o755))
		t.Cleanup(func() { os.RemoveAll(d) })
	}
	require.NoError(t, os.MkdirAll(filepath.Join(root, escape), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, escapeRel), 0o755))
	require.NoError(t, os.Symlink(escape, filepath.Join(root, "data")))
	require.NoError(t, os.Symlink("../../../../../../.."+escapeRel, filepath.Join(root, "rel")))
	require.NoError(t, os.Symlink(gone, filepath.Join(root, "gone")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "file"), nil, 0o644))

	p, rec, _ := startPod(t, "mount-links", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Volumes:       []pod.Volume{{Name: "v", EmptyDir: &pod.EmptyDirVolume{}}},
		Containers: []pod.Container{
			{Name: "c", RootFS: root, Command: []string{"sh", "-c", "echo inside > /data/sub/f && cat /rel/sub/f"},
				VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "/data/sub"}, {Name: "v", MountPath: "/rel/sub"}}},
			{Name: "dangling", RootFS: root, Command: []string{"echo"},
				VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "/gone/sub"}}},
			{Name: "blocked", RootFS: root, Command: []string{"echo"},
				VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "/file/sub"}}},
		},
	})
	rec.until("c done", isReason(pod.EventExited, "c"))
	require.Error(t, p.Wait(), "a container whose mount cannot be placed fails the pod")
	assert.Equal(t, []string{"inside"}, logText(t, p, "c", pod.LogOptions{}), "both mounts are the volume")
	for _, d := range []string{escape, escapeRel, gone} {
		entries, err := os.ReadDir(d)
		require.NoError(t, err)
		assert.Empty(t, entries, "a mount path followed a link out of the root filesystem to %s", d)
	}
	assert.DirExists(t, filepath.Join(root, escape, "sub"), "the link is resolved inside the root filesystem")
	assert.DirExists(t, filepath.Join(root, escapeRel, "sub"), "the link is resolved inside the root filesystem")

	st := p.Status()
	assert.Equal(t, pod.PhaseFailed, st.Phase)
	want := map[string]string{
		"dangling": "mount /gone/sub: cannot place it inside the root filesystem",
		"blocked":  "mount /file/sub: cannot place it inside the root filesystem",
	}
	for _, cs := range st.Containers {
		require.NotNil(t, cs.State.Terminated, cs.Name)
		if msg, ok := want[cs.Name]; ok {
			assert.Equal(t, pod.ReasonStartError, cs.State.Terminated.Reason, cs.Name)
			assert.Contains(t, cs.State.Terminated.Message, msg)
		} else {
			assert.Equal(t, 0, cs.State.Terminated.ExitCode, cs.Name)
		}
	}
}

// TestStateTreeClosed is issue 14's local user who wrote into every
// running pod's volumes through /var/lib/podkit/pods/<pod>/volumes (each
// directory 0755, each emptyDir 0777). The tree is now 0700 down to the
// volumes, narrowed where it existed wider; a non-root container of the
// pod still writes its emptyDir through its mount, and a Memory emptyDir
// without a size limit is bounded by the pod's memory limit.
func TestStateTreeClosed(t *testing.T) {
	requireRoot(t)
	state, err := os.MkdirTemp("/tmp", "podkit-state-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(state) })
	// The tree as it was: open to everyone.
	require.NoError(t, os.Chmod(state, 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(state, "pods"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(state, "pods"), 0o755))

	// Mount points a non-root container can reach on the host's filesystem.
	at, err := os.MkdirTemp("/tmp", "podkit-at-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(at) })
	require.NoError(t, os.Chmod(at, 0o755))
	for _, d := range []string{"data", "mem"} {
		require.NoError(t, os.Mkdir(filepath.Join(at, d), 0o755))
	}

	user := int64(1000)
	p, rec, _ := startPod(t, "closed", pod.Spec{
		Resources: pod.Resources{MemoryLimit: 64 << 20},
		Volumes: []pod.Volume{{Name: "data", EmptyDir: &pod.EmptyDirVolume{}},
			{Name: "mem", EmptyDir: &pod.EmptyDirVolume{Medium: pod.MediumMemory}}},
		Containers: []pod.Container{{Name: "c", Command: []string{"sh", "-c", "echo mine > $D/data/f && df -k $D/mem | tail -1 && sleep 1000"},
			Env: []string{"D=" + at}, SecurityContext: &pod.SecurityContext{RunAsUser: &user},
			VolumeMounts: []pod.VolumeMount{{Name: "data", MountPath: filepath.Join(at, "data")}, {Name: "mem", MountPath: filepath.Join(at, "mem")}}}},
	}, pod.WithStateDir(state))
	rec.until("running", isPhase(pod.PhaseRunning))
	waitLogs(t, p, "c", 1)
	fields := strings.Fields(logText(t, p, "c", pod.LogOptions{})[0])
	require.GreaterOrEqual(t, len(fields), 2)
	assert.Equal(t, "65536", fields[1], "the Memory emptyDir is not bounded by the pod's memory limit")

	owners, err := filepath.Glob(filepath.Join(state, "pods", "closed_*"))
	require.NoError(t, err)
	require.Len(t, owners, 1)
	for dir, want := range map[string]os.FileMode{
		state: 0o700, filepath.Join(state, "pods"): 0o700, owners[0]: 0o700, filepath.Join(owners[0], "volumes"): 0o700,
		filepath.Join(owners[0], "volumes", "data"): 0o777,
	} {
		fi, err := os.Stat(dir)
		require.NoError(t, err)
		assert.Equal(t, want, fi.Mode().Perm(), dir)
	}
	data, err := os.ReadFile(filepath.Join(owners[0], "volumes", "data", "f"))
	require.NoError(t, err)
	assert.Equal(t, "mine\n", string(data), "the container's user wrote its emptyDir")

	// Another local user can neither plant a file nor fill the tmpfs.
	for _, vol := range []string{"data", "mem"} {
		planter := exec.Command("sh", "-c", "echo planted > "+filepath.Join(owners[0], "volumes", vol, "planted"))
		planter.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
		out, err := planter.CombinedOutput()
		assert.Error(t, err, "a local user wrote into volume %s", vol)
		assert.Contains(t, string(out), "Permission denied")
	}
}

// TestReadOnlyVolumeMounts: a read-only mount is read-only with the mounts
// under its source, in a root filesystem and in a view of the host's.
func TestReadOnlyVolumeMounts(t *testing.T) {
	requireRoot(t)
	src := t.TempDir()
	sub := filepath.Join(src, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	require.NoError(t, syscall.Mount("tmpfs", sub, "tmpfs", 0, "size=64k"))
	t.Cleanup(func() { _ = syscall.Unmount(sub, syscall.MNT_DETACH) })
	try := `for f in /v/f /v/sub/f /w/f; do touch $f 2>/dev/null && echo $f written || echo $f refused; done`
	spec := func(name, root string) pod.Container {
		return pod.Container{Name: name, RootFS: root, Command: []string{"sh", "-c", try},
			VolumeMounts: []pod.VolumeMount{{Name: "host", MountPath: "/v", ReadOnly: true}, {Name: "host", MountPath: "/w"}}}
	}
	p, rec, _ := startPod(t, "ro-mounts", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Volumes:       []pod.Volume{{Name: "host", HostPath: &pod.HostPathVolume{Path: src}}},
		Containers:    []pod.Container{spec("rootfs", busyboxRootfs(t)), spec("host-view", "")},
	})
	rec.until("rootfs done", isReason(pod.EventExited, "rootfs"))
	if index(rec, pod.EventExited, "host-view") < 0 {
		rec.until("host-view done", isReason(pod.EventExited, "host-view"))
	}
	require.NoError(t, p.Wait())
	for _, c := range []string{"rootfs", "host-view"} {
		assert.Equal(t, []string{"/v/f refused", "/v/sub/f refused", "/w/f written"}, logText(t, p, c, pod.LogOptions{}), c)
	}
}
