// The two containers of exercise 4, run as this program again (lab.Self).
// Nothing to change here.

package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/signal"
	"syscall"
	"time"
)

// shipperAddr is where the log shipper receives the app's log lines, on
// the pod's loopback.
const shipperAddr = "127.0.0.1:5170"

// shipper is the log shipper: after 300ms of loading its configuration, it
// listens, and "ships" (prints) every line it receives. On SIGTERM it stops
// at once: whatever is sent to it afterwards is lost.
func shipper() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fmt.Println("loading configuration")
	select {
	case <-time.After(300 * time.Millisecond):
	case <-ctx.Done():
		return 0
	}
	ln, err := net.Listen("tcp", shipperAddr)
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	fmt.Println("listening on", shipperAddr)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Println("shipped:", sc.Text())
				}
			}()
		}
	}()
	<-ctx.Done()
	fmt.Println("SIGTERM: stopping")
	return 0
}

// app sends its log lines to the shipper, from its first instruction on:
// it exits 1 if the shipper is not there. On SIGTERM it flushes for 200ms,
// then sends a last line, "goodbye", and exits 0.
func app() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	c, err := net.Dial("tcp", shipperAddr)
	if err != nil {
		fmt.Println("cannot reach the log shipper:", err)
		return 1
	}
	defer c.Close()
	for n := 1; ; n++ {
		if _, err := fmt.Fprintf(c, "line %d\n", n); err != nil {
			fmt.Println("lost a log line:", err)
		}
		select {
		case <-ctx.Done():
			fmt.Println("SIGTERM: flushing, then saying goodbye")
			time.Sleep(200 * time.Millisecond)
			if _, err := fmt.Fprintln(c, "goodbye"); err != nil {
				fmt.Println("lost goodbye:", err)
			}
			return 0
		case <-time.After(200 * time.Millisecond):
		}
	}
}
