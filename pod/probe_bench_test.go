package pod_test

import (
	"context"
	"fmt"
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
// them).
func BenchmarkProbeOverhead(b *testing.B) {
	requireRoot(b)
	const containers = 100
	window := 10 * time.Second
	for i := 0; i < b.N; i++ {
		idle := probeCPU(b, containers, false, window)
		probed := probeCPU(b, containers, true, window)
		b.ReportMetric(idle*100, "no-probes-%core")
		b.ReportMetric(probed*100, "probes-%core")
		b.ReportMetric((probed-idle)*100, "overhead-%core")
	}
	b.ReportMetric(0, "ns/op")
}

// probeCPU runs the pod and returns the CPU it and this program used per
// second of window, once every container is ready.
func probeCPU(b *testing.B, n int, probes bool, window time.Duration) float64 {
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
	p, err := pod.New("probes", pod.WithShareProcessNamespace(true), pod.WithContainers(cs...))
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
	used := (selfCPU() - self0) + (podCPU(b, p) - pod0)
	elapsed := time.Since(start)
	cancel()
	_ = p.Wait()
	for range events {
	}
	return float64(used) / float64(elapsed)
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
