package pod_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

func TestInitContainersRunInOrder(t *testing.T) {
	p, rec, _ := startPod(t, "inits", pod.Spec{
		RestartPolicy: pod.RestartNever,
		InitContainers: []pod.Container{
			{Name: "first", Command: []string{"sh", "-c", "sleep 0.2"}},
			{Name: "second", Command: []string{"true"}},
		},
		Containers: []pod.Container{{Name: "app", Command: []string{"true"}}},
	})
	st := p.Status()
	app, _ := st.Container("app")
	require.NotNil(t, app.State.Waiting)
	assert.Equal(t, pod.ReasonPodInitializing, app.State.Waiting.Reason)
	first, _ := st.Container("first")
	assert.Equal(t, pod.RoleInit, first.Role)

	rec.until("succeeded", isPhase(pod.PhaseSucceeded))
	require.NoError(t, p.Wait())
	rec.rest()
	got := rec.reasons(func(ev pod.Event) bool {
		return (ev.Reason == pod.EventStarted || ev.Reason == pod.EventExited) && ev.Role != pod.RoleInfra
	})
	assert.Equal(t, []string{"Started first", "Exited first", "Started second", "Exited second", "Started app", "Exited app"}, got)
	initialized, _ := p.Status().Condition(pod.Initialized)
	assert.True(t, initialized.Status)
	// Running comes only with the main container.
	assert.Less(t, index(rec, pod.EventStarted, "app"), indexPhase(rec, pod.PhaseRunning))
}

func indexPhase(r *recorder, ph pod.Phase) int {
	for i, ev := range r.events {
		if ev.Reason == pod.EventPodPhase && ev.Phase == ph {
			return i
		}
	}
	return -1
}

func TestInitContainerFailure(t *testing.T) {
	for _, policy := range []pod.RestartPolicy{pod.RestartNever, pod.RestartOnFailure, pod.RestartAlways} {
		t.Run(string(policy), func(t *testing.T) {
			// The init container fails on its first run only.
			p, rec, _ := startPod(t, "initfail", pod.Spec{
				RestartPolicy: policy,
				Volumes:       []pod.Volume{stateVolume()},
				InitContainers: []pod.Container{{Name: "setup", VolumeMounts: stateMount(), Command: []string{"sh", "-c",
					"if [ -e /run/state/ran ]; then exit 0; fi; touch /run/state/ran; exit 3"}}},
				Containers: []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
			})
			if policy == pod.RestartNever {
				rec.until("failed", isPhase(pod.PhaseFailed))
				var exitErr *pod.ExitError
				require.ErrorAs(t, p.Wait(), &exitErr)
				assert.Equal(t, "setup", exitErr.Container)
				assert.Equal(t, 3, exitErr.ExitCode)
				app, _ := p.Status().Container("app")
				assert.NotNil(t, app.State.Waiting, "the app ran after its init container failed")
				assert.Equal(t, -1, index(rec, pod.EventStarted, "app"))
				initialized, _ := p.Status().Condition(pod.Initialized)
				assert.False(t, initialized.Status)
				return
			}
			rec.until("app started", isReason(pod.EventStarted, "app"))
			setup, _ := p.Status().Container("setup")
			assert.Equal(t, 1, setup.RestartCount)
			assert.Equal(t, 0, setup.State.Terminated.ExitCode)
			assert.Equal(t, 3, setup.LastTerminationState.Terminated.ExitCode)
			assert.Equal(t, []string{"Exited setup", "Started setup", "Exited setup", "Started app"},
				rec.reasons(func(ev pod.Event) bool {
					return ev.Role != pod.RoleInfra && (ev.Reason == pod.EventStarted || ev.Reason == pod.EventExited)
				})[1:])
		})
	}
}

func TestActiveDeadline(t *testing.T) {
	p, rec, _ := startPod(t, "deadline", pod.Spec{
		ActiveDeadline: 300 * time.Millisecond,
		InitContainers: []pod.Container{{Name: "slow", Command: []string{"sleep", "1000"}}},
		Containers:     []pod.Container{{Name: "app", Command: []string{"true"}}},
	})
	rec.until("failed", isPhase(pod.PhaseFailed))
	require.ErrorIs(t, p.Wait(), pod.ErrDeadlineExceeded)
	st := p.Status()
	assert.Equal(t, pod.ReasonDeadlineExceeded, st.Reason)
	slow, _ := st.Container("slow")
	assert.Equal(t, 143, slow.State.Terminated.ExitCode, "the init container was not stopped")
	assert.Equal(t, -1, index(rec, pod.EventStarted, "app"))
	_, err := os.Stat("/proc/" + fmt.Sprint(slow.PID))
	assert.True(t, slow.PID == 0 || os.IsNotExist(err))
}

func TestInitValidation(t *testing.T) {
	_, err := pod.New("p", pod.Spec{
		InitContainers: []pod.Container{{Name: "i", Command: []string{"true"}}},
	})
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	assert.Contains(t, err.Error(), "a pod needs at least one container")
	_, err = pod.New("p", pod.Spec{
		InitContainers: []pod.Container{{Name: "same", Command: []string{"true"}}},
		Containers:     []pod.Container{{Name: "same", Command: []string{"true"}}},
	})
	assert.ErrorContains(t, err, `container "same".name: invalid value "same": duplicate container name`)
	_, err = pod.New("p", pod.Spec{
		ActiveDeadline: -time.Second,
		Containers:     []pod.Container{{Name: "c", Command: []string{"true"}}},
	})
	assert.ErrorContains(t, err, `activeDeadline: invalid value "-1s"`)
}
