package pod_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// TestMemoryLimitOOMKilled checks that a container over its memory limit
// ends OOMKilled in its status, its error and its Exited event, on the
// cgroup version of the host it runs on.
func TestMemoryLimitOOMKilled(t *testing.T) {
	p, rec, _ := startPod(t, "oom", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers: []pod.Container{{Name: "hog", Command: []string{"tail", "/dev/zero"},
			Resources: pod.Resources{MemoryLimit: 64 << 20}}},
	})
	ev := rec.until("hog exit", isReason(pod.EventExited, "hog"))
	assert.Equal(t, 137, ev.ExitCode)
	assert.Equal(t, pod.EventWarning, ev.Type)
	assert.Equal(t, pod.ReasonOOMKilled, ev.ExitReason)
	assert.Contains(t, ev.Message, "Container hog was OOMKilled")
	var exitErr *pod.ExitError
	require.ErrorAs(t, p.Wait(), &exitErr)
	assert.True(t, exitErr.OOMKilled)
	assert.Equal(t, pod.ReasonOOMKilled, exitErr.Reason)
	hog, _ := p.Status().Container("hog")
	assert.Equal(t, pod.ReasonOOMKilled, hog.State.Terminated.Reason)
	assert.Equal(t, 137, hog.State.Terminated.ExitCode)
}

