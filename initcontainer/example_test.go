package initcontainer_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/podkit/podkit/initcontainer"
	"github.com/podkit/podkit/pod"
)

// The ready-made init steps, in order before the app starts: WaitForTCP
// waits for a database to accept connections, then Extract unpacks the
// application's files into a volume the app mounts.
func Example() {
	// A database on the host, and a release archive.
	db, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	tmp, err := os.MkdirTemp("", "initcontainer-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)
	archive := filepath.Join(tmp, "release.tar.gz")
	if err := writeArchive(archive, "index.html", "<h1>release 42</h1>\n"); err != nil {
		fmt.Println(err)
		return
	}

	wait, err := initcontainer.WaitForTCP{Address: db.Addr().String(), FromHost: true}.Container("wait-for-db")
	if err != nil {
		fmt.Println(err)
		return
	}
	extract, err := initcontainer.Extract{Archive: archive, Volume: "site"}.Container("unpack")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := pod.New("release", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		Volumes:        []pod.Volume{{Name: "site", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{wait, extract},
		Containers: []pod.Container{{Name: "app", Command: []string{"cat", "/srv/index.html"}, Stdout: os.Stdout,
			VolumeMounts: []pod.VolumeMount{{Name: "site", MountPath: "/srv"}}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Run(context.Background()))
	// Output:
	// <h1>release 42</h1>
	// <nil>
}

// writeArchive writes a gzip-compressed tar archive holding one file.
func writeArchive(path, name, content string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
		return err
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// Init steps written by hand, a process and an in-process one, prepare a
// shared volume, one after the other, before the app starts.
func Example_handWritten() {
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
