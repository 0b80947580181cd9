package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeSet writes a workload of kind apiVersion/kind named name with spec
// lines (indented by two spaces) and a busybox container that stops on
// SIGTERM, and returns its path.
func writeSet(t *testing.T, apiVersion, kind, name, spec string) string {
	t.Helper()
	manifest := `apiVersion: ` + apiVersion + `
kind: ` + kind + `
metadata:
  name: ` + name + `
spec:
` + spec + `  selector:
    matchLabels: {app: ` + name + `}
  template:
    metadata:
      labels: {app: ` + name + `}
    spec:
      containers:
      - name: app
        image: busybox:1.36
        command: ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo up; sleep 3600 & wait"]
`
	file := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(file, []byte(manifest), 0o644))
	return file
}

// psNames returns the names podkit ps lists as Running.
func psNames(k *podkit) []string {
	stdout, _, _ := k.run("ps")
	var names []string
	for _, line := range strings.Split(stdout, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 && f[1] == "Running" {
			names = append(names, f[0])
		}
	}
	return names
}

// interrupt stops podkit run with Ctrl-C and checks it exits with 130,
// leaving no pod's socket behind.
func interrupt(t *testing.T, k *podkit, cmd *exec.Cmd) {
	t.Helper()
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 130, exit.ExitCode())
	names, _ := os.ReadDir(k.runDir)
	assert.Empty(t, names, "a pod's socket is left")
}

// outputEvents returns the JSON events among podkit run's output.
func outputEvents(t *testing.T, out string) []map[string]any {
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "{") {
			lines = append(lines, line)
		}
	}
	return jsonEvents(t, strings.Join(lines, "\n"))
}

