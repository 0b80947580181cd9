// Command starter is exercise 8: readiness and liveness probes. Read
// README.md (or README.zh-CN.md) next to this directory, do the TODOs in
// order, then check your work as root:
//
//	go run ./exercises/check 8
//
// Run it on its own with: go run ./exercises/08-probes/starter
// The app is in app.go; you do not need to change it.
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

// run runs the pod until ctx is done.
//
// As given, the app has no probes: it is Ready as soon as its process
// runs, while it still warms up, and when it hangs, nothing notices.
func run(ctx context.Context, out *lab.Out) error {
	p, err := pod.New("ex8", pod.Spec{
		TerminationGracePeriod: new(2 * time.Second),
		Containers: []pod.Container{{Name: "app", Command: lab.Self("app"),
			// TODO(1): a readiness probe: the app is Ready only while
			// GET http://127.0.0.1:8080/ready answers 2xx or 3xx. Check
			// every 100ms, give up on a check after 250ms, and count one
			// failure as unready:
			//
			//	ReadinessProbe: &pod.Probe{HTTPGet: &pod.HTTPGetAction{Path: "/ready", Port: 8080},
			//		Period: 100 * time.Millisecond, Timeout: 250 * time.Millisecond, FailureThreshold: 1},
			//
			// TODO(2): a liveness probe on /healthz, which answers while
			// the app warms up but not once it hangs: the first check
			// 500ms after the start (InitialDelay, time for the server to
			// listen), then every 200ms, with a timeout of 250ms; the app
			// is killed and restarted after 3 failures in a row
			// (FailureThreshold: 3). Why would /ready be the wrong path
			// here?
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
