package pod_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// hostViewTag names files that containers write where the host must not see
// them, unique to one test run.
func hostViewTag(t *testing.T) string {
	t.Helper()
	tag := fmt.Sprintf("podkit-hostview-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		for _, p := range []string{"/tmp", "/usr", "/"} {
			_ = os.RemoveAll(filepath.Join(p, tag))
		}
	})
	return tag
}

// TestHostViewWritesStayPrivate: a container without an image or RootFS
// reads the host's files, but its writes (to /tmp, to /usr) reach neither
// the host nor a second container; a mount path the host lacks is created
// in its layer only; the state directory is hidden from it; and nothing of
// the pod stays in the state directory once it has ended.
func TestHostViewWritesStayPrivate(t *testing.T) {
	state := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(state, "sentinel"), nil, 0o600))
	tag := hostViewTag(t)
	tmpFile, usrFile, mountAt := "/tmp/"+tag, "/usr/"+tag, "/"+tag+"/data"
	p, rec, _ := startPod(t, "hostview", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Volumes:       []pod.Volume{stateVolume()},
		InitContainers: []pod.Container{{Name: "writer",
			VolumeMounts: []pod.VolumeMount{{Name: "state", MountPath: mountAt}},
			Command: []string{"sh", "-c", fmt.Sprintf(`head -1 /etc/passwd; echo mine > %[1]s && echo mine > %[2]s && cat %[1]s %[2]s
echo in-volume > %[3]s/f; ls -A %[4]s; echo listed`, tmpFile, usrFile, mountAt, state)}}},
		Containers: []pod.Container{{Name: "reader", VolumeMounts: stateMount(),
			Command: []string{"sh", "-c", fmt.Sprintf(`for f in %s %s /%s; do test -e $f && echo $f seen || echo $f unseen; done
cat /run/state/f`, tmpFile, usrFile, tag)}}},
	}, pod.WithStateDir(state))
	rec.until("succeeded", isPhase(pod.PhaseSucceeded))
	require.NoError(t, p.Wait())

	passwd, err := os.ReadFile("/etc/passwd")
	require.NoError(t, err)
	first, _, _ := strings.Cut(string(passwd), "\n")
	assert.Equal(t, []string{first, "mine", "mine", "listed"}, logText(t, p, "writer", pod.LogOptions{}),
		"the writer reads the host's files, writes its own, and sees nothing of the state directory")
	assert.Equal(t, []string{tmpFile + " unseen", usrFile + " unseen", "/" + tag + " unseen", "in-volume"},
		logText(t, p, "reader", pod.LogOptions{}), "a second container sees the host's files, not the first one's writes")
	for _, f := range []string{tmpFile, usrFile, "/" + tag} {
		assert.NoFileExists(t, f, "a container's write reached the host")
		assert.NoDirExists(t, f, "a container's mount path was created on the host")
	}
	pods, err := os.ReadDir(filepath.Join(state, "pods"))
	require.NoError(t, err)
	assert.Empty(t, pods, "the pod's writable layers or volumes outlived it")
}

// TestSharedHostFilesystem: a container that opts in writes the host's
// files, as a program started on the host would.
func TestSharedHostFilesystem(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string { return "echo " + name + " > " + filepath.Join(dir, name) }
	_, rec, _ := startPod(t, "shared-host", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers: []pod.Container{
			{Name: "shared", SharedHostFilesystem: true, Command: []string{"sh", "-c", write("shared")}},
			{Name: "private", Command: []string{"sh", "-c", write("private")}},
		},
	})
	rec.until("succeeded", isPhase(pod.PhaseSucceeded))
	data, err := os.ReadFile(filepath.Join(dir, "shared"))
	require.NoError(t, err, "the shared container's write did not reach the host")
	assert.Equal(t, "shared\n", string(data))
	assert.NoFileExists(t, filepath.Join(dir, "private"))
}

