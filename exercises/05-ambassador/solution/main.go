// Command solution is the reference solution of exercise 5: the app talks
// to 127.0.0.1:9000 inside its isolated pod, and an ambassador, a sidecar
// declared before it, carries each connection to one of two backends on
// the host, in turn.
//
//	sudo go run ./exercises/05-ambassador/solution [-duration 10s]
package main

import (
	"context"
	"time"

	"github.com/podkit/podkit/ambassador"
	"github.com/podkit/podkit/exercises/internal/lab"
	"github.com/podkit/podkit/pod"
)

func main() {
	lab.Roles(map[string]func() int{"app": app})
	lab.Main(10*time.Second, run)
}

func run(ctx context.Context, out *lab.Out) error {
	backends, stopBackends, err := startBackends(out, 2)
	if err != nil {
		return err
	}
	defer stopBackends()
	amb, err := ambassador.TCP{
		Listen:    "127.0.0.1:9000",
		Upstreams: []ambassador.Upstream{{Addr: backends[0]}, {Addr: backends[1]}},
	}.Container("ambassador")
	if err != nil {
		return err
	}
	p, err := pod.New("ex5", pod.Spec{
		TerminationGracePeriod: new(2 * time.Second),
		InitContainers:         []pod.Container{amb},
		Containers: []pod.Container{{Name: "app", Command: lab.Self("app"),
			Env:    []string{"BACKEND=http://127.0.0.1:9000/"},
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
