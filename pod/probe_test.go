package pod_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// fileProbe passes while path exists.
func fileProbe(path string) *pod.Probe {
	return &pod.Probe{Exec: &pod.ExecAction{Command: []string{"test", "-e", path}}, Period: 50 * time.Millisecond}
}

func TestLivenessProbeRestarts(t *testing.T) {
	healthy := filepath.Join(t.TempDir(), "healthy")
	p, rec, _ := startPod(t, "liveness", pod.Spec{
		TerminationGracePeriod: new(time.Second),
		Containers:             []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}, LivenessProbe: fileProbe(healthy)}},
	})
	ev := rec.until("killed", isReason(pod.EventKilling, "c"))
	assert.Contains(t, ev.Message, "failed Liveness probe, will be restarted")
	assert.Len(t, rec.reasons(func(e pod.Event) bool { return e.Reason == pod.EventUnhealthy }), 3, "three failures make the threshold")
	rec.until("restarted", isReason(pod.EventStarted, "c"))
	c, _ := p.Status().Container("c")
	assert.Equal(t, 1, c.RestartCount)
	assert.Equal(t, 143, c.LastTerminationState.Terminated.ExitCode)
}

func TestReadinessProbeFlaps(t *testing.T) {
	// The test raises the flag in a volume: in the container's view of the
	// host's files, a file the host creates after the probe looked for it
	// may stay unseen.
	p, rec, _ := startPod(t, "readiness", pod.Spec{
		Volumes: []pod.Volume{stateVolume()},
		Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}, VolumeMounts: stateMount(),
			ReadinessProbe: fileProbe("/run/state/ready")}},
	})
	state, err := p.VolumePath("state")
	require.NoError(t, err)
	ready := filepath.Join(state, "ready")
	rec.until("running", isPhase(pod.PhaseRunning))
	c, _ := p.Status().Container("c")
	assert.False(t, c.Ready, "ready before its readiness probe passed")
	assert.True(t, c.Started)

	isPodReady := func(want bool) func(pod.Event) bool {
		return func(ev pod.Event) bool { return ev.Reason == pod.EventReady && ev.Container == "" && ev.Ready == want }
	}
	require.NoError(t, os.WriteFile(ready, nil, 0o644))
	rec.until("pod ready", isPodReady(true))
	require.NoError(t, os.Remove(ready))
	rec.until("pod unready", isPodReady(false))
	ready2, _ := p.Status().Condition(pod.Ready)
	assert.False(t, ready2.Status)
	c, _ = p.Status().Container("c")
	assert.Zero(t, c.RestartCount, "readiness failures restarted the container")
	require.NoError(t, os.WriteFile(ready, nil, 0o644))
	rec.until("pod ready again", isPodReady(true))
}

func TestStartupProbeHoldsOthers(t *testing.T) {
	startup := fileProbe("/run/state/started")
	startup.FailureThreshold = 1000 // a slow start is no failure
	// Fails from its first check, an Unhealthy event, if it runs before
	// the startup probe passed; after that it must not restart the proxy
	// before the app has started, however slow the start (a race-enabled
	// container init takes longer than three periods).
	liveness := fileProbe("/no/such/file")
	liveness.FailureThreshold = 1000
	p, rec, _ := startPod(t, "startup", pod.Spec{
		Volumes: []pod.Volume{stateVolume()},
		InitContainers: []pod.Container{{Name: "proxy", Command: []string{"sleep", "1000"}, VolumeMounts: stateMount(),
			RestartPolicy: pod.RestartAlways, StartupProbe: startup, LivenessProbe: liveness}},
		Containers: []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	state, err := p.VolumePath("state")
	require.NoError(t, err)
	started := filepath.Join(state, "started")
	rec.until("proxy started", isReason(pod.EventStarted, "proxy"))
	time.Sleep(300 * time.Millisecond)
	proxy, _ := p.Status().Container("proxy")
	assert.False(t, proxy.Started)
	assert.Equal(t, -1, index(rec, pod.EventStarted, "app"), "the app started before the sidecar's startup probe passed")
	for _, ev := range rec.events {
		assert.NotContains(t, ev.Message, "Liveness", "the liveness probe ran before the startup probe passed")
	}
	require.NoError(t, os.WriteFile(started, nil, 0o644))
	rec.until("app started", isReason(pod.EventStarted, "app"))
	proxy, _ = p.Status().Container("proxy")
	assert.True(t, proxy.Started)
	assert.Zero(t, proxy.RestartCount)
}

func TestStartupProbeFailureRestarts(t *testing.T) {
	p, rec, _ := startPod(t, "startup-fails", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}, StartupProbe: fileProbe("/no/such/file")}},
	})
	ev := rec.until("killed", isReason(pod.EventKilling, "c"))
	assert.Contains(t, ev.Message, "failed Startup probe")
	rec.until("restarted", isReason(pod.EventStarted, "c"))
	c, _ := p.Status().Container("c")
	assert.Equal(t, 1, c.RestartCount)
}

