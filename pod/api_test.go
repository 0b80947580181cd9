package pod_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/podkit/podkit/pod"
)

func TestNewRejectsBadSpecs(t *testing.T) {
	ok := pod.Container{Name: "app", Command: []string{"true"}}
	tests := []struct {
		name string
		pod  string
		spec pod.Spec
		opts []pod.Option
		want []string // every fragment must appear in the error
	}{
		{"no containers", "p", pod.Spec{}, nil, []string{"containers", "at least one container"}},
		{"bad pod name", "Bad_Name", pod.Spec{Containers: []pod.Container{ok}}, nil, []string{`name: invalid value "Bad_Name"`}},
		{"empty pod name", "", pod.Spec{Containers: []pod.Container{ok}}, nil, []string{`name: invalid value ""`}},
		{"bad hostname", "p", pod.Spec{Containers: []pod.Container{ok}, Hostname: "no.dots"}, nil, []string{`hostname: invalid value "no.dots"`}},
		{"missing container name", "p", pod.Spec{Containers: []pod.Container{{Command: []string{"true"}}}}, nil, []string{"containers[0].name", "required"}},
		{"bad container name", "p", pod.Spec{Containers: []pod.Container{{Name: "App", Command: []string{"true"}}}}, nil, []string{`container "App".name: invalid value "App"`}},
		{"duplicate names", "p", pod.Spec{Containers: []pod.Container{ok, ok}}, nil, []string{`container "app".name: invalid value "app": duplicate`}},
		{"no command", "p", pod.Spec{Containers: []pod.Container{{Name: "app"}}}, nil, []string{`container "app".command`, "required"}},
		{"empty command", "p", pod.Spec{Containers: []pod.Container{{Name: "app", Command: []string{""}}}}, nil, []string{`container "app".command`}},
		{"NUL in args", "p", pod.Spec{Containers: []pod.Container{{Name: "app", Command: []string{"echo"}, Args: []string{"a\x00b"}}}}, nil, []string{`container "app".command[1]`, "NUL"}},
		{"bad env", "p", pod.Spec{Containers: []pod.Container{{Name: "app", Command: []string{"true"}, Env: []string{"NOVALUE"}}}}, nil, []string{`container "app".env[0]: invalid value "NOVALUE"`}},
		{"relative workingDir", "p", pod.Spec{Containers: []pod.Container{{Name: "app", Command: []string{"true"}, WorkingDir: "tmp"}}}, nil, []string{`workingDir: invalid value "tmp": must be an absolute path`}},
		{"bad stop signal", "p", pod.Spec{Containers: []pod.Container{{Name: "app", Command: []string{"true"}, StopSignal: 99}}}, nil, []string{`stopSignal: invalid value "99"`}},
		{"bad restart policy", "p", pod.Spec{Containers: []pod.Container{ok}, RestartPolicy: "Sometimes"}, nil, []string{`restartPolicy: invalid value "Sometimes"`}},
		{"negative grace", "p", pod.Spec{Containers: []pod.Container{ok}, TerminationGracePeriod: new(-time.Second)}, nil, []string{`terminationGracePeriod: invalid value "-1s"`}},
		{"huge grace", "p", pod.Spec{Containers: []pod.Container{ok}, TerminationGracePeriod: new(pod.MaxDuration + time.Second)}, nil, []string{`terminationGracePeriod: invalid value "876000h0m1s": must be at most 876000h0m0s`}},
		{"huge deadline", "p", pod.Spec{Containers: []pod.Container{ok}, ActiveDeadline: pod.MaxDuration + 1}, nil, []string{`activeDeadline: invalid value "876000h0m0.000000001s": must be at most 876000h0m0s`}},
		{"huge probe timeout", "p", pod.Spec{Containers: []pod.Container{{Name: "app", Command: []string{"true"},
			LivenessProbe: &pod.Probe{Exec: &pod.ExecAction{Command: []string{"true"}}, Timeout: math.MaxInt64}}}}, nil, []string{`livenessProbe.timeout: invalid value "2562047h47m16.854775807s": must be at most 876000h0m0s`}},
		{"huge preStop sleep", "p", pod.Spec{Containers: []pod.Container{{Name: "app", Command: []string{"true"},
			Lifecycle: &pod.Lifecycle{PreStop: &pod.LifecycleHandler{Sleep: &pod.SleepAction{Duration: math.MaxInt64}}}}}}, nil, []string{`preStop.sleep.duration: invalid value "2562047h47m16.854775807s": must be at most 876000h0m0s`}},
		{"negative backoff", "p", pod.Spec{Containers: []pod.Container{ok}}, []pod.Option{pod.WithBackoff(pod.Backoff{Initial: -1})}, []string{`backoff.initial: invalid value "-1ns"`}},
		{"max below initial", "p", pod.Spec{Containers: []pod.Container{ok}}, []pod.Option{pod.WithBackoff(pod.Backoff{Initial: time.Minute, Max: time.Second})}, []string{`backoff.max: invalid value "1s"`}},
		{"negative log buffer", "p", pod.Spec{Containers: []pod.Container{ok}}, []pod.Option{pod.WithLogBufferSize(-1)}, []string{`logBufferBytes: invalid value "-1"`}},
		{"two problems at once", "p", pod.Spec{Containers: []pod.Container{{Name: "x"}}, RestartPolicy: "x"}, nil, []string{"restartPolicy", `container "x".command`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := pod.New(tt.pod, tt.spec, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.ErrorIs(t, err, pod.ErrInvalidSpec)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	long := strings.Repeat("a", 62) + "-b"
	p, err := pod.New(long, pod.Spec{
		Containers: []pod.Container{{Name: "app", Command: []string{"true"}}},
	})
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("a", 62), p.Hostname(), "cut to 63 characters without the trailing '-'")
	st := p.Status()
	assert.Equal(t, pod.PhasePending, st.Phase)
	require.Len(t, st.Containers, 1)
	assert.Equal(t, pod.ReasonContainerCreating, st.Containers[0].State.Waiting.Reason)
	assert.Equal(t, pod.RoleMain, st.Containers[0].Role)
	assert.ErrorIs(t, p.Wait(), pod.ErrNotStarted)
}

func TestStartTwice(t *testing.T) {
	p, _, _ := startPod(t, "twice", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}}},
	})
	assert.ErrorIs(t, p.Start(context.Background()), pod.ErrAlreadyStarted)
	assert.ErrorIs(t, p.Run(context.Background()), pod.ErrAlreadyStarted)
}

