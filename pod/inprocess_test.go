package pod_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

func funcSidecar(name string, fn func(context.Context) error) pod.Container {
	return pod.Container{Name: name, Func: fn, RestartPolicy: pod.RestartAlways}
}

// greeter is an in-process server inside the pod: it greets every
// connection on addr until its context is done.
func greeter(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		self, ok := pod.FromContext(ctx)
		if !ok {
			return errors.New("no InProcess in the context")
		}
		ln, err := self.Pod.Listen(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		fmt.Fprintf(self.Stdout, "listening on %s\n", addr)
		stop := context.AfterFunc(ctx, func() { ln.Close() })
		defer stop()
		for {
			c, err := ln.Accept()
			if err != nil {
				return ctx.Err()
			}
			fmt.Fprintf(c, "hello from %s in %s\n", self.Container, self.Pod.Hostname())
			c.Close()
		}
	}
}

func TestFuncSidecarServesInsidePod(t *testing.T) {
	dial, env := helperCommand(t, "dial", "127.0.0.1:7100")
	p, rec, _ := startPod(t, "func-sidecar", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		InitContainers: []pod.Container{funcSidecar("greeter", greeter("127.0.0.1:7100"))},
		Containers:     []pod.Container{{Name: "app", Command: dial, Env: env}},
	})
	rec.until("succeeded", isPhase(pod.PhaseSucceeded))
	require.NoError(t, p.Wait())
	rec.rest()
	assert.Equal(t, []string{"hello from greeter in func-sidecar"}, logText(t, p, "app", pod.LogOptions{}))
	assert.Equal(t, []string{"listening on 127.0.0.1:7100"}, logText(t, p, "greeter", pod.LogOptions{}))
	assert.Equal(t, []string{"Started greeter", "Started app", "Exited app", "Killing greeter", "Exited greeter"}, lifecycle(rec))
	greeterStatus, _ := p.Status().Container("greeter")
	assert.Equal(t, 0, greeterStatus.State.Terminated.ExitCode, "a function that returned its context's error after a stop")
	assert.Zero(t, greeterStatus.PID)

	// The host's loopback is not the pod's: nothing listens there.
	_, err := net.DialTimeout("tcp", "127.0.0.1:7100", time.Second)
	assert.Error(t, err)
}

func TestFuncContainerExitCodes(t *testing.T) {
	tests := []struct {
		name string
		fn   func(context.Context) error
		code int
		msg  string
	}{
		{"returns-nil", func(context.Context) error { return nil }, 0, ""},
		{"returns-error", func(context.Context) error { return errors.New("boom") }, pod.FuncErrorExitCode, "boom"},
		{"panics", func(context.Context) error { panic("kaboom") }, pod.FuncPanicExitCode, "panic: kaboom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, rec, _ := startPod(t, tt.name, pod.Spec{
				RestartPolicy: pod.RestartNever,
				Containers:    []pod.Container{{Name: "fn", Func: tt.fn}},
			})
			rec.until("exited", isReason(pod.EventExited, "fn"))
			err := p.Wait()
			c, _ := p.Status().Container("fn")
			assert.Equal(t, tt.code, c.State.Terminated.ExitCode)
			assert.Equal(t, tt.msg, c.State.Terminated.Message)
			if tt.code == 0 {
				assert.NoError(t, err)
				return
			}
			var exit *pod.ExitError
			require.ErrorAs(t, err, &exit)
			assert.Equal(t, tt.code, exit.ExitCode)
			if tt.name == "panics" {
				stderr := strings.Join(logText(t, p, "fn", pod.LogOptions{}), "\n")
				assert.Contains(t, stderr, "panic: kaboom")
				assert.Contains(t, stderr, "goroutine", "the panic's stack trace is in the container's log")
			}
		})
	}
}

func TestFuncSidecarRestartsAndGates(t *testing.T) {
	var runs atomic.Int32
	var ready atomic.Bool
	flaky := funcSidecar("flaky", func(ctx context.Context) error {
		if runs.Add(1) < 3 {
			return errors.New("not yet")
		}
		ready.Store(true)
		<-ctx.Done()
		return ctx.Err()
	})
	flaky.StartupProbe = &pod.Probe{Period: 20 * time.Millisecond, Func: func(context.Context) error {
		if !ready.Load() {
			return errors.New("not ready")
		}
		return nil
	}}
	p, rec, _ := startPod(t, "func-gates", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		InitContainers: []pod.Container{flaky},
		Containers:     []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	}, pod.WithBackoff(pod.Backoff{Initial: 10 * time.Millisecond}))
	rec.until("app started", isReason(pod.EventStarted, "app"))
	assert.Equal(t, []string{"Started flaky", "Exited flaky", "Started flaky", "Exited flaky", "Started flaky", "Started app"}, lifecycle(rec),
		"the app started before the sidecar's startup probe passed")
	c, _ := p.Status().Container("flaky")
	assert.Equal(t, 2, c.RestartCount)
	assert.Equal(t, "not yet", c.LastTerminationState.Terminated.Message)
	assert.True(t, c.Started)
}