func TestNetworkProbes(t *testing.T) {
	server, senv := helperCommand(t, "http", "127.0.0.1:7090", "204")
	broken, benv := helperCommand(t, "http", "127.0.0.1:7091", "500")
	probe := func(p pod.Probe) *pod.Probe { p.Period = 50 * time.Millisecond; return &p }
	p, rec, _ := startPod(t, "netprobes", pod.Spec{
		Containers: []pod.Container{
			{Name: "tcp", Command: server, Env: senv,
				ReadinessProbe: probe(pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 7090}})},
			{Name: "http", Command: []string{"sleep", "1000"},
				ReadinessProbe: probe(pod.Probe{HTTPGet: &pod.HTTPGetAction{Path: "/healthz", Port: 7090}})},
			{Name: "broken", Command: broken, Env: benv,
				ReadinessProbe: probe(pod.Probe{HTTPGet: &pod.HTTPGetAction{Port: 7091}})},
		},
	})
	seen := map[string]bool{}
	rec.until("tcp and http ready, broken failing with 500", func(ev pod.Event) bool {
		switch {
		case ev.Reason == pod.EventReady && ev.Ready && ev.Container != "":
			seen[ev.Container] = true
		case ev.Reason == pod.EventUnhealthy && ev.Container == "broken" && strings.Contains(ev.Message, "statuscode: 500"):
			seen["broken-500"] = true
		}
		return seen["tcp"] && seen["http"] && seen["broken-500"]
	})
	assert.False(t, seen["broken"], "a probe answered 500 passed")
	broken2, _ := p.Status().Container("broken")
	assert.False(t, broken2.Ready)
}

func TestGRPCProbe(t *testing.T) {
	server, env := helperCommand(t, "grpc", "127.0.0.1:7095", "=SERVING", "db=NOT_SERVING")
	probe := func(service string) *pod.Probe {
		return &pod.Probe{GRPC: &pod.GRPCAction{Port: 7095, Service: service}, Period: 50 * time.Millisecond}
	}
	p, rec, _ := startPod(t, "grpcprobe", pod.Spec{
		Containers: []pod.Container{
			{Name: "server", Command: server, Env: env, ReadinessProbe: probe("")},
			{Name: "db", Command: []string{"sleep", "1000"}, ReadinessProbe: probe("db")},
			{Name: "unknown", Command: []string{"sleep", "1000"}, ReadinessProbe: probe("nope")},
		},
	})
	seen := map[string]string{}
	rec.until("server ready, db and unknown failing", func(ev pod.Event) bool {
		switch {
		case ev.Reason == pod.EventReady && ev.Ready && ev.Container != "":
			seen[ev.Container] = "ready"
		case ev.Reason == pod.EventUnhealthy && ev.Container != "server":
			seen[ev.Container] = ev.Message
		}
		// Until the server listens, the probes fail to connect.
		return seen["server"] == "ready" && strings.Contains(seen["db"], `responded with "NOT_SERVING"`) &&
			strings.Contains(seen["unknown"], "NotFound")
	})
	assert.NotContains(t, rec.reasons(func(e pod.Event) bool { return e.Reason == pod.EventReady && e.Ready }), pod.EventReady+" db")
	for _, name := range []string{"db", "unknown"} {
		c, _ := p.Status().Container(name)
		assert.False(t, c.Ready, name)
	}
}

