package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// writeJob writes a Job manifest named name with spec lines (indented by
// two spaces) and a busybox container running script, and returns its path.
func writeJob(t *testing.T, name, spec, script string, volume string) string {
	t.Helper()
	var vol, mount string
	if volume != "" {
		vol = fmt.Sprintf("      volumes:\n      - name: shared\n        hostPath: {path: %s}\n", volume)
		mount = "        volumeMounts:\n        - {name: shared, mountPath: /shared}\n"
	}
	manifest := fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
%s  template:
    spec:
      restartPolicy: Never
%s      containers:
      - name: work
        image: busybox:1.36
        command: ["sh", "-c", %q]
%s`, name, spec, vol, script, mount)
	file := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(file, []byte(manifest), 0o644))
	return file
}

// jsonEvents parses the lines of podkit run --events json.
func jsonEvents(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), "not JSON: %s", sc.Text())
		events = append(events, ev)
	}
	return events
}

// workloadPods returns the pods of the SuccessfulCreate events of
// workload (KIND/NAME), in order, and the reasons of its events.
func workloadPods(events []map[string]any, workload string) (pods, reasons []string) {
	for _, ev := range events {
		if ev["workload"] != workload {
			continue
		}
		reasons = append(reasons, ev["reason"].(string))
		if ev["reason"] == "SuccessfulCreate" {
			msg := ev["message"].(string)
			if f := strings.Fields(msg); strings.HasPrefix(msg, "create Pod ") {
				msg = f[2]
			}
			pods = append(pods, strings.TrimPrefix(msg, "Created pod: "))
		}
	}
	return pods, reasons
}

// finalPhases returns each pod's last phase.
func finalPhases(events []map[string]any) map[string]string {
	phases := make(map[string]string)
	for _, ev := range events {
		if ev["reason"] == "PodPhase" {
			phases[ev["pod"].(string)] = ev["phase"].(string)
		}
	}
	return phases
}

// maxConcurrent returns the most pods alive at once, each alive from its
// first event to its last, by the events' times: a pod's last event comes
// before the controller sees it end and starts the next.
func maxConcurrent(t *testing.T, events []map[string]any) int {
	type edge struct {
		at    time.Time
		delta int
	}
	first, last := map[string]time.Time{}, map[string]time.Time{}
	for _, ev := range events {
		name, _ := ev["pod"].(string)
		if name == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, ev["time"].(string))
		require.NoError(t, err)
		if _, ok := first[name]; !ok {
			first[name] = at
		}
		last[name] = at
	}
	var edges []edge
	for name := range first {
		edges = append(edges, edge{first[name], 1}, edge{last[name], -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta // an end before a start at the same time
	})
	n, most := 0, 0
	for _, e := range edges {
		n += e.delta
		most = max(most, n)
	}
	return most
}

var jobPodName = regexp.MustCompile(`^batch-[bcdfghjklmnpqrstvwxz2456789]{5}$`)

// A Job of 3 completions, 2 at a time, runs 3 pods that succeed, never
// more than 2 at once. The first two wait until both run, so the Job
// cannot finish unless it runs 2 at once.
func TestJobCompletionsParallelism(t *testing.T) {
	k := newPodkit(t)
	shared := t.TempDir()
	file := writeJob(t, "batch", "  completions: 3\n  parallelism: 2\n",
		`touch /shared/$HOSTNAME; until [ $(ls /shared | wc -l) -ge 2 ]; do sleep 0.05; done; echo done`, shared)
	stdout, stderr, code := k.run("run", "-f", file, "--events", "json")
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	events := jsonEvents(t, stdout)
	pods, reasons := workloadPods(events, "Job/batch")
	require.Len(t, pods, 3, "stdout:\n%s", stdout)
	assert.Equal(t, []string{"SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "Completed"}, reasons)
	phases := finalPhases(events)
	for _, p := range pods {
		assert.Regexp(t, jobPodName, p)
		assert.Equal(t, "Succeeded", phases[p], "pod %s", p)
	}
	assert.Len(t, phases, 3, "pods other than the Job's ran")
	assert.LessOrEqual(t, maxConcurrent(t, events), 2)
	assert.Equal(t, 3, strings.Count(stderr, "work | done\n"))
	names, _ := os.ReadDir(k.runDir)
	assert.Empty(t, names, "a pod's socket is left")
}

// A Job whose pod always fails replaces it until more than backoffLimit
// pods have failed: backoffLimit 2 fails after 3 failed pods, with status 1.
func TestJobBackoffLimitExceeded(t *testing.T) {
	k := newPodkit(t)
	file := writeJob(t, "batch", "  backoffLimit: 2\n", "echo failing; exit 3", "")
	stdout, stderr, code := k.run("run", "-f", file, "--events", "json", "--job-backoff", "10ms")
	assert.Equal(t, 1, code, "stderr:\n%s", stderr)
	events := jsonEvents(t, stdout)
	pods, reasons := workloadPods(events, "Job/batch")
	require.Len(t, pods, 3, "stdout:\n%s", stdout)
	assert.Equal(t, []string{"SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "BackoffLimitExceeded"}, reasons)
	phases := finalPhases(events)
	for _, p := range pods {
		assert.Equal(t, "Failed", phases[p], "pod %s", p)
	}
	assert.Len(t, phases, 3)
	assert.Contains(t, stderr, `job "batch": job failed: BackoffLimitExceeded: 3 pods failed, backoffLimit 2`)

	// Text events name the Job as the controller's do.
	_, stderr, code = k.run("run", "-f", file, "--job-backoff", "10ms")
	assert.Equal(t, 1, code)
	assert.Regexp(t, `SuccessfulCreate job batch: Created pod: batch-[a-z0-9]{5}\n`, stderr)
	assert.Contains(t, stderr, "BackoffLimitExceeded job batch: Job has reached the specified backoff limit\n")
}

// activeDeadlineSeconds ends a Job whose pod runs on, stopping the pod
// gracefully: its TERM trap runs.
func TestJobActiveDeadline(t *testing.T) {
	k := newPodkit(t)
	file := writeJob(t, "batch", "  activeDeadlineSeconds: 1\n",
		`trap 'echo stopping; exit 0' TERM; echo started; sleep 3600 & wait`, "")
	stdout, stderr, code := k.run("run", "-f", file, "--events", "json")
	assert.Equal(t, 1, code, "stderr:\n%s", stderr)
	events := jsonEvents(t, stdout)
	pods, reasons := workloadPods(events, "Job/batch")
	assert.Len(t, pods, 1)
	assert.Equal(t, []string{"SuccessfulCreate", "DeadlineExceeded"}, reasons)
	assert.Contains(t, stderr, "work | stopping\n")
	assert.Contains(t, stdout, `"reason":"Killing","signal":"SIGTERM","message":"Stopping container work with SIGTERM: pod stopped: job \"batch\": job failed: DeadlineExceeded`)
	assert.Contains(t, stderr, `job "batch": job failed: DeadlineExceeded: active longer than 1s`)
	names, _ := os.ReadDir(k.runDir)
	assert.Empty(t, names, "a pod's socket is left")
}

