package pod_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

func TestPostStartHookGatesRunning(t *testing.T) {
	p, rec, _ := startPod(t, "poststart", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Volumes:       []pod.Volume{stateVolume()},
		InitContainers: []pod.Container{{Name: "side", Command: []string{"sleep", "1000"}, RestartPolicy: pod.RestartAlways,
			VolumeMounts: stateMount(),
			Lifecycle:    &pod.Lifecycle{PostStart: &pod.LifecycleHandler{Exec: &pod.ExecAction{Command: []string{"sh", "-c", "sleep 0.2; touch /run/state/hooked"}}}}}},
		Containers: []pod.Container{{Name: "app", Command: []string{"sh", "-c", "test -e /run/state/hooked"}, VolumeMounts: stateMount()}},
	})
	rec.until("succeeded", isPhase(pod.PhaseSucceeded))
	require.NoError(t, p.Wait(), "the app started before the sidecar's postStart hook finished")
}

func TestPostStartHookFailureRestarts(t *testing.T) {
	p, rec, _ := startPod(t, "poststart-fails", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"},
			Lifecycle: &pod.Lifecycle{PostStart: &pod.LifecycleHandler{Exec: &pod.ExecAction{Command: []string{"false"}}}}}},
	})
	ev := rec.until("hook failed", isReason(pod.EventFailedPostStartHook, "c"))
	assert.Equal(t, pod.EventWarning, ev.Type)
	rec.until("killed", isReason(pod.EventKilling, "c"))
	rec.until("restarted", isReason(pod.EventStarted, "c"))
	c, _ := p.Status().Container("c")
	assert.Equal(t, 1, c.RestartCount)
	assert.Nil(t, c.LastTerminationState.Running)
}

func TestPreStopHookRunsBeforeStopSignal(t *testing.T) {
	// The order is read after the pod has ended: a hostPath volume outlives
	// it.
	dir := t.TempDir()
	p, rec, cancel := startPod(t, "prestop", pod.Spec{
		TerminationGracePeriod: new(5 * time.Second),
		Volumes:                []pod.Volume{{Name: "out", HostPath: &pod.HostPathVolume{Path: dir}}},
		Containers: []pod.Container{{Name: "c",
			VolumeMounts: []pod.VolumeMount{{Name: "out", MountPath: "/run/out"}},
			Command:      []string{"sh", "-c", "trap 'echo term >> /run/out/order; exit 0' TERM; echo trapping; sleep 1000 & wait"},
			Lifecycle: &pod.Lifecycle{PreStop: &pod.LifecycleHandler{Exec: &pod.ExecAction{
				Command: []string{"sh", "-c", "echo prestop >> /run/out/order"}}}}}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	// Running means started, not that the shell has set its trap: on a slow
	// machine a SIGTERM could come first and kill it untrapped.
	waitLogs(t, p, "c", 1)
	cancel()
	_ = p.Wait()
	data, err := os.ReadFile(filepath.Join(dir, "order"))
	require.NoError(t, err)
	assert.Equal(t, "prestop\nterm\n", string(data))
}

func TestPreStopHookCountsAgainstGrace(t *testing.T) {
	p, rec, cancel := startPod(t, "prestop-slow", pod.Spec{
		TerminationGracePeriod: new(300 * time.Millisecond),
		Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"},
			Lifecycle: &pod.Lifecycle{PreStop: &pod.LifecycleHandler{Sleep: &pod.SleepAction{Duration: time.Hour}}}}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	cancel()
	_ = p.Wait()
	rec.rest()
	c, _ := p.Status().Container("c")
	assert.Equal(t, 137, c.State.Terminated.ExitCode, "the grace period did not bound the preStop hook")
	assert.NotEqual(t, -1, index(rec, pod.EventFailedPreStopHook, "c"))
}

func TestLifecycleValidation(t *testing.T) {
	_, err := pod.New("p", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"true"},
			Lifecycle: &pod.Lifecycle{PreStop: &pod.LifecycleHandler{}}}},
	})
	assert.ErrorContains(t, err, `container "c".lifecycle.preStop: invalid value "0 actions"`)
	_, err = pod.New("p", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"true"},
			Lifecycle: &pod.Lifecycle{PostStart: &pod.LifecycleHandler{Sleep: &pod.SleepAction{Duration: -1}}}}},
	})
	assert.ErrorContains(t, err, `container "c".lifecycle.postStart.sleep.duration: invalid value "-1ns"`)
}

// An HTTP preStop hook reaches the container while the pod stops.
func TestHTTPPreStopHook(t *testing.T) {
	server, env := helperCommand(t, "http", "127.0.0.1:7120", "200")
	p, rec, cancel := startPod(t, "prestop-http", pod.Spec{
		Containers: []pod.Container{{Name: "web", Command: server, Env: env,
			ReadinessProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 7120}, Period: 20 * time.Millisecond},
			Lifecycle:      &pod.Lifecycle{PreStop: &pod.LifecycleHandler{HTTPGet: &pod.HTTPGetAction{Path: "/drain", Port: 7120}}}}},
	})
	rec.until("ready", isReason(pod.EventReady, "web"))
	cancel()
	_ = p.Wait()
	rec.rest()
	assert.Equal(t, -1, index(rec, pod.EventFailedPreStopHook, "web"), "events:\n%s", rec)
}
