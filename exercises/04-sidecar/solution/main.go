// Command solution is the reference solution of exercise 4: the log
// shipper is a native sidecar. It starts before the app, which starts only
// once its startup probe sees it listen, and it stops only after the app
// has exited, so that no log line is lost at either end.
//
//	sudo go run ./exercises/04-sidecar/solution [-duration 10s]
package main

import (
	"context"
	"time"

	"github.com/podkit/podkit/exercises/internal/lab"
	"github.com/podkit/podkit/pod"
)

func main() {
	lab.Roles(map[string]func() int{"shipper": shipper, "app": app})
	lab.Main(10*time.Second, run)
}

func run(ctx context.Context, out *lab.Out) error {
	shipper := pod.Container{Name: "shipper", Command: lab.Self("shipper"),
		// A sidecar is an init container that is always restarted.
		RestartPolicy: pod.RestartAlways,
		// The containers after it start once this passes: once it listens.
		StartupProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 5170},
			Period: 100 * time.Millisecond, FailureThreshold: 30},
		Stdout: out.Prefix("shipper"), Stderr: out.Prefix("shipper")}
	p, err := pod.New("ex4", pod.Spec{
		TerminationGracePeriod: new(3 * time.Second),
		InitContainers:         []pod.Container{shipper},
		Containers: []pod.Container{{Name: "app", Command: lab.Self("app"),
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
