package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/podkit/podkit/internal/proxy"
)

// An ambassador for a pool of two upstreams: the application connects to
// the proxy's loopback listener, and each connection is carried to an
// upstream in turn.
func Example() {
	// Two upstreams that greet with their name.
	var upstreams []proxy.Upstream
	for _, name := range []string{"primary", "replica"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				io.WriteString(c, name)
				c.Close()
			}
		}()
		upstreams = append(upstreams, proxy.Upstream{Addr: ln.Addr().String()})
	}

	p, err := proxy.New(proxy.Config{Upstreams: upstreams})
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(ln) }()

	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			panic(err)
		}
		greeting, err := io.ReadAll(c)
		c.Close()
		fmt.Println(string(greeting), err)
	}

	fmt.Println(p.Shutdown(context.Background()), <-served)
	// Output:
	// primary <nil>
	// replica <nil>
	// primary <nil>
	// <nil> proxy: server closed
}
