// Command starter is exercise 4: a sidecar with the right start and stop
// order. Read README.md (or README.zh-CN.md) next to this directory, do the
// TODOs in order, then check your work as root:
//
//	go run ./exercises/check 4
//
// Run it on its own with: go run ./exercises/04-sidecar/starter
// The shipper and the app are in roles.go; you do not need to change them.
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

// run runs the pod until ctx is done.
//
// As given, the shipper is a second main container: it starts at the same
// time as the app, which finds nobody to send its logs to and crashes, and
// it is stopped at the same time as the app, whose last log line is lost.
func run(ctx context.Context, out *lab.Out) error {
	shipper := pod.Container{Name: "shipper", Command: lab.Self("shipper"),
		// TODO(1): make the shipper a native sidecar: set its RestartPolicy
		// to pod.RestartAlways here, and declare it with
		// pod.WithInitContainers(shipper) below instead of among the main
		// containers. A sidecar starts before the main containers and is
		// stopped after them.
		//
		// TODO(2): the shipper needs 300ms before it listens, and the app
		// must not start before that. Give the shipper a startup probe: the
		// containers after a sidecar start only once its startup probe has
		// passed.
		//
		//	StartupProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 5170},
		//		Period: 100 * time.Millisecond, FailureThreshold: 30},
		//
		// (FailureThreshold 30: up to 3s of failed checks before the
		// shipper is killed and restarted; the default, 3, is too short.)
		Stdout: out.Prefix("shipper"), Stderr: out.Prefix("shipper")}
	p, err := pod.New("ex4", pod.Spec{
		TerminationGracePeriod: new(3 * time.Second),
		Containers: []pod.Container{
			shipper,
			{Name: "app", Command: lab.Self("app"),
				Stdout: out.Prefix("app"), Stderr: out.Prefix("app")},
		},
	})
	if err != nil {
		return err
	}
	events := out.Events(p)
	err = p.Run(ctx)
	<-events
	return err
}