// A Deployment of 2 replicas runs 2 pods named NAME-HASH-XXXXX; a pod
// stopped with podkit stop is replaced, and Ctrl-C stops them all
// gracefully.
func TestDeploymentReplicas(t *testing.T) {
	k := newPodkit(t)
	file := writeSet(t, "apps/v1", "Deployment", "web", "  replicas: 2\n")
	cmd, out := k.start("run", "-f", file, "--events", "json")
	var first []string
	require.Eventually(t, func() bool { first = psNames(k); return len(first) == 2 }, time.Minute, 50*time.Millisecond,
		"podkit's output:\n%s", out)
	name := regexp.MustCompile(`^web-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	for _, n := range first {
		assert.Regexp(t, name, n)
	}
	hash := func(n string) string { return strings.Split(n, "-")[1] }
	assert.Equal(t, hash(first[0]), hash(first[1]), "one template, one hash")
	stdout, stderr, code := k.run("status", first[0], "-o", "json")
	require.Equal(t, 0, code, stderr)
	var st struct {
		Metadata struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &st))
	assert.Equal(t, first[0], st.Metadata.Name)
	assert.Equal(t, map[string]string{"app": "web", "pod-template-hash": hash(first[0])}, st.Metadata.Labels)

	_, stderr, code = k.run("stop", first[0])
	require.Equal(t, 0, code, stderr)
	var now []string
	require.Eventually(t, func() bool { now = psNames(k); return len(now) == 2 && !slices.Contains(now, first[0]) }, time.Minute, 50*time.Millisecond,
		"podkit's output:\n%s", out)
	assert.Contains(t, now, first[1], "the other pod was stopped")
	interrupt(t, k, cmd)
	assert.Equal(t, 3, strings.Count(out.String(), "app | bye\n"), "a pod was not stopped gracefully:\n%s", out)
	pods, _ := workloadPods(outputEvents(t, out.String()), "Deployment/web")
	assert.Len(t, pods, 3)
}

// A StatefulSet of 3 runs web-0, web-1, web-2, each created once the one
// before is Ready, and stops them in reverse order.
func TestStatefulSetOrder(t *testing.T) {
	k := newPodkit(t)
	file := writeSet(t, "apps/v1", "StatefulSet", "db", "  replicas: 3\n  serviceName: db\n")
	cmd, out := k.start("run", "-f", file, "--events", "json")
	require.Eventually(t, func() bool { return len(psNames(k)) == 3 }, time.Minute, 50*time.Millisecond,
		"podkit's output:\n%s", out)
	interrupt(t, k, cmd)
	events := outputEvents(t, out.String())
	pods, _ := workloadPods(events, "StatefulSet/db")
	require.Equal(t, []string{"db-0", "db-1", "db-2"}, pods)

	at := func(ev map[string]any) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, ev["time"].(string))
		require.NoError(t, err)
		return ts
	}
	ready, created, ended := map[string]time.Time{}, map[string]time.Time{}, map[string]time.Time{}
	for _, ev := range events {
		p, _ := ev["pod"].(string)
		switch {
		case ev["workload"] == "StatefulSet/db" && ev["reason"] == "SuccessfulCreate":
			created[regexp.MustCompile(`db-\d`).FindString(ev["message"].(string))] = at(ev)
		case ev["reason"] == "Ready" && ev["container"] == nil && ev["ready"] == true:
			if _, ok := ready[p]; !ok {
				ready[p] = at(ev)
			}
		case ev["reason"] == "PodPhase" && (ev["phase"] == "Succeeded" || ev["phase"] == "Failed"):
			ended[p] = at(ev)
		}
	}
	for i, p := range pods[1:] {
		require.Contains(t, ready, pods[i])
		assert.True(t, ready[pods[i]].Before(created[p]), "%s was created before %s was ready", p, pods[i])
	}
	require.Len(t, ended, 3)
	assert.True(t, ended["db-2"].Before(ended["db-1"]) && ended["db-1"].Before(ended["db-0"]), "not stopped in reverse order: %v", ended)
}

// The workloads of one file run together, each pod listed by podkit ps
// under its own name: a Job runs to completion beside a DaemonSet's pod and
// a Pod, which run until Ctrl-C.
func TestSeveralWorkloads(t *testing.T) {
	k := newPodkit(t)
	set, err := os.ReadFile(writeSet(t, "apps/v1", "DaemonSet", "agent", ""))
	require.NoError(t, err)
	job, err := os.ReadFile(writeJob(t, "setup", "", "echo set up", ""))
	require.NoError(t, err)
	solo := `apiVersion: v1
kind: Pod
metadata: {name: solo}
spec:
  containers:
  - name: solo
    image: busybox:1.36
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
`
	file := filepath.Join(t.TempDir(), "all.yaml")
	require.NoError(t, os.WriteFile(file, []byte(string(set)+"---\n"+string(job)+"---\n"+solo), 0o644))
	cmd, out := k.start("run", "-f", file, "--events", "json")
	var names []string
	require.Eventually(t, func() bool {
		names = psNames(k)
		return len(names) == 2 && strings.Contains(out.String(), `"workload":"Job/setup","type":"Normal","reason":"Completed"`)
	}, time.Minute, 50*time.Millisecond, "podkit's output:\n%s", out)
	assert.Regexp(t, `^agent-[bcdfghjklmnpqrstvwxz2456789]{5}$`, names[0])
	assert.Equal(t, "solo", names[1])
	assert.Contains(t, out.String(), "app  | up\n")
	assert.Contains(t, out.String(), "work | set up\n")
	interrupt(t, k, cmd)
	assert.Contains(t, out.String(), "app  | bye\n")
}

// When podkit run is killed (SIGKILL), every process of every pod its
// controllers started is gone: the pods clean up after themselves and the
// controllers start nothing else.
func TestKilledSupervisorLeavesNoProcess(t *testing.T) {
	k := newPodkit(t)
	file := writeSet(t, "apps/v1", "Deployment", "web", "  replicas: 2\n")
	cmd, out := k.start("run", "-f", file, "--events", "none")
	var names []string
	require.Eventually(t, func() bool { names = psNames(k); return len(names) == 2 }, time.Minute, 50*time.Millisecond,
		"podkit's output:\n%s", out)
	var pids []int
	for _, name := range names {
		stdout, stderr, code := k.run("status", name, "-o", "json")
		require.Equal(t, 0, code, stderr)
		var st struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &st))
		infra, err := strconv.Atoi(st.Metadata.Annotations["podkit.io/infra-pid"])
		require.NoError(t, err)
		var containers map[string]int
		require.NoError(t, json.Unmarshal([]byte(st.Metadata.Annotations["podkit.io/container-pids"]), &containers))
		require.Contains(t, containers, "app")
		pids = append(pids, infra, containers["app"])
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	for _, pid := range pids {
		require.Eventually(t, func() bool { return syscall.Kill(pid, 0) == syscall.ESRCH }, time.Minute, 50*time.Millisecond,
			"process %d outlived podkit run", pid)
	}
}
