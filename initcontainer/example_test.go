package initcontainer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/podkit/podkit/pod"
)

// Init containers prepare a shared volume, one after the other, before the
// app starts.
func Example() {
	p, err := pod.New("prepare", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Volumes:       []pod.Volume{{Name: "work", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{
			// A process step...
			{Name: "fetch", Command: []string{"sh", "-c", "echo data > /mnt/input"},
				VolumeMounts: []pod.VolumeMount{{Name: "work", MountPath: "/mnt"}}},
			// ... and an in-process one, after it.
			{Name: "check", Func: func(ctx context.Context) error {
				self, _ := pod.FromContext(ctx)
				dir, err := self.Pod.VolumePath("work")
				if err != nil {
					return err
				}
				_, err = os.Stat(filepath.Join(dir, "input"))
				return err
			}},
		},
		Containers: []pod.Container{{Name: "app", Command: []string{"cat", "/mnt/input"}, Stdout: os.Stdout,
			VolumeMounts: []pod.VolumeMount{{Name: "work", MountPath: "/mnt"}}}},
	})
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
func Example_failedStep() {
	p, err := pod.New("migrate", pod.Spec{
		RestartPolicy: pod.RestartNever,
		InitContainers: []pod.Container{{Name: "migrate", Func: func(ctx context.Context) error {
			return fmt.Errorf("database schema is locked")
		}}},
		Containers: []pod.Container{{Name: "app", Command: []string{"echo", "never printed"}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Run(context.Background()))
	// Output:
	// pod "migrate": container "migrate": exited with code 1: database schema is locked
}