func TestFuncSidecarStopsAfterMainAndOutlivesGrace(t *testing.T) {
	returned := make(chan struct{})
	var killedInTime atomic.Bool
	stubborn := funcSidecar("stubborn", func(ctx context.Context) error {
		self, _ := pod.FromContext(ctx)
		<-ctx.Done()
		select {
		case <-self.Killed: // the grace period ended
			killedInTime.Store(true)
		case <-time.After(10 * time.Second):
		}
		time.Sleep(300 * time.Millisecond) // and outlives it
		close(returned)
		return nil
	})
	p, rec, cancel := startPod(t, "func-grace", pod.Spec{
		// The app's stop spends part of the pod's grace period; what is
		// left must leave the sidecar its own stop request, on a slow
		// machine too.
		TerminationGracePeriod: new(time.Second),
		InitContainers:         []pod.Container{stubborn},
		Containers:             []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	cancel()
	_ = p.Wait()
	select {
	case <-returned:
	default:
		t.Fatal("Wait returned before the function did")
	}
	rec.rest()
	assert.True(t, killedInTime.Load(), "Killed was not closed at the end of the grace period")
	assert.Equal(t, []string{"Started stubborn", "Started app", "Killing app", "Exited app", "Killing stubborn", "Killing stubborn", "Exited stubborn"}, lifecycle(rec))
	c, _ := p.Status().Container("stubborn")
	assert.Equal(t, 137, c.State.Terminated.ExitCode)
	assert.Equal(t, syscall.SIGKILL, c.State.Terminated.Signal)
}

func TestFuncContainerExecAndSignal(t *testing.T) {
	p, rec, _ := startPod(t, "func-exec", pod.Spec{
		Containers: []pod.Container{{Name: "fn", Func: func(ctx context.Context) error {
			<-ctx.Done()
			return nil
		}}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	err := p.Exec(context.Background(), "fn", exec.Command("true"))
	assert.ErrorIs(t, err, pod.ErrInProcess)
	assert.ErrorIs(t, p.Signal("fn", syscall.SIGHUP), pod.ErrInProcess)
	assert.ErrorIs(t, p.Signal("nope", syscall.SIGHUP), pod.ErrNoContainer)
	require.NoError(t, p.Signal("fn", syscall.SIGTERM))
	rec.until("stopped by its signal", isReason(pod.EventExited, "fn"))
	rec.until("restarted", isReason(pod.EventStarted, "fn"))
}

func TestSignalReachesProcess(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprint("shared=", shared), func(t *testing.T) {
			p, rec, _ := startPod(t, "signal", pod.Spec{
				ShareProcessNamespace: shared,
				Containers: []pod.Container{{Name: "c",
					Command: []string{"sh", "-c", `trap 'echo hup' HUP; echo ready; while :; do sleep 0.05; done`}}},
			})
			// The process may print before the pod has recorded it as
			// started; until then Signal reports it not running.
			rec.until("started", isReason(pod.EventStarted, "c"))
			waitLogs(t, p, "c", 1)
			require.NoError(t, p.Signal("c", syscall.SIGHUP))
			waitLogs(t, p, "c", 2)
			assert.Equal(t, []string{"ready", "hup"}, logText(t, p, "c", pod.LogOptions{}))
			c, _ := p.Status().Container("c")
			assert.Zero(t, c.RestartCount)
		})
	}
}

func TestFuncContainerValidation(t *testing.T) {
	fn := func(context.Context) error { return nil }
	_, err := pod.New("p", pod.Spec{
		Containers: []pod.Container{{Name: "fn", Func: fn,
			Command: []string{"true"}, Env: []string{"A=b"}, RootFS: "/srv",
			Resources:     pod.Resources{MemoryLimit: 64 << 20},
			LivenessProbe: &pod.Probe{Exec: &pod.ExecAction{Command: []string{"true"}}},
			Lifecycle:     &pod.Lifecycle{PreStop: &pod.LifecycleHandler{Exec: &pod.ExecAction{Command: []string{"true"}}}},
		}},
	})
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	for _, field := range []string{"command", "env", "rootFS", "resources", "livenessProbe.exec", "lifecycle.preStop.exec"} {
		assert.Contains(t, err.Error(), `container "fn".`+field+`: invalid value`)
	}
	assert.Contains(t, err.Error(), "must not be set on an in-process container (func)")
}
