// Command solution is the reference solution of exercise 3: two init
// containers, in order, before the app. The first writes the app's
// configuration into a shared volume (and fails once, to show the retry);
// the second waits until the database accepts connections.
//
//	sudo go run ./exercises/03-init-container/solution [-duration 10s]
package main

import (
	"context"
	"time"

	"github.com/podkit/podkit/exercises/internal/lab"
	"github.com/podkit/podkit/initcontainer"
	"github.com/podkit/podkit/pod"
)

// fetchConfig "downloads" the app's configuration into the volume. Its first
// attempt fails, as a flaky download would; the pod retries it.
const fetchConfig = `if [ ! -e /mnt/.tried ]; then touch /mnt/.tried; echo "download failed"; exit 1; fi
sleep 0.3
echo "greeting=hello from the init container" > /mnt/app.conf
echo "wrote /mnt/app.conf"`

// app needs its configuration from its first instruction on.
const app = `if [ ! -s /mnt/app.conf ]; then echo "no configuration: exiting"; exit 1; fi
echo "config: $(cat /mnt/app.conf)"
trap 'echo "stopping"; exit 0' TERM
while :; do sleep 0.2; done`

func main() {
	lab.Main(10*time.Second, run)
}

func run(ctx context.Context, out *lab.Out) error {
	db, err := startDatabase(ctx, out, time.Second)
	if err != nil {
		return err
	}
	config := []pod.VolumeMount{{Name: "config", MountPath: "/mnt"}}
	fetch := pod.Container{Name: "fetch-config", Command: []string{"sh", "-c", fetchConfig},
		VolumeMounts: config, Stdout: out.Prefix("fetch-config"), Stderr: out.Prefix("fetch-config")}
	waitForDB, err := initcontainer.WaitForTCP{Address: db, FromHost: true, Interval: 100 * time.Millisecond}.Container("wait-for-db")
	if err != nil {
		return err
	}
	waitForDB.Stdout = out.Prefix("wait-for-db")
	p, err := pod.New("ex3", pod.Spec{
		TerminationGracePeriod: new(2 * time.Second),
		Volumes:                []pod.Volume{{Name: "config", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{
			fetch,
			waitForDB,
		},
		Containers: []pod.Container{{Name: "app", Command: []string{"sh", "-c", app},
			VolumeMounts: config, Stdout: out.Prefix("app"), Stderr: out.Prefix("app")}},
	})
	if err != nil {
		return err
	}
	events := out.Events(p)
	err = p.Run(ctx)
	<-events
	return err
}
