package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"

	"github.com/podkit/podkit/image/imagetest"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod/podtest"
)

// podkitBin is the podkit command built for the tests.
var podkitBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "podkit-cli")
	if err != nil {
		panic(err)
	}
	podkitBin = filepath.Join(dir, "podkit")
	if p := testenv.Prebuilt("podkit"); p != "" {
		podkitBin = p
	} else if out, err := exec.Command("go", "build", "-o", podkitBin, ".").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("building podkit: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// busyboxRef is the image the test manifests run; newPodkit loads it.
const busyboxRef = "busybox:1.36"

// podkit runs the podkit command with its own run directory and image
// store.
type podkit struct {
	t         *testing.T
	runDir    string
	imagesDir string
}

// newPodkit returns a podkit whose image store holds busyboxRef, built
// from the host's busybox and loaded with podkit image load, as a user
// without a registry would load it.
func newPodkit(t *testing.T) *podkit {
	testenv.RequireRoot(t)
	k := &podkit{t: t, runDir: t.TempDir(), imagesDir: t.TempDir()}
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	imagetest.WriteDockerArchive(t, archive, map[string]v1.Image{busyboxRef: imagetest.BusyboxApplets(t)})
	stdout, stderr, code := k.run("image", "load", "-i", archive)
	require.Equal(t, 0, code, "podkit image load: %s", stderr)
	require.Contains(t, stdout, "Loaded image index.docker.io/library/"+busyboxRef+" sha256:")
	return k
}

func (k *podkit) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, podkitBin, args...)
	cmd.Env = append(os.Environ(), "PODKIT_RUN_DIR="+k.runDir, "PODKIT_IMAGES_DIR="+k.imagesDir)
	return cmd
}

// run runs podkit to its end and returns its output and exit status.
func (k *podkit) run(args ...string) (stdout, stderr string, code int) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := k.command(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), exit.ExitCode()
	}
	require.NoError(k.t, err)
	return out.String(), errb.String(), 0
}

// start starts podkit in the background with its output in a buffer; the
// test's cleanup kills it.
func (k *podkit) start(args ...string) (*exec.Cmd, *podtest.Buffer) {
	k.t.Helper()
	cmd := k.command(context.Background(), args...)
	out := &podtest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(k.t, cmd.Start())
	k.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, out
}

func TestRunJobWithEventsJSON(t *testing.T) {
	k := newPodkit(t)
	stdout, stderr, code := k.run("run", "-f", "testdata/job.yaml", "--events", "json")
	require.Equal(t, 0, code, "stderr:\n%s", stderr)

	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), "not JSON: %s", sc.Text())
		events = append(events, ev)
	}
	require.NotEmpty(t, events)
	allowed := map[string]bool{"time": true, "pod": true, "container": true, "role": true, "type": true, "reason": true,
		"exitCode": true, "exitReason": true, "signal": true, "phase": true, "ready": true, "delaySeconds": true, "message": true, "workload": true}
	var lifecycle []string
	for _, ev := range events {
		for key := range ev {
			assert.True(t, allowed[key], "field %q is not in the documented schema", key)
		}
		ts, err := time.Parse(time.RFC3339Nano, ev["time"].(string))
		require.NoError(t, err)
		assert.False(t, ts.IsZero())
		assert.Equal(t, "job", ev["pod"])
		assert.Contains(t, []any{"Normal", "Warning"}, ev["type"])
		switch {
		case ev["role"] == "infra":
		case ev["reason"] == "Started", ev["reason"] == "Exited":
			lifecycle = append(lifecycle, ev["reason"].(string)+" "+ev["container"].(string)+" "+ev["role"].(string))
		}
		if ev["reason"] == "Exited" {
			assert.Contains(t, ev, "exitCode", "an Exited event without its exit code")
		}
		if ev["reason"] == "PodPhase" {
			assert.Contains(t, ev, "phase")
		}
	}
	assert.Equal(t, []string{"Started prepare init", "Exited prepare init", "Started shipper sidecar",
		"Started work main", "Exited work main", "Exited shipper sidecar"}, lifecycle)
	last := events[len(events)-1]
	assert.Equal(t, "PodPhase", last["reason"])
	assert.Equal(t, "Succeeded", last["phase"])

	// Container output went to standard error, prefixed by container name;
	// the in-process log shipper shipped the job's log file.
	assert.Contains(t, stderr, "prepare | prepared\n")
	assert.Contains(t, stderr, "work    | working\n")
	assert.Contains(t, stderr, "shipper | line one\n")
	assert.Contains(t, stderr, "shipper | line two\n")
}

