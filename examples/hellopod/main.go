// Command hellopod runs a demo pod of two containers: a web server listening
// on the pod's own loopback, and a client that fetches from it a few times.
// Both see the pod's hostname; the host cannot reach the server. The pod's
// events and the containers' output are printed as they happen.
//
// Run it as root:
//
//	sudo go run ./examples/hellopod [-duration 10s]
//
// It runs until Ctrl-C, or for -duration, then stops the pod gracefully.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/podkit/podkit/pod/console"

	"github.com/podkit/podkit/pod"
)

// roleEnv tells a re-executed copy of this program which container it is.
const roleEnv = "HELLOPOD_ROLE"

func main() {
	runContainer()
	duration := flag.Duration("duration", 0, "stop the pod after this long (0: run until interrupted)")
	flag.Parse()
	if err := run(*duration, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hellopod:", err)
		os.Exit(1)
	}
}

// run runs the pod until Ctrl-C, SIGTERM or the end of duration (0: no
// end), then stops it gracefully.
func run(duration time.Duration, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	return runPod(ctx, out)
}

// runPod runs the pod until ctx is done, then stops it gracefully; the end
// of ctx is a request to stop, not an error.
func runPod(ctx context.Context, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	con := console.New(out, "server", "client", "event") // one writer for events and output
	prefixed := con.Writer
	p, err := pod.New("hellopod", pod.Spec{
		RestartPolicy:          pod.RestartOnFailure,
		TerminationGracePeriod: new(5 * time.Second),
		Containers: []pod.Container{
			{Name: "server", Command: []string{self}, Env: []string{roleEnv + "=server"},
				Stdout: prefixed("server"), Stderr: prefixed("server")},
			{Name: "client", Command: []string{self}, Env: []string{roleEnv + "=client"},
				Stdout: prefixed("client"), Stderr: prefixed("client")},
		},
	})
	if err != nil {
		return err
	}
	events := p.Subscribe(context.Background())
	eventsOut := con.Writer("event")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			fmt.Fprintf(eventsOut, "%s %-8s %-7s %s\n", ev.Time.Format("15:04:05.000"), ev.Reason, ev.Role, ev.Message)
		}
	}()
	con.Printf("starting pod hellopod; press Ctrl-C to stop it")
	err = p.Run(ctx)
	<-done
	con.Printf("pod hellopod finished: phase %s", p.Status().Phase)
	if ctx.Err() != nil {
		return nil // stopped on request
	}
	return err
}

// runContainer runs the container this copy of the program is, if it is one,
// and exits.
func runContainer() {
	switch os.Getenv(roleEnv) {
	case "server":
		serve()
		os.Exit(0)
	case "client":
		os.Exit(fetch())
	}
}

// serve is the server container: it answers on the pod's loopback, and
// shuts down cleanly on SIGTERM, so the pod ends Succeeded.
func serve() {
	host, _ := os.Hostname()
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", host)
	})}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		fmt.Println("SIGTERM: shutting down")
		_ = srv.Shutdown(context.Background())
	}()
	fmt.Println("listening on 127.0.0.1:8080 inside the pod")
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		fmt.Println(err)
		os.Exit(1)
	}
}

// fetch is the client container: three requests over the pod's loopback.
// It exits non-zero while the server is not up yet, and the restart policy
// OnFailure brings it back.
func fetch() int {
	for i := 0; i < 3; i++ {
		time.Sleep(300 * time.Millisecond)
		resp, err := http.Get("http://127.0.0.1:8080/")
		if err != nil {
			fmt.Println(err)
			return 1
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("got %q\n", strings.TrimSpace(string(body)))
	}
	return 0
}