// A work queue (parallelism without completions) is complete once a pod
// has succeeded and none runs; no pod starts after the first success.
func TestJobWorkQueue(t *testing.T) {
	k := newPodkit(t)
	file := writeJob(t, "batch", "  parallelism: 2\n", "echo done", "")
	stdout, stderr, code := k.run("run", "-f", file, "--events", "json")
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	events := jsonEvents(t, stdout)
	pods, reasons := workloadPods(events, "Job/batch")
	require.NotEmpty(t, pods)
	assert.LessOrEqual(t, len(pods), 2)
	assert.Equal(t, "Completed", reasons[len(reasons)-1])
	for _, p := range pods {
		assert.Equal(t, "Succeeded", finalPhases(events)[p])
	}
}

func TestJobBackoffDelay(t *testing.T) {
	b := pod.Backoff{Initial: jobBackoffInitial, Max: jobBackoffMax}
	var got []time.Duration
	for n := int32(1); n <= 8; n++ {
		got = append(got, backoffDelay(b, n))
	}
	assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 320 * time.Second, 6 * time.Minute, 6 * time.Minute}, got)
}

func TestGenerateName(t *testing.T) {
	assert.Regexp(t, `^pi-[bcdfghjklmnpqrstvwxz2456789]{5}$`, generateName("pi"))
	long := generateName(strings.Repeat("a", 80))
	assert.Len(t, long, 63)
	assert.Equal(t, strings.Repeat("a", 57)+"-", long[:58])
}

// With restartPolicy OnFailure the pod restarts its failing container
// itself, and the restarts count against backoffLimit, as in Kubernetes.
func TestJobOnFailureRestartsCount(t *testing.T) {
	k := newPodkit(t)
	file := writeJob(t, "batch", "  backoffLimit: 1\n", "echo failing; exit 3", "")
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(data), "restartPolicy: Never", "restartPolicy: OnFailure", 1)), 0o644))
	stdout, stderr, code := k.run("run", "-f", file, "--events", "json")
	assert.Equal(t, 1, code, "stderr:\n%s", stderr)
	pods, reasons := workloadPods(jsonEvents(t, stdout), "Job/batch")
	assert.Len(t, pods, 1)
	assert.Equal(t, []string{"SuccessfulCreate", "BackoffLimitExceeded"}, reasons)
	assert.Contains(t, stderr, `job "batch": job failed: BackoffLimitExceeded: 1 container restarts, backoffLimit 1`)
	assert.Contains(t, stderr, "work | failing\n")
}

func TestPastBackoffLimitOnFailure(t *testing.T) {
	assert.False(t, pastBackoffLimitOnFailure(0, 0))
	assert.True(t, pastBackoffLimitOnFailure(1, 0))
	assert.False(t, pastBackoffLimitOnFailure(1, 2))
	assert.True(t, pastBackoffLimitOnFailure(2, 2))
}