func TestLivenessKillRunsPreStopWithProbeGrace(t *testing.T) {
	liveness := fileProbe("/run/state/healthy")
	liveness.TerminationGracePeriod = 300 * time.Millisecond
	p, rec, _ := startPod(t, "probegrace", pod.Spec{
		TerminationGracePeriod: new(time.Hour),
		Volumes:                []pod.Volume{stateVolume()},
		Containers: []pod.Container{{Name: "c", VolumeMounts: stateMount(),
			// The first instance ignores SIGTERM: only the probe's grace
			// period ends it. The next one stops when asked.
			Command:       []string{"sh", "-c", `[ -e /run/state/prestop ] || trap "" TERM; while :; do sleep 0.05; done`},
			LivenessProbe: liveness,
			Lifecycle: &pod.Lifecycle{PreStop: &pod.LifecycleHandler{Exec: &pod.ExecAction{
				Command: []string{"sh", "-c", "echo ran > /run/state/prestop"}}}},
		}},
	})
	rec.until("killed with SIGKILL", func(ev pod.Event) bool {
		return ev.Reason == pod.EventKilling && ev.Signal == syscall.SIGKILL
	})
	rec.until("restarted", isReason(pod.EventStarted, "c"))
	state, err := p.VolumePath("state")
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(state, "prestop"))
	require.NoError(t, err, "the preStop hook did not run before the liveness kill")
	assert.Equal(t, "ran\n", string(data))
	killing := rec.reasons(func(e pod.Event) bool { return e.Reason == pod.EventKilling })
	require.Len(t, killing, 2, "a stop signal, then SIGKILL")
	c, _ := p.Status().Container("c")
	assert.Equal(t, 137, c.LastTerminationState.Terminated.ExitCode)
}

func TestProbeValidation(t *testing.T) {
	tests := []struct {
		probe pod.Probe
		kind  string
		want  string
	}{
		{pod.Probe{}, "liveness", `livenessProbe: invalid value "0 handlers": exactly one of exec, tcpSocket, httpGet, grpc and func must be set`},
		{pod.Probe{GRPC: &pod.GRPCAction{}}, "liveness", `livenessProbe.grpc.port: invalid value "0"`},
		{pod.Probe{Exec: &pod.ExecAction{Command: []string{"true"}}, TerminationGracePeriod: time.Second}, "readiness", `readinessProbe.terminationGracePeriod: invalid value "1s": must not be set for a readiness probe`},
		{pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 70000}}, "readiness", `readinessProbe.tcpSocket.port: invalid value "70000"`},
		{pod.Probe{Exec: &pod.ExecAction{}}, "startup", `startupProbe.exec.command: invalid value "[]": required`},
		{pod.Probe{Exec: &pod.ExecAction{Command: []string{"true"}}, SuccessThreshold: 2}, "liveness", `livenessProbe.successThreshold: invalid value "2": must be 1 for a liveness probe`},
		{pod.Probe{Exec: &pod.ExecAction{Command: []string{"true"}}, Period: -time.Second}, "readiness", `readinessProbe.period: invalid value "-1s"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			c := pod.Container{Name: "c", Command: []string{"true"}}
			pr := tt.probe
			switch tt.kind {
			case "liveness":
				c.LivenessProbe = &pr
			case "readiness":
				c.ReadinessProbe = &pr
			case "startup":
				c.StartupProbe = &pr
			}
			_, err := pod.New("p", pod.Spec{
				Containers: []pod.Container{c},
			})
			require.ErrorIs(t, err, pod.ErrInvalidSpec)
			assert.Contains(t, err.Error(), `container "c".`+tt.want)
		})
	}
}
