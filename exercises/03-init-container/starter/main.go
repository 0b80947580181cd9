// Command starter is exercise 3: init containers. Read README.md (or
// README.zh-CN.md) next to this directory, do the TODOs in order, then
// check your work as root:
//
//	go run ./exercises/check 3
//
// Run it on its own with: go run ./exercises/03-init-container/starter
// The stand-in database is in database.go; you do not need to change it.
package main

import (
	"context"
	"time"

	"github.com/podkit/podkit/exercises/internal/lab"
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
	// db is the host address of a database that starts one second from
	// now. The pod is isolated: only this program, on the host, reaches it.
	db, err := startDatabase(ctx, out, time.Second)
	if err != nil {
		return err
	}
	_ = db // TODO(2) uses it

	config := []pod.VolumeMount{{Name: "config", MountPath: "/mnt"}}
	fetch := pod.Container{Name: "fetch-config", Command: []string{"sh", "-c", fetchConfig},
		VolumeMounts: config, Stdout: out.Prefix("fetch-config"), Stderr: out.Prefix("fetch-config")}

	// TODO(2): make an init container named "wait-for-db" that waits until
	// the database accepts connections. The ready-made step
	// initcontainer.WaitForTCP does it without a process:
	//
	//	waitForDB, err := initcontainer.WaitForTCP{Address: db, FromHost: true,
	//		Interval: 100 * time.Millisecond}.Container("wait-for-db")
	//
	// FromHost dials from this program's network namespace, where the
	// database is. Set waitForDB.Stdout = out.Prefix("wait-for-db") to see
	// its attempts.

	p, err := pod.New("ex3", pod.Spec{
		TerminationGracePeriod: new(2 * time.Second),
		Volumes:                []pod.Volume{{Name: "config", EmptyDir: &pod.EmptyDirVolume{}}},
		// TODO(1): fetch-config must run to completion BEFORE the app
		// starts. Declare it as an init container, in the spec's
		// InitContainers: []pod.Container{fetch}, instead of next to the
		// app.
		//
		// TODO(2), continued: declare waitForDB as a second init
		// container, after fetch-config: InitContainers:
		// []pod.Container{fetch, waitForDB}. Init containers run one at a
		// time, in that order.
		Containers: []pod.Container{
			fetch,
			{Name: "app", Command: []string{"sh", "-c", app},
				VolumeMounts: config, Stdout: out.Prefix("app"), Stderr: out.Prefix("app")},
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