func TestJobLifecycle(t *testing.T) {
	p, rec, _ := startPod(t, "job", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers: []pod.Container{
			// b outlasts a by far more than a loaded machine's delays.
			{Name: "a", Command: []string{"sh", "-c", "exit 0"}},
			{Name: "b", Command: []string{"sh", "-c", "sleep 1.5"}},
		},
	})
	rec.until("succeeded", isPhase(pod.PhaseSucceeded))
	require.NoError(t, p.Wait())
	rec.rest()
	phases := rec.reasons(func(ev pod.Event) bool { return ev.Reason == pod.EventPodPhase })
	assert.Equal(t, []string{"PodPhase", "PodPhase", "PodPhase"}, phases)
	var seen []pod.Phase
	for _, ev := range rec.events {
		if ev.Reason == pod.EventPodPhase {
			seen = append(seen, ev.Phase)
		}
		assert.Equal(t, "job", ev.Pod)
		assert.False(t, ev.Time.IsZero())
	}
	assert.Equal(t, []pod.Phase{pod.PhasePending, pod.PhaseRunning, pod.PhaseSucceeded}, seen)
	assert.Equal(t, []string{"Started", "Exited"}, rec.reasons(func(ev pod.Event) bool {
		return ev.Role == pod.RoleInfra
	}))
	assert.Less(t, index(rec, pod.EventExited, "a"), index(rec, pod.EventExited, "b"))

	st := p.Status()
	for _, c := range st.Containers {
		require.NotNil(t, c.State.Terminated, c.Name)
		assert.Equal(t, pod.ReasonCompleted, c.State.Terminated.Reason)
		assert.False(t, c.State.Terminated.StartedAt.After(c.State.Terminated.FinishedAt))
		assert.False(t, c.Ready)
		assert.Zero(t, c.PID)
	}
	ready, _ := st.Condition(pod.Ready)
	assert.False(t, ready.Status)
	sandbox, _ := st.Condition(pod.PodReadyToStartContainers)
	assert.False(t, sandbox.Status)
	assert.Zero(t, st.InfraPID)
}

