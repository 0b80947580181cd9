package pod_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/podkit/podkit/pod"
)

func TestRestartPolicies(t *testing.T) {
	tests := []struct {
		policy    pod.RestartPolicy
		exitCode  int
		restarts  bool
		wantPhase pod.Phase
	}{
		{pod.RestartAlways, 0, true, ""},
		{pod.RestartAlways, 1, true, ""},
		{pod.RestartOnFailure, 0, false, pod.PhaseSucceeded},
		{pod.RestartOnFailure, 1, true, ""},
		{pod.RestartNever, 0, false, pod.PhaseSucceeded},
		{pod.RestartNever, 1, false, pod.PhaseFailed},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/exit%d", tt.policy, tt.exitCode), func(t *testing.T) {
			p, rec, _ := startPod(t, "restarts", pod.Spec{
				RestartPolicy: tt.policy,
				Containers:    []pod.Container{{Name: "c", Command: []string{"sh", "-c", fmt.Sprintf("exit %d", tt.exitCode)}}},
			})
			if tt.restarts {
				rec.until("first start", isReason(pod.EventStarted, "c"))
				rec.until("restart", isReason(pod.EventStarted, "c"))
				c, _ := p.Status().Container("c")
				assert.Equal(t, 1, c.RestartCount)
				assert.Equal(t, pod.PhaseRunning, p.Status().Phase)
				return
			}
			rec.until("terminal phase", isPhase(tt.wantPhase))
			err := p.Wait()
			st := p.Status()
			assert.Equal(t, tt.wantPhase, st.Phase)
			c, _ := st.Container("c")
			assert.Zero(t, c.RestartCount)
			require.NotNil(t, c.State.Terminated)
			assert.Equal(t, tt.exitCode, c.State.Terminated.ExitCode)
			if tt.exitCode == 0 {
				assert.NoError(t, err)
				assert.Equal(t, pod.ReasonCompleted, c.State.Terminated.Reason)
				return
			}
			var exitErr *pod.ExitError
			require.ErrorAs(t, err, &exitErr)
			assert.Equal(t, "c", exitErr.Container)
			assert.Equal(t, tt.exitCode, exitErr.ExitCode)
			assert.Equal(t, pod.ReasonError, c.State.Terminated.Reason)
		})
	}
}

// TestCrashLoopBackOff drives a crashing container with a fake clock. Each
// instance exits only when the test hands it a token, so every step is
// deterministic.
func TestCrashLoopBackOff(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	p, rec, _ := startPod(t, "crashloop", pod.Spec{
		Volumes: []pod.Volume{stateVolume()},
		Containers: []pod.Container{{Name: "c", VolumeMounts: stateMount(), Command: []string{"sh", "-c",
			"while [ ! -e /run/state/token ]; do sleep 0.01; done; rm /run/state/token; exit 1"}}},
	}, pod.WithClock(clk), pod.WithBackoff(pod.Backoff{Initial: time.Second, Max: 4 * time.Second, Reset: time.Minute}))
	state, err := p.VolumePath("state")
	require.NoError(t, err)
	token := filepath.Join(state, "token")

	var delays []time.Duration
	next := func(runFor time.Duration) {
		t.Helper()
		rec.until("start", isReason(pod.EventStarted, "c"))
		clk.Step(runFor)
		require.NoError(t, os.WriteFile(token, nil, 0o644))
		rec.until("exit", isReason(pod.EventExited, "c"))
		ev := rec.until("restart or back-off", func(ev pod.Event) bool {
			return ev.Container == "c" && (ev.Reason == pod.EventBackOff || ev.Reason == pod.EventStarted)
		})
		if ev.Reason == pod.EventStarted {
			delays = append(delays, 0)
			rec.unread()
			return
		}
		delays = append(delays, ev.Delay)
		c, _ := p.Status().Container("c")
		require.NotNil(t, c.State.Waiting)
		assert.Equal(t, pod.ReasonCrashLoopBackOff, c.State.Waiting.Reason)
		require.NotNil(t, c.LastTerminationState.Terminated)
		assert.Equal(t, 1, c.LastTerminationState.Terminated.ExitCode)
		require.Eventually(t, clk.HasWaiters, 10*time.Second, time.Millisecond)
		clk.Step(ev.Delay - time.Nanosecond)
		assert.True(t, clk.HasWaiters(), "restarted before the back-off elapsed")
		clk.Step(time.Nanosecond)
	}
	for range 6 {
		next(0)
	}
	next(time.Minute) // ran long enough: the back-off starts over
	next(0)
	rec.until("ninth start", isReason(pod.EventStarted, "c"))
	assert.Equal(t, []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second, 0, time.Second}, delays)
	c, _ := p.Status().Container("c")
	assert.Equal(t, 8, c.RestartCount)
}

