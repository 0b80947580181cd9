// The app of exercise 6, run as this program again (lab.Self).

package main

import (
	"context"
	"fmt"
	"net"
	"os/signal"
	"syscall"
)

// appAddr is where the app serves its statistics, on the pod's loopback.
const appAddr = "127.0.0.1:7070"

// app serves its statistics in its own text format: every connection gets
// them as "key=value" lines, with a comment, a line without "=" and a
// value that is not a number, then the connection is closed. scrapes_total
// counts the connections.
func app() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", appAddr)
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	fmt.Println("serving statistics on", appAddr)
	for scrapes := 1; ; scrapes++ {
		c, err := ln.Accept()
		if err != nil {
			return 0 // closed on SIGTERM
		}
		fmt.Fprintf(c, `# statistics of the demo app
requests_total=1234
errors_total=5
queue_depth=7
temperature_celsius=21.5
status: serving
version=1.4.2
scrapes_total=%d
`, scrapes)
		c.Close()
	}
}
