// Command hellopod runs a demo pod: a web server and a client in one pod. They
// share the pod's loopback and hostname, which the host cannot reach.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/podkit/podkit/pod"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	p, err := pod.New("hello",
		pod.WithContainers(
			pod.Container{Name: "server", Command: []string{"sh", "-c", "echo server on $(hostname); exec sleep 100"}, Stdout: os.Stdout},
			pod.Container{Name: "client", Command: []string{"sh", "-c", "echo client pid $$; sleep 1; exit 3"}, Stdout: os.Stdout},
		),
		pod.WithTerminationGracePeriod(2*time.Second),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	events := p.Subscribe(context.Background())
	go func() {
		for ev := range events {
			fmt.Printf("%s %-8s %-8s %s\n", ev.Time.Format("15:04:05.000"), ev.Reason, ev.Container, ev.Message)
		}
	}()
	err = p.Run(ctx)
	fmt.Println("run:", err)
	fmt.Printf("%+v\n", p.Status().Phase)
}
