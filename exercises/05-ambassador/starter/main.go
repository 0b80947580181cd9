// Command starter is exercise 5: an ambassador. Read README.md (or
// README.zh-CN.md) next to this directory, do the TODOs in order, then
// check your work as root:
//
//	go run ./exercises/check 5
//
// Run it on its own with: go run ./exercises/05-ambassador/starter
// The app and the backends are in roles.go; you do not need to change them.
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

// run starts two backends on the host and runs the pod until ctx is done.
//
// As given, the app is told the host address of the first backend. But
// the pod is isolated: inside it, 127.0.0.1 is the pod's own loopback, and
// every request fails.
func run(ctx context.Context, out *lab.Out) error {
	backends, stopBackends, err := startBackends(out, 2)
	if err != nil {
		return err
	}
	defer stopBackends()

	// TODO(1): make an ambassador named "ambassador" that listens on
	// 127.0.0.1:9000 inside the pod and forwards each connection to one of
	// the two backends, in turn (round robin, the default):
	//
	//	amb, err := ambassador.TCP{
	//		Listen:    "127.0.0.1:9000",
	//		Upstreams: []ambassador.Upstream{{Addr: backends[0]}, {Addr: backends[1]}},
	//	}.Container("ambassador")
	//
	// (import "github.com/podkit/podkit/ambassador").

	p, err := pod.New("ex5", pod.Spec{
		TerminationGracePeriod: new(2 * time.Second),
		// TODO(2): declare the ambassador before the app, as a sidecar:
		// InitContainers: []pod.Container{amb}. Container() already made
		// it one (RestartPolicy Always, and a startup probe that passes
		// once it listens), so the app starts only when it can connect.
		Containers: []pod.Container{{Name: "app", Command: lab.Self("app"),
			// TODO(3): the app must not know where the backends are:
			// make it talk to its ambassador, on the pod's loopback:
			// BACKEND=http://127.0.0.1:9000/
			Env:    []string{"BACKEND=http://" + backends[0] + "/"},
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
