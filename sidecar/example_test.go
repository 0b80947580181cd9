package sidecar_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/sidecar"
)

// An in-process sidecar serves on the pod's loopback; the app, here an
// in-process container too, reaches it at 127.0.0.1 inside the pod.
func ExampleFunc() {
	greeter := sidecar.Func("greeter", func(ctx context.Context) error {
		self, _ := pod.FromContext(ctx)
		ln, err := self.Pod.Listen(ctx, "tcp", "127.0.0.1:8080")
		if err != nil {
			return err
		}
		go func() { <-ctx.Done(); ln.Close() }()
		for {
			c, err := ln.Accept()
			if err != nil {
				return ctx.Err()
			}
			fmt.Fprintln(c, "hello from the sidecar")
			c.Close()
		}
	})
	// The app starts once the sidecar listens.
	greeter.StartupProbe = &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 8080}, Period: 10 * time.Millisecond}
	app := pod.Container{Name: "app", Func: func(ctx context.Context) error {
		self, _ := pod.FromContext(ctx)
		c, err := self.Pod.DialContext(ctx, "tcp", "127.0.0.1:8080")
		if err != nil {
			return err
		}
		defer c.Close()
		line, err := bufio.NewReader(c).ReadString('\n')
		fmt.Print(line)
		return err
	}}
	p, err := pod.New("func-sidecar", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		InitContainers: []pod.Container{greeter},
		Containers:     []pod.Container{app},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Run(context.Background()))
	// Output:
	// hello from the sidecar
	// <nil>
}

// The app writes its log to a file in a shared volume; the log shipper
// forwards it. When the job ends, the shipper ships what is left and stops.
func ExampleLogShipper() {
	shipper, err := sidecar.LogShipper{Volume: "logs", Patterns: []string{"*.log"}, Output: os.Stdout, FromStart: true,
		Format: func(l sidecar.Line) []byte { return []byte(l.Path + ": " + l.Text + "\n") }}.Container("shipper")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := pod.New("log-shipper", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		Volumes:        []pod.Volume{{Name: "logs", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{shipper},
		Containers: []pod.Container{{Name: "job",
			Command:      []string{"sh", "-c", "for i in 1 2 3; do echo step $i >> /mnt/job.log; done"},
			VolumeMounts: []pod.VolumeMount{{Name: "logs", MountPath: "/mnt"}}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Run(context.Background()))
	// Output:
	// job.log: step 1
	// job.log: step 2
	// job.log: step 3
	// <nil>
}

// The content syncer fills the volume before the web server starts.
func ExampleContentSyncer() {
	syncer, err := sidecar.ContentSyncer{Volume: "site", WaitForFirstSync: true,
		Sync: func(ctx context.Context, dir string) error {
			// A real sync would run git pull, or fetch the content.
			return os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>synced</h1>\n"), 0o644)
		}}.Container("git-sync")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := pod.New("content", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		Volumes:        []pod.Volume{{Name: "site", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{syncer},
		Containers: []pod.Container{{Name: "web", Command: []string{"cat", "/mnt/index.html"}, Stdout: os.Stdout,
			VolumeMounts: []pod.VolumeMount{{Name: "site", MountPath: "/mnt"}}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Run(context.Background()))
	// Output:
	// <h1>synced</h1>
	// <nil>
}
