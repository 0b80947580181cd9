package httpserve_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/podkit/podkit/internal/httpserve"
)

// A server whose keep-alive connections close after 30 s idle, with at
// most 100 connections open at once and the other bounds at their
// defaults.
func Example() {
	lim := httpserve.Limits{IdleTimeout: 30 * time.Second, MaxConns: 100}
	if err := lim.Check(); err != nil {
		fmt.Println(err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httpserve.Server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}), lim)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(httpserve.Listen(ln, lim)) }()
	defer func() {
		srv.Close()
		<-served
	}()

	fmt.Println(srv.ReadHeaderTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	fmt.Println(string(body))
	// Output:
	// 10s 30s 65536
	// hello
}
