// The app of exercise 5, run as this program again (lab.Self), and the
// backends it needs, which run on the host.

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/podkit/podkit/exercises/internal/lab"
)

// app asks $BACKEND for a greeting every 200ms, on a new connection each
// time, and prints the answer, until SIGTERM.
func app() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	url := os.Getenv("BACKEND")
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		resp, err := client.Get(url)
		if err != nil {
			fmt.Printf("GET %s: error: %v\n", url, err)
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Printf("GET %s: %s\n", url, strings.TrimSpace(string(body)))
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// startBackends starts n HTTP servers on the host's loopback, which answer
// "hello from backend-<i>", and returns their addresses and a function that
// closes them. They serve until it is called, so they outlive the pod and
// answer the app's last requests while it stops.
func startBackends(out *lab.Out, n int) ([]string, func(), error) {
	var addrs []string
	var servers []*http.Server
	stop := func() {
		for _, srv := range servers {
			_ = srv.Close()
		}
	}
	for i := 1; i <= n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stop()
			return nil, nil, err
		}
		name := fmt.Sprintf("backend-%d", i)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s\n", name)
		})}
		servers = append(servers, srv)
		go func() { _ = srv.Serve(ln) }()
		out.Printf("%s | listening on %s (host)", name, ln.Addr())
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, stop, nil
}