// TestHostViewReadOnlyRootFilesystem: a read-only root refuses writes in
// every mount of the host's view, a separate one (a tmpfs standing for a
// /tmp of its own) included; volumes stay writable. Each mount of the view
// keeps the host mount's nosuid, nodev and noexec, read-only or not.
func TestHostViewReadOnlyRootFilesystem(t *testing.T) {
	requireRoot(t)
	tag := hostViewTag(t)
	sep := t.TempDir()
	require.NoError(t, syscall.Mount("tmpfs", sep, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "size=64k"))
	t.Cleanup(func() { _ = syscall.Unmount(sep, syscall.MNT_DETACH) })
	try := ""
	for _, f := range []string{"/tmp/" + tag, "/usr/" + tag, sep + "/" + tag, "/run/state/f"} {
		try += fmt.Sprintf("touch %[1]s 2>/dev/null && echo %[1]s written || echo %[1]s refused; ", f)
	}
	options := fmt.Sprintf(`awk '$5 == "%s" { print $6 }' /proc/self/mountinfo`, sep)
	p, rec, _ := startPod(t, "hostview-ro", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Volumes:       []pod.Volume{stateVolume()},
		Containers: []pod.Container{
			{Name: "c", VolumeMounts: stateMount(), Command: []string{"sh", "-c", try + options},
				SecurityContext: &pod.SecurityContext{ReadOnlyRootFilesystem: true}},
			{Name: "rw", Command: []string{"sh", "-c", options}},
		},
	})
	rec.until("succeeded", isPhase(pod.PhaseSucceeded))
	lines := logText(t, p, "c", pod.LogOptions{})
	require.Len(t, lines, 5)
	assert.Equal(t, []string{"/tmp/" + tag + " refused", "/usr/" + tag + " refused", sep + "/" + tag + " refused", "/run/state/f written"}, lines[:4])
	rw := logText(t, p, "rw", pod.LogOptions{})
	require.Len(t, rw, 1)
	for _, c := range []struct{ options, mode string }{{lines[4], "ro"}, {rw[0], "rw"}} {
		got := strings.Split(c.options, ",")
		assert.Equal(t, c.mode, got[0])
		assert.Subset(t, got, []string{"nosuid", "nodev", "noexec"}, "the view dropped a flag of the host's mount")
	}
}

// TestHostViewSupervisorKilled kills, with SIGKILL, a program running a pod
// whose container wrote to its view of the host's files: no mount of the
// pod's is left on the host, the write never reached the host, and the
// next pod started with the same state directory removes the stale
// writable layer.
func TestHostViewSupervisorKilled(t *testing.T) {
	requireRoot(t)
	state := t.TempDir()
	file := "/tmp/" + hostViewTag(t)
	argv, env := helperCommand(t, "hostview-supervisor", state, file)
	cmd := execCommand(argv, env)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Wait()
	defer cmd.Process.Kill()
	line := make([]byte, 256)
	n, err := out.Read(line)
	require.NoError(t, err)
	infra, err := strconv.Atoi(strings.TrimSpace(string(line[:n])))
	require.NoError(t, err, "supervisor said %q", line[:n])
	netNS := namespaceOf(t, infra, "net")
	require.NotEmpty(t, layerFiles(t, state, filepath.Base(file)), "the write is in the container's writable layer")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.Eventually(t, func() bool { return len(processesIn(t, "net", netNS)) == 0 },
		10*time.Second, 5*time.Millisecond, "pod processes outlived their supervisor")
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	assert.NotContains(t, string(mounts), state, "a mount of the pod's is left on the host")
	assert.NoFileExists(t, file, "the container's write reached the host")

	_, rec, _ := startPod(t, "next", pod.Spec{RestartPolicy: pod.RestartNever,
		Containers: []pod.Container{{Name: "c", Command: []string{"true"}}}}, pod.WithStateDir(state))
	rec.until("succeeded", isPhase(pod.PhaseSucceeded))
	assert.Empty(t, layerFiles(t, state, filepath.Base(file)), "the stale writable layer outlived the next pod's start")
}

// layerFiles lists the files named name under dir.
func layerFiles(t *testing.T, dir, name string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == name {
			found = append(found, path)
		}
		return nil
	})
	require.NoError(t, err)
	return found
}