func TestGracefulStop(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharedPID=%v", shared), func(t *testing.T) {
			requireRoot(t)
			p, err := pod.New("graceful", pod.Spec{
				ShareProcessNamespace:  shared,
				TerminationGracePeriod: new(500 * time.Millisecond),
				Containers: []pod.Container{
					{Name: "polite", Command: []string{"sh", "-c", "trap 'echo bye; exit 0' TERM; echo up; sleep 1000 & wait"}},
					{Name: "stubborn", Command: []string{"sh", "-c", "trap '' TERM; echo up; sleep 1000 & wait; wait"}},
					{Name: "bare", Command: []string{"sleep", "1000"}},
				},
			})
			require.NoError(t, err)
			rec := record(t, p)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			require.NoError(t, p.Start(ctx))
			rec.until("running", isPhase(pod.PhaseRunning))
			waitLogs(t, p, "polite", 1)
			waitLogs(t, p, "stubborn", 1)
			netNS := namespaceOf(t, p.Status().InfraPID, "net")
			require.NotEmpty(t, processesIn(t, "net", netNS))

			cancel()
			require.ErrorIs(t, p.Wait(), context.Canceled)
			assert.Empty(t, processesIn(t, "net", netNS), "processes outlived their pod")
			rec.rest()

			st := p.Status()
			polite, _ := st.Container("polite")
			stubborn, _ := st.Container("stubborn")
			assert.Equal(t, 0, polite.State.Terminated.ExitCode)
			assert.Equal(t, []string{"up", "bye"}, logText(t, p, "polite", pod.LogOptions{}))
			assert.Equal(t, syscall.SIGKILL, stubborn.State.Terminated.Signal)
			assert.Equal(t, 137, stubborn.State.Terminated.ExitCode)
			bare, _ := st.Container("bare")
			assert.Equal(t, syscall.SIGTERM, bare.State.Terminated.Signal, "the stop signal did not reach a bare program")
			assert.Equal(t, pod.PhaseFailed, st.Phase)

			var kills []string
			for _, ev := range rec.events {
				if ev.Reason == pod.EventKilling {
					kills = append(kills, ev.Container+" "+ev.Signal.String())
				}
			}
			assert.ElementsMatch(t, []string{"polite terminated", "stubborn terminated", "bare terminated", "stubborn killed"}, kills)
			last := rec.events[len(rec.events)-1]
			assert.Equal(t, pod.EventPodPhase, last.Reason)
			assert.Equal(t, pod.PhaseFailed, last.Phase)
		})
	}
}

