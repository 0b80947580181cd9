package ambassador_test

import (
	"bufio"
	"context"
	"fmt"
	"net"

	"github.com/podkit/podkit/ambassador"
	"github.com/podkit/podkit/pod"
)

// The application reaches "its database" at 127.0.0.1:5432 inside the pod;
// the ambassador carries the connection to the real server outside.
func ExampleTCP() {
	// The real server, on the host: it greets every client.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "hello from the database")
			c.Close()
		}
	}()

	amb, err := ambassador.TCP{
		Listen:    "127.0.0.1:5432",
		Upstreams: []ambassador.Upstream{{Addr: ln.Addr().String()}},
	}.Container("db-ambassador")
	if err != nil {
		fmt.Println(err)
		return
	}
	app := pod.Container{Name: "app", Func: func(ctx context.Context) error {
		self, _ := pod.FromContext(ctx)
		c, err := self.Pod.DialContext(ctx, "tcp", "127.0.0.1:5432")
		if err != nil {
			return err
		}
		defer c.Close()
		line, err := bufio.NewReader(c).ReadString('\n')
		fmt.Print(line)
		return err
	}}
	p, err := pod.New("ambassador-example", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		InitContainers: []pod.Container{amb},
		Containers:     []pod.Container{app},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Run(context.Background()))
	// Output:
	// hello from the database
	// <nil>
}
