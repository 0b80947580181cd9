// The stand-in for a database of exercise 3. Nothing to change here.

package main

import (
	"context"
	"net"
	"time"

	"github.com/podkit/podkit/exercises/internal/lab"
)

// startDatabase returns the host address where a stand-in database will
// accept connections once after has passed, as a database that is slow to
// start; it stops when ctx is done. It prints "database | up on ADDR" just
// before it starts listening.
func startDatabase(ctx context.Context, out *lab.Out, after time.Duration) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // to find a free port
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(after):
		}
		out.Printf("database | up on %s", addr)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			out.Printf("database | %v", err)
			return
		}
		go func() {
			<-ctx.Done()
			ln.Close()
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return addr, nil
}
