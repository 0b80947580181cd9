package pod_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/podkit/podkit/pod"
)

// TestUnhealthyEventCarriesProbeOutput checks the message of a failed
// probe's Unhealthy event, as the kubelet words it: an exec probe's output
// (bounded to 10 KiB, without trailing newlines), or its exit status when
// it printed nothing, or its timeout; an HTTP probe's status; a TCP probe's
// dial error.
func TestUnhealthyEventCarriesProbeOutput(t *testing.T) {
	broken, benv := helperCommand(t, "http", "127.0.0.1:7191", "500")
	execProbe := func(script string) *pod.Probe {
		return &pod.Probe{Period: 50 * time.Millisecond, Exec: &pod.ExecAction{Command: []string{"sh", "-c", script}}}
	}
	timeout := execProbe("exec sleep 1000")
	timeout.Timeout = 100 * time.Millisecond
	sleep := []string{"sleep", "1000"}
	tests := []struct {
		name  string
		probe *pod.Probe
		want  string
	}{
		{"output", execProbe(`echo "cat: can't open '/tmp/healthy': No such file or directory" >&2; printf '\n\n'; exit 1`),
			"Readiness probe failed: cat: can't open '/tmp/healthy': No such file or directory"},
		{"no-output", execProbe("exit 3"), "Readiness probe failed: exit status 3"},
		{"bounded", execProbe("head -c 20000 /dev/zero | tr '\\0' x; exit 1"),
			"Readiness probe failed: " + strings.Repeat("x", 10<<10)},
		{"timeout", timeout, `Readiness probe failed: command "sh -c exec sleep 1000" timed out`},
		{"http", &pod.Probe{Period: 50 * time.Millisecond, HTTPGet: &pod.HTTPGetAction{Port: 7191}},
			"Readiness probe failed: HTTP probe failed with statuscode: 500"},
		{"http-refused", &pod.Probe{Period: 50 * time.Millisecond, HTTPGet: &pod.HTTPGetAction{Port: 7193, Path: "healthz"}},
			`Readiness probe failed: Get "http://127.0.0.1:7193/healthz": dial tcp 127.0.0.1:7193: connect: connection refused`},
		{"tcp", &pod.Probe{Period: 50 * time.Millisecond, TCPSocket: &pod.TCPSocketAction{Port: 7192}},
			"Readiness probe failed: dial tcp 127.0.0.1:7192: connect: connection refused"},
	}
	var cs []pod.Container
	for _, tt := range tests {
		c := pod.Container{Name: tt.name, Command: sleep, ReadinessProbe: tt.probe}
		if tt.name == "http" {
			c.Command, c.Env = broken, benv
		}
		cs = append(cs, c)
	}
	_, rec, _ := startPod(t, "probe-output", pod.Spec{Containers: cs})
	got := map[string]string{}
	rec.until("an Unhealthy event of every container", func(ev pod.Event) bool {
		if ev.Reason == pod.EventUnhealthy {
			assert.Equal(t, pod.EventWarning, ev.Type)
			// The HTTP probe may fail to connect before its server
			// listens; its status comes later.
			first := got[ev.Container] == ""
			if first && (ev.Container != "http" || strings.Contains(ev.Message, "statuscode")) {
				got[ev.Container] = ev.Message
			}
		}
		return len(got) == len(tests)
	})
	for _, tt := range tests {
		assert.Equal(t, tt.want, got[tt.name], tt.name)
	}
}