func TestZombieReaping(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharedPID=%v", shared), func(t *testing.T) {
			marker := fmt.Sprintf("0.%d", 1000+time.Now().UnixNano()%9000)
			_, rec, _ := startPod(t, "zombies", pod.Spec{
				ShareProcessNamespace: shared,
				Containers: []pod.Container{{Name: "c", Command: []string{"sh", "-c",
					fmt.Sprintf("sh -c 'sleep %s &'; exec sleep 1000", marker)}}},
			})
			rec.until("started", isReason(pod.EventStarted, "c"))
			var orphan int
			require.Eventually(t, func() bool {
				orphan = findProcess(t, "sleep "+marker)
				return orphan != 0
			}, 10*time.Second, time.Millisecond, "the orphan never appeared")
			require.Eventually(t, func() bool {
				_, err := os.Stat(fmt.Sprintf("/proc/%d", orphan))
				return errors.Is(err, os.ErrNotExist)
			}, 10*time.Second, 5*time.Millisecond, "the orphan %d was not reaped: %s", orphan, procState(orphan))
		})
	}
}

func TestCancelDuringStart(t *testing.T) {
	requireRoot(t)
	t.Run("before", func(t *testing.T) {
		p, err := pod.New("cancelled", pod.Spec{
			Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}}},
		})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err = p.Run(ctx)
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, p.Wait(), context.Canceled)
		assert.Equal(t, pod.PhaseFailed, p.Status().Phase)
		assert.Zero(t, p.Status().InfraPID)
	})
	for i := 1; i <= 10; i++ {
		t.Run(fmt.Sprintf("after-%d-events", i), func(t *testing.T) {
			p, err := pod.New("cancelled", pod.Spec{
				Containers: []pod.Container{
					{Name: "a", Command: []string{"sleep", "1000"}},
					{Name: "b", Command: []string{"sleep", "1000"}},
					{Name: "c", Command: []string{"sleep", "1000"}},
				},
			})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			events := p.Subscribe(context.Background())
			var pids []int
			consumed := make(chan struct{})
			go func() {
				defer close(consumed)
				n := 0
				for ev := range events {
					if ev.Reason == pod.EventStarted {
						st := p.Status()
						pids = append(pids, st.InfraPID)
						for _, c := range st.Containers {
							pids = append(pids, c.PID)
						}
					}
					if n++; n == i {
						cancel()
					}
				}
			}()
			err = p.Run(ctx)
			cancel()
			<-consumed
			require.ErrorIs(t, err, context.Canceled)
			for _, pid := range pids {
				if pid != 0 {
					_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
					assert.ErrorIs(t, err, os.ErrNotExist, "pid %d outlived the pod", pid)
				}
			}
		})
	}
}

func TestInfraDeath(t *testing.T) {
	p, rec, _ := startPod(t, "sandbox", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	require.NoError(t, syscall.Kill(p.Status().InfraPID, syscall.SIGKILL))
	err := p.Wait()
	require.ErrorIs(t, err, pod.ErrSandboxDied)
	st := p.Status()
	assert.Equal(t, pod.PhaseFailed, st.Phase)
	assert.Equal(t, "SandboxDied", st.Reason)
}

// TestSupervisorKilled kills, with SIGKILL, a program running a pod whose
// container double-forked a daemon, and checks that every process of the pod
// dies with it.
func TestSupervisorKilled(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharedPID=%v", shared), func(t *testing.T) {
			requireRoot(t)
			argv, env := helperCommand(t, "supervisor", strconv.FormatBool(shared))
			cmd := execCommand(argv, env)
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			defer cmd.Wait()
			defer cmd.Process.Kill()
			line := make([]byte, 256)
			n, err := out.Read(line)
			require.NoError(t, err)
			fields := strings.Fields(string(line[:n]))
			require.Len(t, fields, 3, "supervisor said %q", line[:n])
			infra, _ := strconv.Atoi(fields[0])
			netNS := namespaceOf(t, infra, "net")
			procs := processesIn(t, "net", netNS)
			require.GreaterOrEqual(t, len(procs), 4, "infra, two containers and a daemon") // plus inits

			require.NoError(t, cmd.Process.Kill())
			_ = cmd.Wait()
			require.Eventually(t, func() bool { return len(processesIn(t, "net", netNS)) == 0 },
				10*time.Second, 5*time.Millisecond, "pod processes outlived their supervisor")
		})
	}
}

