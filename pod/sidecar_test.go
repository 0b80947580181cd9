package pod_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

func sidecar(name string, command ...string) pod.Container {
	return pod.Container{Name: name, Command: command, RestartPolicy: pod.RestartAlways}
}

// lifecycle lists "reason container" for the Started, Exited and Killing
// events of containers.
func lifecycle(r *recorder) []string {
	return r.reasons(func(ev pod.Event) bool {
		return ev.Role != pod.RoleInfra && ev.Container != "" &&
			(ev.Reason == pod.EventStarted || ev.Reason == pod.EventExited || ev.Reason == pod.EventKilling)
	})
}

func TestSidecarStartsBeforeNextInit(t *testing.T) {
	p, rec, _ := startPod(t, "sidecar-order", pod.Spec{
		RestartPolicy: pod.RestartNever,
		InitContainers: []pod.Container{
			{Name: "prepare", Command: []string{"true"}},
			sidecar("proxy", "sleep", "1000"),
			{Name: "migrate", Command: []string{"true"}},
		},
		Containers: []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	rec.until("app started", isReason(pod.EventStarted, "app"))
	assert.Equal(t, []string{"Started prepare", "Exited prepare", "Started proxy", "Started migrate", "Exited migrate", "Started app"}, lifecycle(rec))
	proxy, _ := p.Status().Container("proxy")
	assert.Equal(t, pod.RoleSidecar, proxy.Role)
	assert.NotNil(t, proxy.State.Running, "the sidecar stopped after the init stage")
}

func TestSidecarRestartsUnderNever(t *testing.T) {
	p, rec, _ := startPod(t, "sidecar-restart", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		InitContainers: []pod.Container{sidecar("flaky", "sh", "-c", "exit 0")},
		Containers:     []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	rec.until("first exit", isReason(pod.EventExited, "flaky"))
	rec.until("restart", isReason(pod.EventStarted, "flaky"))
	flaky, _ := p.Status().Container("flaky")
	assert.GreaterOrEqual(t, flaky.RestartCount, 1)
}

func TestJobWithSidecarsCompletes(t *testing.T) {
	for _, policy := range []pod.RestartPolicy{pod.RestartNever, pod.RestartOnFailure} {
		t.Run(string(policy), func(t *testing.T) {
			p, rec, _ := startPod(t, "job-sidecar", pod.Spec{
				RestartPolicy: policy,
				InitContainers: []pod.Container{
					sidecar("logs", "sleep", "1000"),
					sidecar("proxy", "sleep", "1000"),
				},
				Containers: []pod.Container{{Name: "job", Command: []string{"sh", "-c", "sleep 0.1"}}},
			})
			rec.until("succeeded", isPhase(pod.PhaseSucceeded))
			require.NoError(t, p.Wait(), "the sidecars' exit codes failed the job")
			rec.rest()
			// The job ends; then the sidecars stop one at a time, the last
			// declared first.
			assert.Equal(t, []string{
				"Started logs", "Started proxy", "Started job", "Exited job",
				"Killing proxy", "Exited proxy", "Killing logs", "Exited logs",
			}, lifecycle(rec))
			logs, _ := p.Status().Container("logs")
			assert.Equal(t, 143, logs.State.Terminated.ExitCode)
		})
	}
}

func TestSidecarsStopAfterMains(t *testing.T) {
	p, rec, cancel := startPod(t, "stop-order", pod.Spec{
		InitContainers: []pod.Container{
			sidecar("first", "sleep", "1000"),
			sidecar("second", "sleep", "1000"),
		},
		Containers: []pod.Container{{Name: "app", Command: []string{"sh", "-c", "trap 'sleep 0.3; exit 0' TERM; sleep 1000 & wait"}}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	cancel()
	_ = p.Wait()
	rec.rest()
	got := lifecycle(rec)
	assert.Equal(t, []string{
		"Started first", "Started second", "Started app",
		"Killing app", "Exited app", "Killing second", "Exited second", "Killing first", "Exited first",
	}, got)
}

func TestSidecarValidation(t *testing.T) {
	// On a main container a restart policy overrides the pod's: no sidecar.
	p, err := pod.New("p", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"true"}, RestartPolicy: pod.RestartAlways}},
	})
	require.NoError(t, err)
	c, _ := p.Status().Container("c")
	assert.Equal(t, pod.RoleMain, c.Role)
	_, err = pod.New("p", pod.Spec{
		InitContainers: []pod.Container{{Name: "i", Command: []string{"true"}, RestartPolicy: pod.RestartOnFailure}},
		Containers:     []pod.Container{{Name: "c", Command: []string{"true"}}},
	})
	assert.ErrorContains(t, err, `container "i".restartPolicy: invalid value "OnFailure"`)
}
