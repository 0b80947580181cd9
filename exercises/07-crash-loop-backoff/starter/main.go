// Command starter is exercise 7: crash-loop back-off. Read README.md (or
// README.zh-CN.md) next to this directory, do the TODOs in order, then
// check your work as root:
//
//	go run ./exercises/check 7
//
// Run it on its own with: go run ./exercises/07-crash-loop-backoff/starter
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

// run runs the pod until it has completed or ctx is done.
//
// As given, the pod has the default restart policy (Always) and the
// kubelet's back-off (10s, doubling up to 5 minutes): the job crashes,
// is restarted at once, crashes again, and then waits 10s.
func run(ctx context.Context, out *lab.Out) error {
	p, err := pod.New("ex7", pod.Spec{
		// TODO(1): the job must be restarted when it fails, and never
		// after it has succeeded: RestartPolicy: pod.RestartOnFailure.
		// (With Always, the default, a job that exits 0 is run again.)
		TerminationGracePeriod: new(2 * time.Second),
		Volumes:                []pod.Volume{{Name: "state", EmptyDir: &pod.EmptyDirVolume{}}},
		Containers: []pod.Container{{Name: "job", Command: []string{"sh", "-c", job},
			VolumeMounts: []pod.VolumeMount{{Name: "state", MountPath: "/mnt"}},
			Stdout:       out.Prefix("job"), Stderr: out.Prefix("job")}},
	},
	// TODO(2): make the back-off start at 200ms and double up to 800ms
	// at most, with an option after the spec (the back-off is the host's
	// choice, not part of the pod's spec):
	// pod.WithBackoff(pod.Backoff{Initial: 200 * time.Millisecond, Max: 800 * time.Millisecond}).
	)
	if err != nil {
		return err
	}
	events := out.Events(p)
	err = p.Run(ctx)
	<-events
	// TODO(3): print how many times the job was restarted and the pod's
	// final phase, from the pod's status, as one line:
	//
	//	restarts=5 phase=Succeeded
	//
	// p.Status() returns a pod.Status; its Container("job") method gives
	// the job's pod.ContainerStatus, with a RestartCount; its Phase field
	// is the pod's phase. Print with out.Printf.
	return err
}
