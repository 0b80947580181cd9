// Command solution is the reference solution of exercise 8: a readiness
// probe keeps the app out of service while it warms up and while it hangs,
// and a liveness probe restarts it when it hangs.
//
//	sudo go run ./exercises/08-probes/solution [-duration 10s]
package main

import (
	"context"
	"time"

	"github.com/podkit/podkit/exercises/internal/lab"
	"github.com/podkit/podkit/pod"
)

func main() {
	lab.Roles(map[string]func() int{"app": app})
	lab.Main(10*time.Second, run)
}

func run(ctx context.Context, out *lab.Out) error {
	p, err := pod.New("ex8", pod.Spec{
		TerminationGracePeriod: new(2 * time.Second),
		Containers: []pod.Container{{Name: "app", Command: lab.Self("app"),
			// Ready only while /ready answers: not while warming up, not
			// while hung.
			ReadinessProbe: &pod.Probe{HTTPGet: &pod.HTTPGetAction{Path: "/ready", Port: 8080},
				Period: 100 * time.Millisecond, Timeout: 250 * time.Millisecond, FailureThreshold: 1},
			// Alive while /healthz answers, warming up included; killed and
			// restarted after three failures in a row. The first check
			// waits until the server has had time to listen.
			LivenessProbe: &pod.Probe{HTTPGet: &pod.HTTPGetAction{Path: "/healthz", Port: 8080},
				InitialDelay: 500 * time.Millisecond,
				Period:       200 * time.Millisecond, Timeout: 250 * time.Millisecond, FailureThreshold: 3},
			Stdout: out.Prefix("app"), Stderr: out.Prefix("app")}},
	})
	if err != nil {
		return err
	}
	events := out.Events(p)
	err = p.Run(ctx)
	<-events
	return err
}
