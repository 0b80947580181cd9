// The two containers of exercise 2, run as this program again (lab.Self).

package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// addr is where the server listens: the loopback of its network namespace.
const addr = "127.0.0.1:8080"

// server is the server container: it greets every connection with its
// hostname, until SIGTERM.
func server() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	host, _ := os.Hostname()
	fmt.Println("listening on", addr)
	for {
		c, err := ln.Accept()
		if err != nil {
			return 0 // closed on SIGTERM
		}
		fmt.Fprintf(c, "hello from %s\n", host)
		c.Close()
	}
}

// client is the client container: every 300ms it connects to the server on
// 127.0.0.1 and prints what it got, until SIGTERM.
func client() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			fmt.Println("error:", err)
		} else {
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err != nil {
				fmt.Println("error:", err)
			} else {
				fmt.Println("got:", strings.TrimSpace(line))
			}
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(300 * time.Millisecond):
		}
	}
}
