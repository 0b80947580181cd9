// Command solution is the reference solution of exercise 7: a job that
// crashes five times before it works, restarted on failure only, with a
// crash-loop back-off of 200ms doubling up to 800ms.
//
//	sudo go run ./exercises/07-crash-loop-backoff/solution [-duration 10s]
package main

import (
	"context"
	"time"

	"github.com/podkit/podkit/exercises/internal/lab"
	"github.com/podkit/podkit/pod"
)

// job counts its runs in the volume: it crashes on its first five, as if
// its database were not up yet, and works on the sixth.
const job = `n=$(cat /mnt/runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > /mnt/runs
if [ $n -le 5 ]; then echo "run $n: cannot reach the database: crashing"; exit 1; fi
echo "run $n: working"; sleep 0.5; echo "run $n: done"`

func main() {
	lab.Main(10*time.Second, run)
}

func run(ctx context.Context, out *lab.Out) error {
	p, err := pod.New("ex7", pod.Spec{
		// A job: restarted when it fails, done when it succeeds.
		RestartPolicy:          pod.RestartOnFailure,
		TerminationGracePeriod: new(2 * time.Second),
		Volumes:                []pod.Volume{{Name: "state", EmptyDir: &pod.EmptyDirVolume{}}},
		Containers: []pod.Container{{Name: "job", Command: []string{"sh", "-c", job},
			VolumeMounts: []pod.VolumeMount{{Name: "state", MountPath: "/mnt"}},
			Stdout:       out.Prefix("job"), Stderr: out.Prefix("job")}},
	},
		// The kubelet waits 10s, 20s, 40s, ... up to 5 minutes; the same
		// curve, faster. The back-off is the host's choice, an option.
		pod.WithBackoff(pod.Backoff{Initial: 200 * time.Millisecond, Max: 800 * time.Millisecond}))
	if err != nil {
		return err
	}
	events := out.Events(p)
	err = p.Run(ctx)
	<-events
	status := p.Status()
	if c, ok := status.Container("job"); ok {
		out.Printf("restarts=%d phase=%s", c.RestartCount, status.Phase)
	}
	return err
}
