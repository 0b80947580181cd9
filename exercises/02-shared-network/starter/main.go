// Command starter is exercise 2: two processes that share a network
// namespace. Read README.md (or README.zh-CN.md) next to this directory, do
// the TODOs in order, then check your work as root:
//
//	go run ./exercises/check 2
//
// Run it on its own with: go run ./exercises/02-shared-network/starter
// The server and client code is in roles.go; you do not need to change it.
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

// run runs the pods until ctx is done.
//
// As given, the server and the client each run in a pod of their own, so
// each has a network namespace of its own: the client connects to
// 127.0.0.1:8080 and finds nobody there. Run it and read the client's
// errors.
func run(ctx context.Context, out *lab.Out) error {
	// TODO(1): put both containers in ONE pod, named "ex2": a pod.New with
	// both pod.Container values in its pod.WithContainers, and pass that
	// single pod to runPods. Delete the second pod.
	//
	// TODO(2): give that pod the hostname "shared" with
	// pod.WithHostname("shared"); the server greets with its hostname, and
	// both containers see the same one, since a pod also shares its UTS
	// namespace.
	serverPod, err := pod.New("ex2-server", pod.Spec{
		TerminationGracePeriod: new(2 * time.Second),
		Containers: []pod.Container{{Name: "server", Command: lab.Self("server"),
			Stdout: out.Prefix("server"), Stderr: out.Prefix("server")}},
	})
	if err != nil {
		return err
	}
	clientPod, err := pod.New("ex2-client", pod.Spec{
		TerminationGracePeriod: new(2 * time.Second),
		Containers: []pod.Container{{Name: "client", Command: lab.Self("client"),
			Stdout: out.Prefix("client"), Stderr: out.Prefix("client")}},
	})
	if err != nil {
		return err
	}
	return runPods(ctx, out, serverPod, clientPod)
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
