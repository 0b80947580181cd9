package podapi_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/podapi"
)

// A program that runs a pod serves its API, so that podkit ps, logs, exec
// and stop work on it (with podkit's --run-dir set to dir; podapi.DefaultDir
// is where podkit looks by default). A Client is the other end.
func Example() {
	dir, err := os.MkdirTemp("", "podapi-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	p, err := pod.New("hello", pod.Spec{
		Containers: []pod.Container{{Name: "app", Command: []string{"sleep", "60"}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The server's Stop (Client.Stop, podkit stop) cancels the pod's context.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if err := p.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer p.Wait()
	ln, err := podapi.Listen(dir, p.Name())
	if err != nil {
		fmt.Println(err)
		return
	}
	// Serve returns once its context is done and every request has ended.
	srvCtx, endServer := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- (&podapi.Server{Pod: p, Stop: stop}).Serve(srvCtx, ln) }()
	defer func() {
		endServer()
		<-served
	}()

	names, _ := podapi.List(dir)
	fmt.Println("pods:", names)
	c := podapi.NewClient(dir, "hello")
	defer c.Close()
	for {
		st, err := c.Status(context.Background())
		if err == nil && st.Status.Phase == pod.PhaseRunning {
			break
		}
		select {
		case <-p.Done():
			fmt.Println("the pod ended:", p.Wait())
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	var out strings.Builder
	exit, err := c.Exec(context.Background(), "app", []string{"echo", "hello from app"}, nil, &out, &out)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("exec: %q, exit code %d\n", out.String(), exit.ExitCode)
	if err := c.Stop(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	<-p.Done()
	fmt.Println("stopped")
	// Output:
	// pods: [hello]
	// exec: "hello from app\n", exit code 0
	// stopped
}