func TestPidsLimitStopsForkBomb(t *testing.T) {
	bomb, env := helperCommand(t, "forkbomb", "200")
	p, rec, _ := startPod(t, "forkbomb", pod.Spec{
		Containers: []pod.Container{
			{Name: "bomb", Command: bomb, Env: env, Resources: pod.Resources{PidsLimit: 40}},
			{Name: "bystander", Command: []string{"sleep", "1000"}},
		},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	waitLogs(t, p, "bomb", 1)
	report := logText(t, p, "bomb", pod.LogOptions{})[0]
	var started, failed int
	_, err := fmt.Sscanf(report, "started %d failed %d", &started, &failed)
	require.NoError(t, err, report)
	assert.Positive(t, failed, report)
	assert.Less(t, started, 40, report)
	assert.Contains(t, report, "resource temporarily unavailable")
	st, err := p.Stats()
	require.NoError(t, err)
	assert.LessOrEqual(t, st.Containers["bomb"].Pids, uint64(40))
	bystander, _ := p.Status().Container("bystander")
	assert.NotNil(t, bystander.State.Running, "the rest of the pod stopped")
	require.NoError(t, p.Exec(context.Background(), "bystander", exec.Command("true")), "the rest of the pod cannot fork")
}

func TestCPULimitThrottles(t *testing.T) {
	p, rec, _ := startPod(t, "cpu", pod.Spec{
		Containers: []pod.Container{{Name: "spin", Command: []string{"sh", "-c", "while :; do :; done"},
			Resources: pod.Resources{CPULimit: 200}}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	// The limit is converted as the kubelet does: a quota of 20ms per
	// 100ms, and shares of 200*1024/1000 (the request defaults to the limit).
	spin, _ := p.Status().Container("spin")
	if dir := cgroupDir(t, spin.PID, "cpu"); dir != "" {
		assert.Equal(t, "20000", readTrimmed(t, filepath.Join(dir, "cpu.cfs_quota_us")))
		assert.Equal(t, "100000", readTrimmed(t, filepath.Join(dir, "cpu.cfs_period_us")))
		assert.Equal(t, "204", readTrimmed(t, filepath.Join(dir, "cpu.shares")))
	} else {
		dir := cgroupDir(t, spin.PID, "")
		assert.Equal(t, "20000 100000", readTrimmed(t, filepath.Join(dir, "cpu.max")))
	}
	before, err := p.Stats()
	require.NoError(t, err)
	start := time.Now()
	time.Sleep(time.Second)
	after, err := p.Stats()
	require.NoError(t, err)
	wall := time.Since(start)
	used := after.Containers["spin"].CPUTime - before.Containers["spin"].CPUTime
	// 200 millicores allow 0.2s of CPU per second; an unthrottled busy loop
	// would use a whole second.
	assert.Less(t, used, wall*35/100, "used %s of CPU in %s", used, wall)
	assert.Greater(t, used, wall*5/100)
	assert.Greater(t, after.Containers["spin"].ThrottledPeriods, before.Containers["spin"].ThrottledPeriods)
	assert.GreaterOrEqual(t, after.Pod.CPUTime, after.Containers["spin"].CPUTime, "the pod's usage includes its containers'")
}

func TestStatsLifetime(t *testing.T) {
	p, err := pod.New("stats", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers:    []pod.Container{{Name: "c", Command: []string{"true"}}},
	})
	require.NoError(t, err)
	_, err = p.Stats()
	assert.ErrorIs(t, err, pod.ErrNotRunning, "before Start")
	requireRoot(t)
	require.NoError(t, p.Run(context.Background()))
	_, err = p.Stats()
	assert.ErrorIs(t, err, pod.ErrNotRunning, "after the end")
}

func TestResourceValidation(t *testing.T) {
	tests := []struct {
		r    pod.Resources
		want string
	}{
		{pod.Resources{MemoryLimit: -1}, `resources.memoryLimit: invalid value "-1": must not be negative`},
		{pod.Resources{MemoryLimit: 1 << 20}, `resources.memoryLimit: invalid value "1048576": must be at least 6291456 bytes`},
		{pod.Resources{MemoryLimit: 1 << 60}, `must be at most`},
		{pod.Resources{CPULimit: 1}, `resources.cpuLimit: invalid value "1": must be at least 10 millicores`},
		{pod.Resources{CPULimit: 5_000_000}, `resources.cpuLimit: invalid value "5000000": must be at most 1000000 millicores`},
		{pod.Resources{CPULimit: 500, CPURequest: 1000}, `cpuRequest: invalid value "1000": must not exceed cpuLimit (500)`},
		{pod.Resources{PidsLimit: -5}, `resources.pidsLimit: invalid value "-5"`},
		{pod.Resources{PidsLimit: 1 << 30}, `resources.pidsLimit: invalid value "1073741824": must be at most 4194304`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := pod.New("p", pod.Spec{
				Containers: []pod.Container{{Name: "c", Command: []string{"true"}, Resources: tt.r}},
			})
			require.ErrorIs(t, err, pod.ErrInvalidSpec)
			assert.Contains(t, err.Error(), `container "c".`+strings.TrimPrefix(tt.want, "resources.")[:0])
			assert.Contains(t, err.Error(), tt.want)
			_, err = pod.New("p", pod.Spec{
				Resources:  tt.r,
				Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
			})
			require.ErrorIs(t, err, pod.ErrInvalidSpec)
		})
	}
	_, err := pod.New("p", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
	}, pod.WithCgroupParent("../x"))
	assert.ErrorContains(t, err, `cgroupParent: invalid value "../x"`)
}

// TestLeftoversCleanedAfterSupervisorKilled kills a supervising program
// with SIGKILL, and checks that the next pod started removes the cgroups and
// the emptyDir volume (a mounted tmpfs) it left.
func TestLeftoversCleanedAfterSupervisorKilled(t *testing.T) {
	requireRoot(t)
	argv, env := helperCommand(t, "supervisor", "false")
	cmd := execCommand(argv, env)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line := make([]byte, 256)
	_, err = out.Read(line)
	require.NoError(t, err)
	left := podCgroups(t, cmd.Process.Pid)
	require.NotEmpty(t, left, "the supervisor's pod has no cgroup")
	volumes, _ := filepath.Glob(filepath.Join(pod.DefaultStateDir, "pods", fmt.Sprintf("orphaned_%d_*", cmd.Process.Pid)))
	require.Len(t, volumes, 1, "the supervisor's pod has no state directory")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.Eventually(t, func() bool { return len(processesInCgroups(t, left)) == 0 }, 10*time.Second, 5*time.Millisecond)
	assert.NotEmpty(t, podCgroups(t, cmd.Process.Pid), "nothing to clean up: the test proves nothing")
	assert.Contains(t, mountinfo(t), volumes[0], "the tmpfs volume is not mounted: the test proves nothing")

	p, err := pod.New("next", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers:    []pod.Container{{Name: "c", Command: []string{"true"}}},
	})
	require.NoError(t, err)
	require.NoError(t, p.Run(context.Background()))
	assert.Empty(t, podCgroups(t, cmd.Process.Pid), "stale cgroups survived the next pod's start")
	assert.NoDirExists(t, volumes[0], "a stale volume survived the next pod's start")
	assert.NotContains(t, mountinfo(t), volumes[0], "a stale tmpfs stayed mounted")
}

// cgroupDir returns the directory of pid's cgroup in the v1 hierarchy of
// controller, or "" if there is none; with controller "" the v2 one.
func cgroupDir(t *testing.T, pid int, controller string) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if controller == "" && parts[0] == "0" {
			return filepath.Join("/sys/fs/cgroup", parts[2])
		}
		for _, c := range strings.Split(parts[1], ",") {
			if controller != "" && c == controller {
				return filepath.Join("/sys/fs/cgroup", controller, parts[2])
			}
		}
	}
	return ""
}

func readTrimmed(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.TrimSpace(string(data))
}

func mountinfo(t *testing.T) string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	return string(data)
}

// podCgroups lists the cgroup directories, in every v1 hierarchy podkit
// uses (or the v2 mount), of pods supervised by pid.
func podCgroups(t *testing.T, pid int) []string {
	var dirs []string
	for _, root := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/freezer", "/sys/fs/cgroup"} {
		matches, _ := filepath.Glob(filepath.Join(root, "podkit", fmt.Sprintf("*_%d_*", pid)))
		dirs = append(dirs, matches...)
	}
	return dirs
}

func processesInCgroups(t *testing.T, dirs []string) []string {
	var procs []string
	for _, d := range dirs {
		filepath.WalkDir(d, func(path string, e os.DirEntry, err error) error {
			if err == nil && e.Name() == "cgroup.procs" {
				data, _ := os.ReadFile(path)
				procs = append(procs, strings.Fields(string(data))...)
			}
			return nil
		})
	}
	return procs
}

var _ = strconv.Itoa