func TestRunExitStatus(t *testing.T) {
	k := newPodkit(t)
	stdout, stderr, code := k.run("run", "-f", "testdata/fail.yaml", "--events", "none")
	assert.Equal(t, 1, code)
	assert.Equal(t, "app | bad\n", stdout)
	assert.Contains(t, stderr, `container "app": exited with code 3`)

	_, stderr, code = k.run("run", "-f", "testdata/invalid.yaml")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "spec.containers[0].imagePullPolicyy")

	_, stderr, code = k.run("validate", "-f", "testdata/invalid.yaml")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "imagePullPolicyy")
	stdout, _, code = k.run("validate", "-f", "testdata/job.yaml")
	assert.Equal(t, 0, code)
	assert.Equal(t, "pod \"job\" is valid\n", stdout)
}

// startServer starts podkit run on the server manifest and waits until its
// container runs.
func startServer(t *testing.T, k *podkit) (*exec.Cmd, *podtest.Buffer) {
	t.Helper()
	cmd, out := k.start("run", "-f", "testdata/server.yaml", "--events", "json")
	require.Eventually(t, func() bool {
		stdout, _, _ := k.run("logs", "server", "-c", "app")
		return stdout == "hello\nworld\n"
	}, 20*time.Second, 50*time.Millisecond)
	return cmd, out
}

