package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nobody is the uid and gid of the unprivileged user of these tests.
const nobody = 65534

// writeManifest writes a manifest in a file of the test's own.
func writeManifest(t *testing.T, manifest string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "pod.yaml")
	require.NoError(t, os.WriteFile(file, []byte(manifest), 0o644))
	return file
}

// TestContainerCannotReachAPI (issue 14, item 2): a uid-0 container
// without capabilities finds the run directory masked (an empty tmpfs of
// mode 0), so its
// podkit exec reaches no pod; podapi's TestRefusesContainersAndLesserCallers
// shows the socket refusing it even unmasked.
func TestContainerCannotReachAPI(t *testing.T) {
	k := newPodkit(t)
	file := writeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: capless}
spec:
  containers:
  - name: app
    command: ["sh", "-c", "echo listing: $(ls -A `+k.runDir+`); `+podkitBin+` --run-dir `+k.runDir+` exec capless -c app -- sh -c 'grep CapEff /proc/self/status'; echo exec: $?; sleep 1000"]
    securityContext:
      runAsUser: 0
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`)
	cmd := k.command(context.Background(), "run", "-f", file, "--events", "none")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	var out string
	require.Eventually(t, func() bool {
		out, _, _ = k.run("logs", "capless", "-c", "app")
		return strings.Contains(out, "exec:")
	}, 20*time.Second, 50*time.Millisecond)
	assert.Regexp(t, `(?m)^listing:\s*$`, out, "the container sees the run directory")
	assert.NotContains(t, out, "CapEff")
	assert.Contains(t, out, "exec: 1")
}

// TestStuckSupervisor (item 7): a stopped supervisor makes neither ps nor
// stop hang; ps lists it as not responding.
func TestStuckSupervisor(t *testing.T) {
	k := newPodkit(t)
	cmd, _ := startServer(t, k)
	require.NoError(t, cmd.Process.Signal(syscall.SIGSTOP))
	defer func() { _ = cmd.Process.Signal(syscall.SIGCONT) }()

	start := time.Now()
	stdout, stderr, code := k.run("ps")
	assert.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^server\s+NotResponding\s`, stdout)
	assert.Less(t, time.Since(start), 10*time.Second)

	start = time.Now()
	_, stderr, code = k.run("stop", "server", "--wait", "1s")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `pod "server": not responding`)
	assert.Less(t, time.Since(start), 10*time.Second)
}

// TestUnsafeRunDir (item 8): a run directory another user owns is
// refused by run, ps and exec; that user's fake server gets nothing.
func TestUnsafeRunDir(t *testing.T) {
	k := newPodkit(t)
	base := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(base), 0o755))
	evil := filepath.Join(base, "evil")
	require.NoError(t, os.Mkdir(evil, 0o777))
	require.NoError(t, os.Mkdir(filepath.Join(evil, "server"), 0o700))
	for _, d := range []string{evil, filepath.Join(evil, "server")} {
		require.NoError(t, os.Chown(d, nobody, nobody))
	}
	require.NoError(t, os.Chmod(evil, 0o777))
	got := filepath.Join(evil, "got")
	fake := exec.Command("socat", "UNIX-LISTEN:"+filepath.Join(evil, "server", "api.sock")+",fork", "SYSTEM:cat >> "+got)
	fake.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	require.NoError(t, fake.Start())
	t.Cleanup(func() {
		_ = fake.Process.Kill()
		_ = fake.Wait()
	})
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(evil, "server", "api.sock"))
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)

	k.runDir = evil
	_, stderr, code := k.run("ps")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "owned by uid 65534")

	_, stderr, code = k.run("run", "-f", "testdata/server.yaml")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unsafe run directory")
	assert.NotContains(t, stderr, "running already")

	cmd := k.command(context.Background(), "exec", "-i", "server", "-c", "app", "--", "cat")
	cmd.Stdin = strings.NewReader("secret\n")
	out, err := cmd.CombinedOutput()
	assert.Error(t, err)
	assert.Contains(t, string(out), "unsafe run directory")
	data, _ := os.ReadFile(got)
	assert.NotContains(t, string(data), "secret", "the fake server got root's input")
}

// TestOutputsDoNotFollowLinks (item 9): links planted in a world-writable
// sticky directory for --log-dir and --timeline are refused before the pod
// starts; an unwritable --timeline too.
func TestOutputsDoNotFollowLinks(t *testing.T) {
	k := newPodkit(t)
	shared := t.TempDir()
	require.NoError(t, os.Chmod(shared, 0o1777))
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("root only\n"), 0o600))
	require.NoError(t, os.Symlink(secret, filepath.Join(shared, "app.log")))
	require.NoError(t, os.Symlink(secret, filepath.Join(shared, "t.svg")))
	require.NoError(t, os.Link(secret, filepath.Join(shared, "hard.svg")))

	for _, args := range [][]string{
		{"--log-dir", shared},
		{"--timeline", filepath.Join(shared, "t.svg")},
		{"--timeline", filepath.Join(shared, "hard.svg")},
		{"--timeline", filepath.Join(shared, "missing", "t.svg")},
		{"--log-dir", filepath.Join(shared, "missing")},
	} {
		stdout, stderr, code := k.run(append([]string{"run", "-f", "testdata/fail.yaml", "--events", "none"}, args...)...)
		assert.Equal(t, 2, code, "%q: %s", args, stderr)
		assert.Empty(t, stdout, "%q: something ran", args)
	}
	data, err := os.ReadFile(secret)
	require.NoError(t, err)
	assert.Equal(t, "root only\n", string(data))
}

// TestLongPodName (item 10): a pod name of 253 bytes runs, whatever the
// length of the run directory.
func TestLongPodName(t *testing.T) {
	k := newPodkit(t)
	name := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	file := writeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: `+name+`}
spec:
  restartPolicy: Never
  containers:
  - name: app
    command: ["echo", "ran"]
`)
	stdout, stderr, code := k.run("run", "-f", file, "--events", "none")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "app | ran\n", stdout)
}

// TestFailuresBeforeRunningAndOtherUsers (the "Also"): a taken
// name exits 2; an unprivileged caller is told "permission denied" by
// status, logs and exec as by ps.
func TestFailuresBeforeRunningAndOtherUsers(t *testing.T) {
	k := newPodkit(t)
	startServer(t, k)
	stdout, stderr, code := k.run("run", "-f", "testdata/server.yaml", "--events", "none")
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "running already")
	assert.Empty(t, stdout)

	require.NoError(t, os.Chmod(filepath.Dir(podkitBin), 0o755))
	for _, args := range [][]string{
		{"ps"},
		{"status", "server"},
		{"logs", "server", "-c", "app"},
		{"exec", "server", "-c", "app", "--", "true"},
	} {
		cmd := k.command(context.Background(), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.CombinedOutput()
		assert.Error(t, err, "%q", args)
		assert.Contains(t, string(out), "permission denied", "%q", args)
		assert.NotContains(t, string(out), "no such pod", "%q", args)
	}
}
