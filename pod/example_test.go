package pod_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/podkit/podkit/pod"
)

// A pod of two containers that share the pod's loopback and hostname.
func Example() {
	p, err := pod.New("hello", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers:    []pod.Container{{Name: "server", Command: []string{"sh", "-c", "echo server runs on $(hostname)"}, Stdout: os.Stdout}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Status().Phase)
	// Output:
	// server runs on hello
	// Succeeded
}

// Subscribe before Start to see every event of a pod.
func ExamplePod_Subscribe() {
	p, err := pod.New("events", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers:    []pod.Container{{Name: "job", Command: []string{"sh", "-c", "exit 3"}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	events := p.Subscribe(context.Background())
	err = p.Run(context.Background())
	for ev := range events {
		if ev.Role == pod.RoleMain || ev.Reason == pod.EventPodPhase {
			fmt.Println(ev.Reason, ev.Container, ev.Phase, ev.ExitCode)
		}
	}
	fmt.Println(err)
	// Output:
	// PodPhase  Pending 0
	// Started job  0
	// Ready job  0
	// PodPhase  Running 0
	// Exited job  3
	// Ready job  0
	// PodPhase  Failed 0
	// pod "events": container "job": exited with code 3
}

// Exec runs a command inside a running container, like kubectl exec.
func ExamplePod_Exec() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := pod.New("exec", pod.Spec{
		Hostname:   "inside",
		Containers: []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	events := p.Subscribe(ctx)
	if err := p.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for ev := range events {
		if ev.Reason == pod.EventStarted && ev.Container == "app" {
			break
		}
	}
	var out strings.Builder
	cmd := exec.Command("hostname")
	cmd.Stdout = &out
	err = p.Exec(ctx, "app", cmd)
	fmt.Print(out.String(), err, "\n")
	cancel()
	fmt.Println(p.Wait())
	// Output:
	// inside
	// <nil>
	// context canceled
}

// Logs returns a container's output in the CRI log format.
func ExamplePod_Logs() {
	p, err := pod.New("logs", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers:    []pod.Container{{Name: "app", Command: []string{"sh", "-c", "echo one; echo two >&2"}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = p.Run(context.Background())
	entries, _ := p.Logs("app", pod.LogOptions{})
	for _, e := range entries {
		line := e.String()
		fmt.Println(line[strings.IndexByte(line, ' ')+1:]) // without the time
	}
	// Unordered output:
	// stdout F one
	// stderr F two
}

// A bridged pod has an address of its own, where the host reaches it: here
// an in-process container serves on the pod's port 8080, which the
// program dials at the pod's IP.
func ExampleNetwork() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := func(ctx context.Context) error {
		in, _ := pod.FromContext(ctx)
		ln, err := in.Pod.Listen(ctx, "tcp", ":8080") // every address of the pod
		if err != nil {
			return err
		}
		go func() {
			<-ctx.Done()
			ln.Close()
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return nil
			}
			fmt.Fprintln(c, "hello from", in.Pod.Hostname())
			c.Close()
		}
	}
	p, err := pod.New("bridged", pod.Spec{
		Network: pod.Network{Mode: pod.NetworkBridged},
		Containers: []pod.Container{{Name: "web", Func: serve,
			ReadinessProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 8080}, Period: 10 * time.Millisecond}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	events := p.Subscribe(ctx)
	if err := p.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for ev := range events {
		if ev.Reason == pod.EventReady && ev.Container == "web" && ev.Ready {
			break
		}
	}
	c, err := net.Dial("tcp", net.JoinHostPort(p.Status().PodIP, "8080"))
	if err != nil {
		fmt.Println(err)
		return
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	fmt.Print(line)
	cancel()
	fmt.Println(p.Wait())
	// Output:
	// hello from bridged
	// context canceled
}

// A container under the runtimes' default seccomp profile, with the
// capabilities Docker gives a container: ordinary work runs, while a call
// outside the profile, such as creating a user namespace, fails with EPERM.
func ExampleSeccompProfile() {
	p, err := pod.New("confined", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers: []pod.Container{{Name: "app", Stdout: os.Stdout,
			Command: []string{"sh", "-c", "grep '^Seccomp:' /proc/self/status | tr -d '\\t'; unshare -U true 2>/dev/null || echo unshare denied"},
			SecurityContext: &pod.SecurityContext{
				Capabilities: &pod.Capabilities{Drop: []string{"ALL"}, Add: []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID",
					"KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP"}},
				SeccompProfile: &pod.SeccompProfile{Type: pod.SeccompRuntimeDefault},
			}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	// Output:
	// Seccomp:2
	// unshare denied
}

// UpdateVolume replaces the files of a projected volume under a running
// container, which sees them change without a restart, as a ConfigMap's
// volume changes under the kubelet.
func ExamplePod_UpdateVolume() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := pod.New("config", pod.Spec{
		Volumes: []pod.Volume{{Name: "config", Projected: &pod.ProjectedVolume{
			Files: []pod.ProjectedFile{{Path: "level", Data: []byte("debug")}},
		}}},
		Containers: []pod.Container{{Name: "app", Command: []string{"sleep", "1000"},
			VolumeMounts: []pod.VolumeMount{{Name: "config", MountPath: "/etc/config"}}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	events := p.Subscribe(ctx)
	if err := p.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for ev := range events {
		if ev.Reason == pod.EventStarted && ev.Container == "app" {
			break
		}
	}
	level := func() string {
		var out strings.Builder
		cmd := exec.Command("cat", "/etc/config/level")
		cmd.Stdout = &out
		if err := p.Exec(ctx, "app", cmd); err != nil {
			return err.Error()
		}
		return out.String()
	}
	fmt.Println(level())
	err = p.UpdateVolume("config", []pod.ProjectedFile{{Path: "level", Data: []byte("info")}})
	fmt.Println(level(), err)
	cancel()
	_ = p.Wait()
	// Output:
	// debug
	// info <nil>
}
