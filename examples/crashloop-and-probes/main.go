// Command crashloop-and-probes shows the kubelet's restart machinery on a
// flaky app: it crashes on its first runs (CrashLoopBackOff, with a back-off
// that doubles), then serves, while its readiness flips with a file it
// toggles and its liveness probe restarts it when it hangs.
//
//	sudo go run ./examples/crashloop-and-probes [-duration 15s]
//
// The events are printed as they happen. The back-off starts at 500ms here
// (Kubernetes' is 10s), so that the loop shows in seconds. The same app is
// examples/crashloop-and-probes/pod.yaml, with Kubernetes' defaults.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/podkit/podkit/pod/console"

	"github.com/podkit/podkit/pod"
)

// app crashes twice (a counter in its volume), then loops: ready for 1.5s,
// unready for 1.5s, and after a while it hangs: it stops touching its
// heartbeat, and the liveness probe kills it.
const app = `n=$(cat /mnt/runs 2>/dev/null || echo 0); echo $((n+1)) > /mnt/runs
if [ "$n" -lt 2 ]; then echo "run $n: crashing"; exit 1; fi
echo "run $n: serving"
i=0
while :; do
  touch /mnt/heartbeat
  if [ $((i / 15 % 2)) = 0 ]; then touch /mnt/ready; else rm -f /mnt/ready; fi
  i=$((i+1))
  if [ $i = 40 ]; then echo "run $n: hanging"; sleep 1000; fi
  sleep 0.1
done`

func main() {
	duration := flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "crashloop-and-probes:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	out := console.New(w) // the events and the app's output share it
	exists := func(file string) *pod.ExecAction {
		return &pod.ExecAction{Command: []string{"test", "-e", file}}
	}
	p, err := pod.New("crashloop", pod.Spec{
		TerminationGracePeriod: new(2 * time.Second),
		Volumes:                []pod.Volume{{Name: "state", EmptyDir: &pod.EmptyDirVolume{Medium: pod.MediumMemory}}},
		Containers: []pod.Container{{Name: "flaky",
			Command:      []string{"sh", "-c", app},
			VolumeMounts: []pod.VolumeMount{{Name: "state", MountPath: "/mnt"}},
			// The probes' timeout is longer than the kubelet's default of
			// 1s: a loaded machine has taken over a second to fork a
			// probe's shell, and the liveness probe's job is to catch the
			// stale heartbeat of the hang, not a slow fork.
			ReadinessProbe: &pod.Probe{Exec: exists("/mnt/ready"), Period: 500 * time.Millisecond,
				Timeout: 5 * time.Second, FailureThreshold: 1},
			LivenessProbe: &pod.Probe{Exec: &pod.ExecAction{Command: []string{"sh", "-c",
				`[ $(( $(date +%s) - $(stat -c %Y /mnt/heartbeat) )) -lt 2 ]`}},
				InitialDelay: time.Second, Period: 500 * time.Millisecond, Timeout: 5 * time.Second, FailureThreshold: 2},
			Stdout: out.Writer("flaky"),
		}},
	}, pod.WithBackoff(pod.Backoff{Initial: 500 * time.Millisecond, Max: 4 * time.Second}))
	if err != nil {
		return err
	}
	events := p.Subscribe(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			switch ev.Reason {
			case pod.EventStarted, pod.EventExited, pod.EventBackOff, pod.EventUnhealthy, pod.EventKilling:
				fmt.Fprintf(out, "%s %-9s %s\n", ev.Time.Format("15:04:05.000"), ev.Reason, ev.Message)
			case pod.EventReady:
				if ev.Container == "" {
					fmt.Fprintf(out, "%s %-9s pod ready: %v\n", ev.Time.Format("15:04:05.000"), ev.Reason, ev.Ready)
				}
			}
		}
	}()
	err = p.Run(ctx)
	<-done
	c, _ := p.Status().Container("flaky")
	fmt.Fprintf(out, "flaky restarted %d times\n", c.RestartCount)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