func TestManyPodsDoNotLeak(t *testing.T) {
	requireRoot(t)
	runOne := func() {
		p, err := pod.New("leak", pod.Spec{
			RestartPolicy: pod.RestartNever,
			Containers:    []pod.Container{{Name: "c", Command: []string{"true"}}},
		})
		require.NoError(t, err)
		require.NoError(t, p.Run(context.Background()))
	}
	for range 20 {
		runOne()
	}
	g0, fd0, th0 := resources(t)
	for range 200 {
		runOne()
	}
	g1, fd1, th1 := resources(t)
	assert.LessOrEqual(t, g1, g0+2, "goroutines grew")
	assert.LessOrEqual(t, fd1, fd0+2, "file descriptors grew")
	assert.LessOrEqual(t, th1, th0+4, "threads grew")
}

func TestContainerRestartPolicyAndRules(t *testing.T) {
	p, rec, _ := startPod(t, "rules", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Volumes:       []pod.Volume{stateVolume()},
		Containers: []pod.Container{
			{Name: "retry", VolumeMounts: stateMount(), Command: []string{"sh", "-c",
				"if [ -e /run/state/ran ]; then exit 0; fi; touch /run/state/ran; exit 42"},
				RestartRules: []pod.RestartRule{{Action: pod.RuleRestart, ExitCodes: pod.ExitCodes{Operator: pod.ExitCodesIn, Values: []int{42}}}}},
			{Name: "own", Command: []string{"sh", "-c", "exit 0"}, RestartPolicy: pod.RestartOnFailure},
		},
	})
	rec.until("succeeded", isPhase(pod.PhaseSucceeded))
	require.NoError(t, p.Wait())
	retry, _ := p.Status().Container("retry")
	assert.Equal(t, 1, retry.RestartCount)
	assert.Equal(t, 42, retry.LastTerminationState.Terminated.ExitCode)
	own, _ := p.Status().Container("own")
	assert.Zero(t, own.RestartCount)
}

func TestRestartRuleValidation(t *testing.T) {
	_, err := pod.New("p", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"true"},
			RestartPolicy: "Sometimes",
			RestartRules:  []pod.RestartRule{{Action: "Stop", ExitCodes: pod.ExitCodes{Operator: "Maybe", Values: []int{300}}}}}},
	})
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	for _, want := range []string{
		`container "c".restartPolicy: invalid value "Sometimes"`,
		`container "c".restartRules[0].action: invalid value "Stop"`,
		`container "c".restartRules[0].exitCodes.operator: invalid value "Maybe"`,
		`container "c".restartRules[0].exitCodes.values[0]: invalid value "300"`,
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestKillDuringGracefulStop(t *testing.T) {
	p, rec, cancel := startPod(t, "kill", pod.Spec{
		TerminationGracePeriod: new(time.Hour),
		Containers:             []pod.Container{{Name: "stubborn", Command: []string{"sh", "-c", `trap "" TERM; while :; do sleep 0.05; done`}}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	cancel()
	rec.until("stop signal", isReason(pod.EventKilling, "stubborn"))
	p.Kill()
	p.Kill() // idempotent
	err := p.Wait()
	require.ErrorIs(t, err, context.Canceled, "the stop had begun before Kill")
	c, _ := p.Status().Container("stubborn")
	assert.Equal(t, 137, c.State.Terminated.ExitCode)

	q, rec2, _ := startPod(t, "kill-first", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}}},
	})
	rec2.until("running", isPhase(pod.PhaseRunning))
	q.Kill()
	require.ErrorIs(t, q.Wait(), pod.ErrKilled)
	rec2.rest()
	killing := rec2.reasons(func(e pod.Event) bool { return e.Reason == pod.EventKilling && e.Signal == syscall.SIGKILL })
	assert.Equal(t, []string{"Killing c"}, killing, "Kill sends SIGKILL without waiting for the stop signal")
}
