// Command job-with-sidecar runs a batch pod (restart policy Never) whose
// sidecar ships the job's log file: when the job finishes, the sidecar is
// stopped and the pod Succeeds — the problem native sidecars solved for
// Kubernetes Jobs.
//
//	sudo go run ./examples/job-with-sidecar
//
// The same pod is examples/job-with-sidecar/pod.yaml (podkit run -f), and
// kubernetes.yaml is what it becomes on Kubernetes.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/podkit/podkit/pod/console"

	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/sidecar"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "job-with-sidecar:", err)
		os.Exit(1)
	}
}

// run runs the pod to its end, printing its lifecycle and the shipped log.
func run(ctx context.Context, out io.Writer) error {
	con := console.New(out, "shipped", "event")
	shipper, err := sidecar.LogShipper{
		Volume: "logs", Patterns: []string{"*.log"}, FromStart: true,
		Output: con.Writer("shipped"),
	}.Container("log-shipper")
	if err != nil {
		return err
	}
	p, err := pod.New("job-with-sidecar", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		Volumes:        []pod.Volume{{Name: "logs", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{shipper},
		Containers: []pod.Container{{Name: "job",
			Command:      []string{"sh", "-c", `for i in 1 2 3 4 5; do echo "step $i done" >> /mnt/job.log; sleep 0.1; done`},
			VolumeMounts: []pod.VolumeMount{{Name: "logs", MountPath: "/mnt"}}}},
	})
	if err != nil {
		return err
	}
	events := p.Subscribe(context.Background())
	eventsOut := con.Writer("event")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			if ev.Reason == pod.EventStarted || ev.Reason == pod.EventExited || ev.Reason == pod.EventKilling || ev.Reason == pod.EventPodPhase {
				fmt.Fprintf(eventsOut, "%-8s %-7s %s\n", ev.Reason, ev.Role, ev.Message)
			}
		}
	}()
	err = p.Run(ctx)
	<-done
	con.Printf("pod job-with-sidecar finished: phase %s", p.Status().Phase)
	return err
}