func TestInspectRunningPod(t *testing.T) {
	k := newPodkit(t)
	cmd, _ := startServer(t, k)

	stdout, _, code := k.run("ps")
	require.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^NAME\s+PHASE\s+READY\s+RESTARTS\s+AGE\s+PID$`, stdout)
	assert.Regexp(t, `(?m)^server\s+Running\s+1/1\s+0\s+`, stdout)

	stdout, _, code = k.run("status", "server")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "Phase:     Running")
	assert.Regexp(t, `(?m)^app\s+main\s+Running\s+true\s+0\s+\d+$`, stdout)
	stdout, _, _ = k.run("status", "server", "-o", "json")
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &st))
	assert.Equal(t, "server", st["metadata"].(map[string]any)["name"])
	assert.Equal(t, "Running", st["status"].(map[string]any)["phase"])

	stdout, _, code = k.run("logs", "server", "-c", "app", "--tail", "1")
	require.Equal(t, 0, code)
	assert.Equal(t, "world\n", stdout)

	stdout, stderr, code := k.run("exec", "server", "-c", "app", "--", "sh", "-c", "hostname; echo oops >&2; exit 4")
	assert.Equal(t, 4, code)
	assert.Equal(t, "server\n", stdout)
	assert.Equal(t, "oops\n", stderr)

	_, stderr, code = k.run("logs", "nope", "-c", "app")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `pod "nope": no such pod`)

	// A follower sees the container's last words when the pod stops.
	follow := k.command(context.Background(), "logs", "server", "-c", "app", "-f")
	var followed bytes.Buffer
	follow.Stdout = &followed
	require.NoError(t, follow.Start())

	_, stderr, code = k.run("stop", "server")
	require.Equal(t, 0, code, stderr)
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 143, exit.ExitCode(), "podkit stop ends podkit run with 128+SIGTERM")
	require.NoError(t, follow.Wait())
	assert.Equal(t, "hello\nworld\nbye\n", followed.String())

	stdout, _, _ = k.run("ps")
	assert.NotContains(t, stdout, "server", "a stopped pod is still listed")
}

func TestInterruptStopsGracefully(t *testing.T) {
	k := newPodkit(t)
	cmd, out := startServer(t, k)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 130, exit.ExitCode())
	assert.Contains(t, out.String(), "app | bye\n", "the container was not stopped gracefully")
	_, statErr := os.Stat(filepath.Join(k.runDir, "server"))
	assert.True(t, os.IsNotExist(statErr), "the API socket was left behind")
}

func TestSecondInterruptKills(t *testing.T) {
	k := newPodkit(t)
	cmd, out := k.start("run", "-f", "testdata/stubborn.yaml", "--events", "json")
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "app | up") }, time.Minute, 20*time.Millisecond,
		"the app never said up; podkit's output:\n%s", out)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.Eventually(t, func() bool { return strings.Contains(out.String(), `"signal":"SIGTERM"`) }, time.Minute, 20*time.Millisecond,
		"no stop signal was sent; podkit's output:\n%s", out)
	// The container ignores its stop signal and the grace period is an
	// hour: only the second Ctrl-C ends it.
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		assert.Equal(t, 130, exit.ExitCode())
	case <-time.After(20 * time.Second):
		t.Fatal("a second Ctrl-C did not kill the pod")
	}
	assert.Contains(t, out.String(), `"reason":"Killing","signal":"SIGKILL"`)
}

func TestMemberProcessForms(t *testing.T) {
	k := newPodkit(t)
	dir := t.TempDir()
	site := filepath.Join(dir, "site")
	require.NoError(t, os.MkdirAll(site, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(site, "index.html"), []byte("hi\n"), 0o644))
	archive := filepath.Join(dir, "site.tar.gz")
	out, err := exec.Command("tar", "-czf", archive, "-C", dir, "site").CombinedOutput()
	require.NoError(t, err, string(out))

	// Outside a pod, volumes are directories of $PODKIT_VOLUMES_DIR.
	volumes := filepath.Join(dir, "volumes")
	cmd := k.command(context.Background(), "init", "extract", "--archive", archive, "--volume", "www")
	cmd.Env = append(cmd.Env, "PODKIT_VOLUMES_DIR="+volumes)
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	data, err := os.ReadFile(filepath.Join(volumes, "www", "site", "index.html"))
	require.NoError(t, err)
	assert.Equal(t, "hi\n", string(data))

	// A bad command line is a usage error: nothing ran.
	_, stderr, code := k.run("init", "wait-for-tcp", "--address", "nohost")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `address: "nohost"`)
	_, stderr, code = k.run("sidecar", "log-shipper", "--bogus")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown flag: --bogus")
}

func TestExportRoundTrip(t *testing.T) {
	k := &podkit{t: t, runDir: t.TempDir(), imagesDir: t.TempDir()}
	stdout, stderr, code := k.run("export", "-f", "testdata/job.yaml", "--podkit-image", "example.com/podkit:1")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "kind: Pod")
	// The manifest names the member's image, which wins over --podkit-image.
	assert.Contains(t, stdout, "image: ghcr.io/podkit/podkit:latest")
	assert.Contains(t, stdout, "mountPath: /podkit/volumes/logs")
	exported := filepath.Join(t.TempDir(), "exported.yaml")
	require.NoError(t, os.WriteFile(exported, []byte(stdout), 0o644))
	// The exported manifest runs here too: its podkit container in-process.
	stdout, stderr, code = k.run("validate", "-f", exported)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "pod \"job\" is valid\n", stdout)

	stdout, _, code = k.run("export", "-f", "testdata/job.yaml", "--kind", "Job")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "kind: Job")
	_, stderr, code = k.run("export", "-f", "testdata/server.yaml", "--kind", "Job")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "spec.template.spec.restartPolicy")

	// A container that runs the host's program here needs --image to
	// export.
	host := writeManifest(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: host}\nspec:\n  containers:\n  - name: app\n    command: [\"sleep\", \"1\"]\n")
	_, stderr, code = k.run("export", "-f", host)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "spec.containers[0].image: required to export")
	assert.Contains(t, stderr, "podkit export --image app=REF")
	stdout, stderr, code = k.run("export", "-f", host, "--image", "app=busybox:1.36")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "image: busybox:1.36\n")
	_, stderr, code = k.run("export", "-f", host, "--image", "busybox:1.36")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `--image: "busybox:1.36": must be CONTAINER=IMAGE`)
}

func TestBadManifests(t *testing.T) {
	k := newPodkit(t)
	dir := t.TempDir()
	huge := make([]byte, 4<<20)
	for i := range huge {
		huge[i] = 'a'
	}
	tests := []struct {
		name, content, want string
	}{
		{"malformed", "apiVersion: v1\nkind: Pod\nmetadata: [unclosed\n", "yaml"},
		{"deployment", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n", "spec.template.spec.containers: required: a pod needs at least one container"},
		{"duplicate", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, command: [\"true\"]}\n  - {name: a, command: [\"true\"]}\n",
			"spec.containers[1].name"},
		{"no-command", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, args: [x]}\n",
			"spec.containers[0].command: required: the container has no image to take a default command from"},
		{"pull-policy", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: busybox, imagePullPolicy: Later}\n",
			`spec.containers[0].imagePullPolicy: must be Always, IfNotPresent or Never, got "Later"`},
		{"unknown-field", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containerz: []\n", "spec.containerz: unknown field"},
		{"binary", "\x00\x01\x02\xff\xfe garbage", "kube:"},
		{"huge", string(huge), "larger than 3 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, tt.name+".yaml")
			require.NoError(t, os.WriteFile(file, []byte(tt.content), 0o644))
			stdout, stderr, code := k.run("run", "-f", file)
			assert.Equal(t, 2, code, "stderr: %s", stderr)
			assert.Contains(t, stderr, tt.want)
			assert.NotContains(t, stderr, "goroutine", "a stack trace")
			assert.Empty(t, stdout, "something ran")
			names, _ := os.ReadDir(k.runDir)
			assert.Empty(t, names, "a pod was started")
		})
	}
	_, stderr, code := k.run("run", "-f", filepath.Join(dir, "missing.yaml"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "no such file or directory")
	stdout, _, code := k.run("run", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "Exit status: 0 if the pod Succeeded")

	// Every member's --help lists its flags, from its configuration type.
	for _, tt := range []struct{ args, want []string }{
		{[]string{"sidecar", "log-shipper", "--help"}, []string{"--pattern string (repeatable)", "--from-start", "--poll-interval duration", "--config string"}},
		{[]string{"ambassador", "tcp", "-h"}, []string{"--upstream json (repeatable)", "host:port, or {addr: host:port, weight: N}", "--balance string"}},
		{[]string{"init", "wait-for-tcp", "--help"}, []string{"--address string", "--timeout duration"}},
		{[]string{"adapter", "metrics", "--help"}, []string{"--listen string", "--config-file string"}},
	} {
		stdout, _, code := k.run(tt.args...)
		assert.Equal(t, 0, code, "%q", tt.args)
		for _, w := range tt.want {
			assert.Contains(t, stdout, w, "%q", tt.args)
		}
	}
	// A member's bad flag names the flag and the value.
	_, stderr, code = k.run("init", "wait-for-tcp", "--address", "db:5432", "--interval", "soon")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `wait-for-tcp: --interval: "soon": not a duration`)
}

// echoServer greets each connection, echoes until EOF and says bye.
func echoServer(t *testing.T) string {
	return testenv.ServeTCP(t, func(c net.Conn) {
		fmt.Fprintln(c, "upstream")
		_, _ = io.Copy(c, c)
		fmt.Fprintln(c, "bye")
	})
}

func TestAmbassadorManifestRunsInProcess(t *testing.T) {
	k := newPodkit(t)
	manifest := `apiVersion: v1
kind: Pod
metadata: {name: amb}
spec:
  restartPolicy: Never
  initContainers:
  - name: redis-ambassador
    image: ghcr.io/podkit/podkit:latest
    restartPolicy: Always
    command: ["podkit", "ambassador", "tcp", "--listen", "127.0.0.1:6379", "--upstream", "` + echoServer(t) + `"]
  containers:
  - name: app
    image: busybox:1.36
    command: ["sh", "-c", "echo ping | nc 127.0.0.1 6379"]
`
	file := filepath.Join(t.TempDir(), "amb.yaml")
	require.NoError(t, os.WriteFile(file, []byte(manifest), 0o644))
	stdout, stderr, code := k.run("run", "-f", file, "--events", "none")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "app              | upstream\napp              | ping\napp              | bye\n", stdout)
}

func TestAmbassadorProcessForm(t *testing.T) {
	k := newPodkit(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	listen := ln.Addr().String()
	ln.Close()
	cmd := k.command(context.Background(), "ambassador", "tcp", "--listen", listen, "--upstream", echoServer(t))
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	var c net.Conn
	require.Eventually(t, func() bool {
		c, err = net.Dial("tcp", listen)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	defer c.Close()
	_, err = c.Write([]byte("hi\n"))
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	data, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, "upstream\nhi\nbye\n", string(data))
	// SIGTERM stops it gracefully.
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())

	_, stderr, code := k.run("ambassador", "tcp", "--listen", "127.0.0.1:1")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "upstreams")
}

func TestRunTimeline(t *testing.T) {
	k := newPodkit(t)
	svg := filepath.Join(t.TempDir(), "job.svg")
	_, stderr, code := k.run("run", "-f", "testdata/job.yaml", "--events", "none", "--timeline", svg)
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile(svg)
	require.NoError(t, err)
	assert.Contains(t, string(data), "<svg")
	for _, name := range []string{"prepare", "shipper", "work"} {
		assert.Contains(t, string(data), ">"+name+" <tspan")
	}
}

// TestAdapterLogsProcessForm pipes lines through "podkit adapter logs":
// every line comes out, in order, a bad one flagged; and a reader that
// stops reading ends it with SIGPIPE, as it ends any program in a pipeline.
func TestAdapterLogsProcessForm(t *testing.T) {
	var in strings.Builder
	const n = 100000
	for i := range n {
		if i%1000 == 999 {
			fmt.Fprintf(&in, "not json %d\n", i)
			continue
		}
		fmt.Fprintf(&in, `{"level":"info","ts":1732554123.5,"msg":"line %d","i":%d}`+"\n", i, i)
	}
	cmd := exec.Command(podkitBin, "adapter", "logs", "--config", `{"stdin":true,"format":"json"}`)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	require.Len(t, lines, n)
	for i, line := range lines {
		var r struct {
			Msg        string `json:"msg"`
			ParseError bool   `json:"parse_error"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		if i%1000 == 999 {
			require.Equal(t, fmt.Sprintf("not json %d", i), r.Msg)
			require.True(t, r.ParseError)
			continue
		}
		require.Equal(t, fmt.Sprintf("line %d", i), r.Msg)
	}

	cmd = exec.Command(podkitBin, "adapter", "logs", "--config", `{"stdin":true,"format":"text"}`)
	cmd.Stdin = strings.NewReader(in.String())
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	_, err = stdout.Read(make([]byte, 10))
	require.NoError(t, err)
	require.NoError(t, stdout.Close())
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, syscall.SIGPIPE, exit.Sys().(syscall.WaitStatus).Signal())
}

