package pod_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// BenchmarkProbeOverhead reports the CPU, as a share of one core, that a pod
// of 100 containers uses while each container has three probes at a 1s
// period (a TCP startup probe, a TCP liveness probe and an HTTP readiness
// probe, all against a server in the pod), next to the same pod without
// probes, measured over the same window in one run. The CPU counted is this
// program's (where probes run) and the pod's cgroup's (the server answering
// them); the overhead is also reported split between the two (prober-%core,
// server-%core), with the TCP sockets left in TIME_WAIT in the pod at the end
// of the window.
func BenchmarkProbeOverhead(b *testing.B) {
	requireRoot(b)
	const containers = 100
	window := 10 * time.Second
	for i := 0; i < b.N; i++ {
		idleSelf, idlePod, _ := probeCPU(b, containers, false, window)
		probedSelf, probedPod, timeWait := probeCPU(b, containers, true, window)
		b.ReportMetric(float64(timeWait), "time-wait-sockets")
		idle, probed := idleSelf+idlePod, probedSelf+probedPod
		b.ReportMetric(idle*100, "no-probes-%core")
		b.ReportMetric(probed*100, "probes-%core")
		b.ReportMetric((probed-idle)*100, "overhead-%core")
		b.ReportMetric((probedSelf-idleSelf)*100, "prober-%core")
		b.ReportMetric((probedPod-idlePod)*100, "server-%core")
	}
	b.ReportMetric(0, "ns/op")
}

// probeCPU runs the pod and returns the CPU this program and the pod used
// per second of window, once every container is ready, and the number of
// TCP sockets in TIME_WAIT in the pod at the end of the window.
func probeCPU(b *testing.B, n int, probes bool, window time.Duration) (self, inPod float64, timeWait int) {
	server, env := helperCommand(b, "http", "127.0.0.1:7080", "200")
	cs := []pod.Container{{Name: "server", Command: server, Env: env}}
	for i := range n {
		c := pod.Container{Name: fmt.Sprintf("c%d", i), Command: []string{"sleep", "1000"}}
		if probes {
			tcp := &pod.TCPSocketAction{Port: 7080}
			c.StartupProbe = &pod.Probe{TCPSocket: tcp, Period: time.Second, FailureThreshold: 30}
			c.LivenessProbe = &pod.Probe{TCPSocket: tcp, Period: time.Second}
			c.ReadinessProbe = &pod.Probe{HTTPGet: &pod.HTTPGetAction{Port: 7080, Path: "/"}, Period: time.Second}
		}
		cs = append(cs, c)
	}
	p, err := pod.New("probes", pod.Spec{
		ShareProcessNamespace: true,
		Containers:            cs,
	})
	require.NoError(b, err)
	events := p.Subscribe(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(b, p.Start(ctx))
	for ev := range events {
		if ev.Reason == pod.EventReady && ev.Container == "" && ev.Ready {
			break
		}
	}
	time.Sleep(2 * time.Second) // let start-up settle
	self0, pod0 := selfCPU(), podCPU(b, p)
	start := time.Now()
	time.Sleep(window)
	self1, pod1 := selfCPU(), podCPU(b, p)
	elapsed := time.Since(start)
	timeWait = timeWaitSockets(b, p.Status().InfraPID)
	cancel()
	_ = p.Wait()
	for range events {
	}
	return float64(self1-self0) / float64(elapsed), float64(pod1-pod0) / float64(elapsed), timeWait
}

// timeWaitSockets counts the TCP sockets in TIME_WAIT in pid's network
// namespace.
func timeWaitSockets(b *testing.B, pid int) int {
	n := 0
	for _, f := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		require.NoError(b, err)
		for _, line := range strings.Split(string(data), "\n")[1:] {
			if fields := strings.Fields(line); len(fields) > 3 && fields[3] == "06" {
				n++
			}
		}
	}
	return n
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func podCPU(b *testing.B, p *pod.Pod) time.Duration {
	st, err := p.Stats()
	require.NoError(b, err)
	return st.Pod.CPUTime
}
