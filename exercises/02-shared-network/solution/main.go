// Command solution is the reference solution of exercise 2: a server and a
// client in one pod, talking over the pod's own loopback, under the pod's
// hostname.
//
//	sudo go run ./exercises/02-shared-network/solution [-duration 10s]
package main

import (
	"context"
	"errors"
	"time"

	"github.com/podkit/podkit/exercises/internal/lab"
	"github.com/podkit/podkit/pod"
)

func main() {
	lab.Roles(map[string]func() int{"server": server, "client": client})
	lab.Main(10*time.Second, run)
}

// run runs one pod holding both containers until ctx is done.
func run(ctx context.Context, out *lab.Out) error {
	p, err := pod.New("ex2", pod.Spec{
		Hostname:               "shared",
		TerminationGracePeriod: new(2 * time.Second),
		Containers: []pod.Container{
			{Name: "server", Command: lab.Self("server"),
				Stdout: out.Prefix("server"), Stderr: out.Prefix("server")},
			{Name: "client", Command: lab.Self("client"),
				Stdout: out.Prefix("client"), Stderr: out.Prefix("client")},
		},
	})
	if err != nil {
		return err
	}
	return runPods(ctx, out, p)
}

// runPods runs the pods side by side, printing their events, until ctx is
// done, and returns their errors.
func runPods(ctx context.Context, out *lab.Out, pods ...*pod.Pod) error {
	errs := make(chan error, len(pods))
	for _, p := range pods {
		events := out.Events(p)
		go func() {
			err := p.Run(ctx)
			<-events
			errs <- err
		}()
	}
	var all []error
	for range pods {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}