// podkit status -o json prints the v1 Pod the API server would hold, so
// that scripts written against kubectl's output read it.
func TestStatusInKubernetesShape(t *testing.T) {
	k := newPodkit(t)
	cmd, out := k.start("run", "-f", "testdata/crashloop.yaml", "--events", "none")

	status := func() corev1.Pod {
		t.Helper()
		stdout, stderr, code := k.run("status", "crashloop", "-o", "json")
		require.Equal(t, 0, code, stderr)
		var kp corev1.Pod
		strict, err := kjson.UnmarshalStrict([]byte(stdout), &kp)
		require.NoError(t, err, stdout)
		require.Empty(t, strict, "fields a v1 Pod does not have: %s", stdout)
		return kp
	}
	// The crashing container has been restarted once, and the steady one
	// and the sidecar are ready.
	var kp corev1.Pod
	require.Eventually(t, func() bool {
		if _, _, code := k.run("status", "crashloop"); code != 0 {
			return false
		}
		kp = status()
		if len(kp.Status.ContainerStatuses) != 2 {
			return false
		}
		crash, steady := kp.Status.ContainerStatuses[0], kp.Status.ContainerStatuses[1]
		return crash.RestartCount >= 1 && crash.LastTerminationState.Terminated != nil && steady.Ready
	}, 60*time.Second, 100*time.Millisecond, "output: %s", out)

	assert.Equal(t, "v1", kp.APIVersion)
	assert.Equal(t, "Pod", kp.Kind)
	assert.Equal(t, "crashloop", kp.Name)
	assert.Equal(t, map[string]string{"app": "crashloop"}, kp.Labels, "the manifest's metadata")
	assert.Equal(t, "sleep", kp.Spec.Containers[1].Command[0], "the manifest's spec")
	assert.Equal(t, strconv.Itoa(cmd.Process.Pid), kp.Annotations["podkit.io/supervisor-pid"])
	assert.NotEmpty(t, kp.Annotations["podkit.io/infra-pid"])

	assert.Equal(t, corev1.PodRunning, kp.Status.Phase)
	assert.Equal(t, "127.0.0.1", kp.Status.PodIP, "a pod on the host's network")
	assert.Equal(t, []corev1.PodIP{{IP: "127.0.0.1"}}, kp.Status.PodIPs)
	require.NotNil(t, kp.Status.StartTime)
	conds := make(map[corev1.PodConditionType]corev1.PodCondition)
	var types []corev1.PodConditionType
	for _, c := range kp.Status.Conditions {
		conds[c.Type] = c
		types = append(types, c.Type)
		assert.False(t, c.LastTransitionTime.IsZero(), "condition %s", c.Type)
	}
	assert.Equal(t, []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized,
		corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled}, types)
	assert.Equal(t, corev1.ConditionTrue, conds[corev1.PodInitialized].Status)
	assert.Equal(t, corev1.ConditionTrue, conds[corev1.PodScheduled].Status)
	// The crashing container is never ready for long; when it is not, the
	// kubelet's reason and message say so.
	if ready := conds[corev1.PodReady]; ready.Status == corev1.ConditionFalse {
		assert.Equal(t, "ContainersNotReady", ready.Reason)
		assert.Equal(t, "containers with unready status: [crash]", ready.Message)
	}

	require.Len(t, kp.Status.InitContainerStatuses, 2)
	setup, helper := kp.Status.InitContainerStatuses[0], kp.Status.InitContainerStatuses[1]
	require.NotNil(t, setup.State.Terminated)
	assert.Equal(t, "Completed", setup.State.Terminated.Reason)
	assert.True(t, setup.Ready, "a completed init container is ready")
	assert.Equal(t, "helper", helper.Name, "a sidecar is an init container")
	assert.NotNil(t, helper.State.Running)
	assert.Equal(t, ptrTo(true), helper.Started)
	assert.True(t, helper.Ready)

	crash := kp.Status.ContainerStatuses[0]
	assert.Equal(t, "crash", crash.Name)
	last := crash.LastTerminationState.Terminated
	assert.Equal(t, "Error", last.Reason)
	assert.Equal(t, int32(3), last.ExitCode)
	assert.Contains(t, crash.Image, "busybox:1.36")
	assert.True(t, strings.HasPrefix(crash.ImageID, "sha256:"), crash.ImageID)

	stdout, stderr, code := k.run("status", "crashloop", "-o", "yaml")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "\nkind: Pod\n")
	assert.Contains(t, stdout, "  phase: Running\n")

	stdout, _, code = k.run("get", "pods")
	require.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$`, stdout)
	assert.Regexp(t, `(?m)^crashloop\s+[1-3]/3\s+(Running|CrashLoopBackOff|Error|NotReady)\s+[1-9]`, stdout)
	stdout, _, code = k.run("get", "pod", "crashloop", "-o", "json")
	require.Equal(t, 0, code)
	var got corev1.Pod
	require.NoError(t, json.Unmarshal([]byte(stdout), &got))
	assert.Equal(t, "crashloop", got.Name)
	stdout, _, code = k.run("get", "pods", "-o", "json")
	require.Equal(t, 0, code)
	var list corev1.PodList
	require.NoError(t, json.Unmarshal([]byte(stdout), &list))
	assert.Equal(t, "List", list.Kind)
	require.Len(t, list.Items, 1)
	for _, args := range [][]string{{"get", "pod", "nope"}, {"get", "pod", "nope", "-o", "json"}} {
		stdout, stderr, code = k.run(args...)
		assert.Equal(t, 1, code, args)
		assert.Empty(t, stdout, args)
		assert.Contains(t, stderr, `pod "nope": no such pod`, args)
	}
	stdout, _, code = k.run("get", "pods", "crashloop", "nope", "-o", "json")
	assert.Equal(t, 1, code)
	require.NoError(t, json.Unmarshal([]byte(stdout), &list))
	assert.Len(t, list.Items, 1, "the pod that answered is printed")
	_, stderr, code = k.run("status", "crashloop", "-o", "xml")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `--output: "xml"`)
}

func ptrTo[T any](v T) *T { return &v }

// A manifest's sysctls are set in the pod's namespaces, where its
// container reads them; a sysctl that is not namespaced is refused before
// anything runs.
func TestRunSysctls(t *testing.T) {
	k := newPodkit(t)
	host := func() string {
		port, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
		require.NoError(t, err)
		shm, err := os.ReadFile("/proc/sys/kernel/shm_rmid_forced")
		require.NoError(t, err)
		return string(port) + string(shm)
	}
	before := host()
	stdout, stderr, code := k.run("run", "-f", "testdata/sysctls.yaml", "--events", "none")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "app | 0\napp | 1\n", stdout)
	assert.Equal(t, before, host(), "the host's parameters changed")

	manifest := filepath.Join(t.TempDir(), "panic.yaml")
	data, err := os.ReadFile("testdata/sysctls.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(manifest, bytes.Replace(data, []byte("kernel.shm_rmid_forced"), []byte("kernel.panic"), 1), 0o600))
	_, stderr, code = k.run("run", "-f", manifest)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `sysctls[1].name: invalid value "kernel.panic": not namespaced`)
}
