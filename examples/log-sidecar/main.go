// Command log-sidecar shows a logging sidecar: the app writes its log files
// into a shared volume, in its own format (logfmt), and rotates them; a
// sidecar follows the files across rotation and the log adapter normalises
// every line to one JSON form — UTC time with nanoseconds, a normalised
// level, the message, the fields — without a change to the app. A line that
// does not parse is not lost: it comes out flagged.
//
//	sudo go run ./examples/log-sidecar
//
// The same pod is examples/log-sidecar/pod.yaml.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/podkit/podkit/pod/console"

	"github.com/podkit/podkit/adapter/logs"
	"github.com/podkit/podkit/pod"
)

// app writes logfmt lines, rotates its log like logrotate's create mode,
// writes on, and ends.
const app = `cd /mnt
log() { echo "time=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ) level=$1 msg=\"$2\" user=$3" >> app.log; sleep 0.05; }
log INFO "user logged in" alice
log WARNING "slow query" alice
echo "this line is not logfmt {{{" >> app.log
mv app.log app.log.1
log ERROR "payment failed" bob
log I "done" bob`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "log-sidecar:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	out := console.New(w)
	logs, err := logs.Adapter{
		Files:  &logs.Files{Volume: "logs", Patterns: []string{"*.log"}, FromStart: true},
		Format: logs.FormatLogfmt, Enrich: true,
		Output: out,
	}.Container("log-adapter")
	if err != nil {
		return err
	}
	p, err := pod.New("log-sidecar", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		Volumes:        []pod.Volume{{Name: "logs", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{logs},
		Containers: []pod.Container{{Name: "app", Command: []string{"sh", "-c", app},
			VolumeMounts: []pod.VolumeMount{{Name: "logs", MountPath: "/mnt"}}}},
	})
	if err != nil {
		return err
	}
	err = p.Run(ctx)
	fmt.Fprintf(out, "pod log-sidecar finished: phase %s\n", p.Status().Phase)
	return err
}
