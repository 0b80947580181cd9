package initcontainer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/podkit/podkit/initcontainer"
	"github.com/podkit/podkit/pod"
)

// Init containers prepare a shared volume, one after the other, before the
// app starts.
func Example() {
	p, err := pod.New("prepare", pod.WithRestartPolicy(pod.RestartNever),
		pod.WithVolumes(pod.Volume{Name: "work", EmptyDir: &pod.EmptyDirVolume{}}),
		initcontainer.With(
			// A process step...
			pod.Container{Name: "fetch", Command: []string{"sh", "-c", "echo data > /mnt/input"},
				VolumeMounts: []pod.VolumeMount{{Name: "work", MountPath: "/mnt"}}},
			// ... and an in-process one, after it.
			initcontainer.Func("check", func(ctx context.Context) error {
				self, _ := pod.FromContext(ctx)
				dir, err := self.Pod.VolumePath("work")
				if err != nil {
					return err
				}
				_, err = os.Stat(filepath.Join(dir, "input"))
				return err
			}),
		),
		pod.WithContainers(pod.Container{Name: "app", Command: []string{"cat", "/mnt/input"}, Stdout: os.Stdout,
			VolumeMounts: []pod.VolumeMount{{Name: "work", MountPath: "/mnt"}}}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Run(context.Background()))
	// Output:
	// data
	// <nil>
}

// A failed init step fails a pod whose restart policy is Never, and the app
// never starts.
func ExampleFunc() {
	p, err := pod.New("migrate", pod.WithRestartPolicy(pod.RestartNever),
		initcontainer.With(initcontainer.Func("migrate", func(ctx context.Context) error {
			return fmt.Errorf("database schema is locked")
		})),
		pod.WithContainers(initcontainer.Command("app", "echo", "never printed")))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Run(context.Background()))
	// Output:
	// pod "migrate": container "migrate": exited with code 1: database schema is locked
}