func index(r *recorder, reason, container string) int {
	for i, ev := range r.events {
		if ev.Reason == reason && ev.Container == container {
			return i
		}
	}
	return -1
}

func TestEventsAreLogged(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	p, _, _ := startPod(t, "logged", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers:    []pod.Container{{Name: "c", Command: []string{"sh", "-c", "exit 2"}}},
	}, pod.WithLogger(zap.New(core)))
	_ = p.Wait()
	exited := logs.FilterField(zap.String("reason", pod.EventExited)).FilterField(zap.String("container", "c")).All()
	require.Len(t, exited, 1)
	assert.Equal(t, zap.WarnLevel, exited[0].Level)
	assert.Equal(t, "pod", exited[0].LoggerName)
	fields := exited[0].ContextMap()
	assert.Equal(t, "logged", fields["pod"])
	assert.Equal(t, "main", fields["role"])
	assert.EqualValues(t, 2, fields["exitCode"])
	assert.NotEmpty(t, logs.FilterField(zap.String("phase", string(pod.PhaseFailed))).All())
}

func TestReadyConditions(t *testing.T) {
	p, rec, _ := startPod(t, "ready", pod.Spec{
		Containers: []pod.Container{
			{Name: "a", Command: []string{"sleep", "1000"}},
			{Name: "b", Command: []string{"sleep", "1000"}},
		},
	})
	ev := rec.until("pod ready", func(ev pod.Event) bool { return ev.Reason == pod.EventReady && ev.Container == "" })
	assert.True(t, ev.Ready)
	st := p.Status()
	for _, ct := range []pod.ConditionType{pod.PodReadyToStartContainers, pod.Initialized, pod.ContainersReady, pod.Ready} {
		c, ok := st.Condition(ct)
		require.True(t, ok, ct)
		assert.True(t, c.Status, ct)
	}
	for _, c := range st.Containers {
		assert.True(t, c.Ready)
		assert.True(t, c.Started)
		assert.NotNil(t, c.State.Running)
		assert.NotZero(t, c.PID)
	}
	b, _ := st.Container("b")
	require.NoError(t, syscall.Kill(b.PID, syscall.SIGKILL))
	ev = rec.until("pod unready", func(ev pod.Event) bool { return ev.Reason == pod.EventReady && ev.Container == "" })
	assert.False(t, ev.Ready)
	assert.Contains(t, ev.Message, "[b]")
}

func TestStartError(t *testing.T) {
	p, rec, _ := startPod(t, "starterr", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers: []pod.Container{
			{Name: "missing", Command: []string{"no-such-command-anywhere"}},
			{Name: "baddir", Command: []string{"true"}, WorkingDir: "/no/such/dir"},
		},
	})
	rec.until("failed", isPhase(pod.PhaseFailed))
	var exitErr *pod.ExitError
	require.ErrorAs(t, p.Wait(), &exitErr)
	assert.Equal(t, pod.ReasonStartError, exitErr.Reason)
	st := p.Status()
	missing, _ := st.Container("missing")
	assert.Equal(t, 128, missing.State.Terminated.ExitCode)
	assert.Contains(t, missing.State.Terminated.Message, `"no-such-command-anywhere" not found`)
	baddir, _ := st.Container("baddir")
	assert.Equal(t, pod.ReasonStartError, baddir.State.Terminated.Reason)
	assert.Contains(t, baddir.State.Terminated.Message, "/no/such/dir")
	assert.Equal(t, 2, len(rec.reasons(func(ev pod.Event) bool { return ev.Reason == pod.EventFailed })))
}

func TestEnvironmentAndWorkingDir(t *testing.T) {
	p, rec, _ := startPod(t, "env", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Hostname:      "envhost",
		Containers: []pod.Container{{Name: "c", Command: []string{"sh", "-c"},
			Args:       []string{`echo "$HOSTNAME $GREETING $PATH $HOME"; pwd`},
			Env:        []string{"GREETING=hi", "GREETING=hello"},
			WorkingDir: "/tmp"}},
	})
	rec.until("done", isPhase(pod.PhaseSucceeded))
	_ = p.Wait()
	assert.Equal(t, []string{"envhost hello /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ", "/tmp"},
		logText(t, p, "c", pod.LogOptions{}))
}

func TestLogs(t *testing.T) {
	var tee bytes.Buffer
	long := strings.Repeat("x", 20000)
	p, rec, _ := startPod(t, "logs", pod.Spec{
		RestartPolicy: pod.RestartOnFailure,
		Volumes:       []pod.Volume{stateVolume()},
		Containers: []pod.Container{{Name: "c", Stdout: &tee, Env: []string{"F=/run/state/ran"}, VolumeMounts: stateMount(),
			Command: []string{"sh", "-c", `echo out1; echo err1 >&2; echo out2; printf '` + long + `\n'; printf tail; ` +
				`if [ -e "$F" ]; then exit 0; fi; touch "$F"; exit 1`}}},
	})
	rec.until("succeeded", isPhase(pod.PhaseSucceeded))
	require.NoError(t, p.Wait())

	cur, err := p.Logs("c", pod.LogOptions{})
	require.NoError(t, err)
	prev, err := p.Logs("c", pod.LogOptions{Previous: true})
	require.NoError(t, err)
	// Each instance logs the same lines.
	for _, entries := range [][]pod.LogEntry{cur, prev} {
		var out, errs []string
		for _, e := range entries {
			if e.Stream == pod.Stderr {
				errs = append(errs, e.Text)
			} else {
				out = append(out, e.Text)
			}
		}
		assert.Equal(t, []string{"err1"}, errs)
		require.Len(t, out, 5)
		assert.Equal(t, []string{"out1", "out2"}, out[:2])
		assert.Equal(t, long[:16384], out[2], "long lines split at 16 KiB")
		assert.Equal(t, long[16384:], out[3])
		assert.Equal(t, "tail", out[4])
	}
	tail, err := p.Logs("c", pod.LogOptions{Tail: 1})
	require.NoError(t, err)
	require.Len(t, tail, 1)

	var partial []bool
	for _, e := range cur {
		if e.Stream == pod.Stdout {
			partial = append(partial, e.Partial)
		}
	}
	assert.Equal(t, []bool{false, false, true, false, true}, partial)

	// The CRI format round-trips.
	for _, e := range cur {
		line := e.String()
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (stdout|stderr) [FP] `, line)
		back, err := pod.ParseLogEntry(line + "\n")
		require.NoError(t, err)
		assert.True(t, e.Time.Equal(back.Time))
		back.Time = e.Time
		assert.Equal(t, e, back)
	}
	assert.Equal(t, strings.Repeat("out1\nout2\n"+long+"\ntail\n", 2), tee.String())

	_, err = p.Logs("nope", pod.LogOptions{})
	assert.ErrorIs(t, err, pod.ErrNoContainer)
	_, err = p.Logs("c", pod.LogOptions{Tail: -1})
	assert.Error(t, err)
}

func TestLogsPrevious(t *testing.T) {
	p, rec, _ := startPod(t, "prev", pod.Spec{
		RestartPolicy: pod.RestartOnFailure,
		Volumes:       []pod.Volume{stateVolume()},
		Containers: []pod.Container{{Name: "c", Command: []string{"sh", "-c",
			`if [ -e "$F" ]; then echo second; exit 0; fi; touch "$F"; echo first; exit 1`}, Env: []string{"F=/run/state/ran"}, VolumeMounts: stateMount()}},
	})
	_, err := p.Logs("c", pod.LogOptions{Previous: true})
	assert.ErrorIs(t, err, pod.ErrNoPreviousInstance)
	rec.until("succeeded", isPhase(pod.PhaseSucceeded))
	assert.Equal(t, []string{"second"}, logText(t, p, "c", pod.LogOptions{}))
	assert.Equal(t, []string{"first"}, logText(t, p, "c", pod.LogOptions{Previous: true}))
	c, _ := p.Status().Container("c")
	assert.Equal(t, 1, c.RestartCount)
	assert.Equal(t, 1, c.LastTerminationState.Terminated.ExitCode)
}

func TestParseLogEntryErrors(t *testing.T) {
	for _, line := range []string{"", "nonsense", "2026-01-01T00:00:00Z stdout", "yesterday stdout F x",
		"2026-01-01T00:00:00Z stdin F x", "2026-01-01T00:00:00Z stdout X x"} {
		_, err := pod.ParseLogEntry(line)
		assert.Error(t, err, line)
	}
}

func TestExec(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "ownPID", true: "sharedPID"}[shared], func(t *testing.T) {
			p, rec, _ := startPod(t, "exec", pod.Spec{
				ShareProcessNamespace: shared,
				Hostname:              "exechost",
				Containers:            []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}, WorkingDir: "/tmp", Env: []string{"X=1"}}},
			})
			rec.until("running", isPhase(pod.PhaseRunning))

			var out bytes.Buffer
			cmd := exec.Command("sh", "-c", `echo "$(hostname) $X $(pwd)"; exit 3`)
			cmd.Stdout = &out
			err := p.Exec(context.Background(), "c", cmd)
			var exitErr *exec.ExitError
			require.ErrorAs(t, err, &exitErr)
			assert.Equal(t, 3, exitErr.ExitCode())
			assert.Equal(t, "exechost 1 /tmp\n", out.String())
			c, _ := p.Status().Container("c")
			assert.NotEqual(t, namespaceOf(t, os.Getpid(), "net"), namespaceOf(t, c.PID, "net"))

			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			err = p.Exec(ctx, "c", exec.Command("sleep", "1000"))
			assert.ErrorIs(t, err, context.DeadlineExceeded)

			assert.ErrorIs(t, p.Exec(context.Background(), "nope", exec.Command("true")), pod.ErrNoContainer)
			started := exec.Command("true")
			started.SysProcAttr = &syscall.SysProcAttr{}
			assert.Error(t, p.Exec(context.Background(), "c", started))
		})
	}
}

func TestExecNotRunning(t *testing.T) {
	p, rec, _ := startPod(t, "exec-done", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers: []pod.Container{
			{Name: "done", Command: []string{"true"}},
			{Name: "running", Command: []string{"sleep", "1000"}},
		},
	})
	rec.until("done exited", isReason(pod.EventExited, "done"))
	err := p.Exec(context.Background(), "done", exec.Command("true"))
	assert.ErrorIs(t, err, pod.ErrNotRunning)
}

// TestUnprivileged runs a pod as an unprivileged user: it must fail with one
// clear error and leave nothing behind.
func TestUnprivileged(t *testing.T) {
	requireRoot(t)
	dir, err := os.MkdirTemp("", "podkit-unpriv")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	require.NoError(t, os.Chmod(dir, 0o755))
	exe, err := os.Executable()
	require.NoError(t, err)
	data, err := os.ReadFile(exe)
	require.NoError(t, err)
	bin := filepath.Join(dir, "pod.test")
	require.NoError(t, os.WriteFile(bin, data, 0o755))

	cmd := exec.Command(bin)
	cmd.Env = []string{helperEnv + "=newpod"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), `pod "unprivileged": creating the pod's cgroup needs root: `)
	assert.Contains(t, string(out), "permission denied")
	assert.Zero(t, findProcess(t, "podkit-infra unprivileged"), "an infra was left behind")
}

func TestExitErrorMessages(t *testing.T) {
	tests := []struct {
		err  pod.ExitError
		want string
	}{
		{pod.ExitError{Pod: "p", Container: "c", ExitCode: 2, Reason: pod.ReasonError}, `pod "p": container "c": exited with code 2`},
		{pod.ExitError{Pod: "p", Container: "c", ExitCode: 137, Signal: syscall.SIGKILL, Reason: pod.ReasonOOMKilled}, `pod "p": container "c": killed by signal 9 (SIGKILL) (OOMKilled)`},
		{pod.ExitError{Pod: "p", Container: "c", ExitCode: 128, Reason: pod.ReasonStartError, Message: "boom"}, `pod "p": container "c": failed to start (StartError): boom`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
	var target *pod.ExitError
	assert.True(t, errors.As(error(&tests[0].err), &target))
}

func TestSpecRoundTrip(t *testing.T) {
	grace := 5 * time.Second
	spec := pod.Spec{
		InitContainers: []pod.Container{
			{Name: "init", Image: "busybox", Command: []string{"true"}, StopSignal: syscall.SIGTERM},
			{Name: "proxy", Command: []string{"sleep", "1"}, RestartPolicy: pod.RestartAlways, StopSignal: syscall.SIGINT},
		},
		Containers:             []pod.Container{{Name: "app", Command: []string{"sleep", "1"}, StopSignal: syscall.SIGTERM}},
		Volumes:                []pod.Volume{{Name: "data", EmptyDir: &pod.EmptyDirVolume{}}},
		RestartPolicy:          pod.RestartOnFailure,
		TerminationGracePeriod: &grace,
		ActiveDeadline:         time.Minute,
		Hostname:               "host",
		ShareProcessNamespace:  true,
		Resources:              pod.Resources{MemoryLimit: 64 << 20},
		Ports:                  []pod.Port{{ContainerPort: 80, HostPort: 8080}},
		Network:                pod.Network{Mode: pod.NetworkBridged, Subnet: netip.MustParsePrefix("10.9.8.4/30")},
	}
	p, err := pod.New("spec", spec)
	require.NoError(t, err)
	assert.Equal(t, spec, p.Spec())
	c, _ := p.Status().Container("proxy")
	assert.Equal(t, pod.RoleSidecar, c.Role)

	// New copies the spec: the caller's later changes do not reach the pod.
	spec.Containers[0].Command[0] = "changed"
	spec.Hostname = "changed"
	*spec.TerminationGracePeriod = time.Hour
	assert.Equal(t, []string{"sleep", "1"}, p.Spec().Containers[0].Command)
	assert.Equal(t, "host", p.Spec().Hostname)
	assert.Equal(t, 5*time.Second, *p.Spec().TerminationGracePeriod)

	// Defaults are filled in.
	p, err = pod.New("spec-defaults", pod.Spec{Containers: []pod.Container{{Name: "app", Command: []string{"true"}}}})
	require.NoError(t, err)
	got := p.Spec()
	assert.Equal(t, pod.RestartAlways, got.RestartPolicy)
	require.NotNil(t, got.TerminationGracePeriod)
	assert.Equal(t, pod.DefaultGracePeriod, *got.TerminationGracePeriod)
	assert.Equal(t, "spec-defaults", got.Hostname)
	assert.Equal(t, pod.Network{Mode: pod.NetworkIsolated}, got.Network)
	assert.Equal(t, syscall.SIGTERM, got.Containers[0].StopSignal)
}

func TestFollowLogs(t *testing.T) {
	requireRoot(t)
	p, err := pod.New("follow", pod.Spec{
		RestartPolicy: pod.RestartOnFailure,
		Volumes:       []pod.Volume{stateVolume()},
		Containers: []pod.Container{{Name: "c", VolumeMounts: stateMount(), Command: []string{"sh", "-c",
			// Fails twice, then succeeds, counting its runs in a file.
			`n=$(cat /run/state/n 2>/dev/null || echo 0); echo run $n; echo $((n+1)) > /run/state/n; [ $n -ge 2 ]`}}},
	}, pod.WithBackoff(pod.Backoff{Initial: time.Millisecond}))
	require.NoError(t, err)
	var got []string
	followed := make(chan error, 1)
	go func() {
		// Started before the pod: it waits for the first instance.
		followed <- p.FollowLogs(context.Background(), "c", pod.LogOptions{}, func(e pod.LogEntry) error {
			got = append(got, e.Text)
			return nil
		})
	}()
	require.NoError(t, p.Run(context.Background()))
	select {
	case err := <-followed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("FollowLogs did not end with the container")
	}
	assert.Equal(t, []string{"run 0", "run 1", "run 2"}, got)

	// On a finished pod it delivers the last lines and returns.
	got = nil
	require.NoError(t, p.FollowLogs(context.Background(), "c", pod.LogOptions{Tail: 1}, func(e pod.LogEntry) error {
		got = append(got, e.Text)
		return nil
	}))
	assert.Equal(t, []string{"run 2"}, got)
	boom := errors.New("boom")
	assert.ErrorIs(t, p.FollowLogs(context.Background(), "c", pod.LogOptions{}, func(pod.LogEntry) error { return boom }), boom)
	assert.ErrorContains(t, p.FollowLogs(context.Background(), "c", pod.LogOptions{Previous: true}, nil), "previous: cannot be followed")
}

func TestStopSignalValidation(t *testing.T) {
	for _, tt := range []struct {
		sig    syscall.Signal
		shared bool
		want   string
	}{
		{32, false, "reserved by the C library"},
		{syscall.SIGURG, false, "does not forward it"},
		{syscall.SIGURG, true, ""},
		{syscall.Signal(37), false, ""},
	} {
		_, err := pod.New("p", pod.Spec{
			ShareProcessNamespace: tt.shared,
			Containers:            []pod.Container{{Name: "c", Command: []string{"true"}, StopSignal: tt.sig}},
		})
		if tt.want == "" {
			assert.NoError(t, err, "signal %d", tt.sig)
		} else {
			assert.ErrorContains(t, err, tt.want, "signal %d", tt.sig)
		}
	}
}

// A stop signal the init knew nothing of (a real-time one) still reaches
// the command in its own PID namespace.
func TestRealtimeStopSignalIsForwarded(t *testing.T) {
	p, rec, cancel := startPod(t, "rtsig", pod.Spec{
		TerminationGracePeriod: new(time.Hour),
		Containers: []pod.Container{{Name: "c", StopSignal: 37,
			Command: []string{"sh", "-c", `trap 'echo got it; exit 0' 37; echo up; while :; do sleep 0.05; done`}}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	waitLogs(t, p, "c", 1)
	cancel()
	require.NoError(t, waitTimeout(p, 20*time.Second))
	c, _ := p.Status().Container("c")
	assert.Equal(t, 0, c.State.Terminated.ExitCode, "the stop signal did not reach the command")
}

// waitTimeout waits for p, failing after d.
func waitTimeout(p *pod.Pod, d time.Duration) error {
	select {
	case <-p.Done():
		return nil
	case <-time.After(d):
		return errors.New("the pod did not end")
	}
}
