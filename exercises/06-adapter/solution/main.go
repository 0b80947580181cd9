// Command solution is the reference solution of exercise 6: an adapter,
// written here as an in-process sidecar. The app serves its statistics in
// a format of its own on the pod's loopback; the adapter reads them from
// inside the pod at every scrape and serves them on the host as Prometheus
// metrics.
//
//	sudo go run ./exercises/06-adapter/solution [-duration 10s] [-metrics-addr 127.0.0.1:9100]
//	curl http://127.0.0.1:9100/metrics
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/podkit/podkit/exercises/internal/lab"
	"github.com/podkit/podkit/pod"
)

var metricsAddr = flag.String("metrics-addr", "127.0.0.1:9100", "the host address where the adapter serves /metrics")

func main() {
	lab.Roles(map[string]func() int{"app": app})
	lab.Main(10*time.Second, run)
}

func run(ctx context.Context, out *lab.Out) error {
	p, err := pod.New("ex6", pod.Spec{
		TerminationGracePeriod: new(2 * time.Second),
		InitContainers: []pod.Container{{Name: "adapter", Func: adapter(*metricsAddr),
			RestartPolicy: pod.RestartAlways,
			Stdout:        out.Prefix("adapter"), Stderr: out.Prefix("adapter")}},
		Containers: []pod.Container{{Name: "app", Command: lab.Self("app"),
			Stdout: out.Prefix("app"), Stderr: out.Prefix("app")}},
	})
	if err != nil {
		return err
	}
	events := out.Events(p)
	err = p.Run(ctx)
	<-events
	return err
}

// adapter returns the function of the adapter sidecar: it serves the app's
// statistics as Prometheus metrics at http://addr/metrics, on the host,
// until ctx is done.
func adapter(addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		in, _ := pod.FromContext(ctx)
		// This function runs in this program, in the host's network
		// namespace: net.Listen listens on the host (in.Pod.Listen would
		// listen inside the pod).
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		fmt.Fprintf(in.Stdout, "serving the app's metrics on http://%s/metrics\n", ln.Addr())
		mux := http.NewServeMux()
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			io.WriteString(w, scrape(r.Context(), in.Pod))
		})
		srv := &http.Server{Handler: mux}
		go func() {
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = srv.Shutdown(shutdown)
		}()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// scrape reads the app's statistics from inside the pod and returns them in
// the Prometheus text format, with app_up 1; app_up 0 alone if the app does
// not answer.
func scrape(ctx context.Context, p *pod.Pod) string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	down := "# TYPE app_up gauge\napp_up 0\n"
	c, err := p.DialContext(ctx, "tcp", "127.0.0.1:7070")
	if err != nil {
		return down
	}
	defer c.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(deadline)
	}
	stats, err := io.ReadAll(c)
	if err != nil {
		return down
	}
	return convert(string(stats)) + "# TYPE app_up gauge\napp_up 1\n"
}

// convert turns the app's "key=value" lines into Prometheus metrics named
// app_<key>: counters for keys ending in _total, gauges otherwise. Blank
// lines, comments (#), lines without "=" and values that are not numbers
// are skipped.
func convert(stats string) string {
	var b strings.Builder
	for _, line := range strings.Split(stats, "\n") {
		line = strings.TrimSpace(line)
		key, value, ok := strings.Cut(line, "=")
		if line == "" || strings.HasPrefix(line, "#") || !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			continue
		}
		kind := "gauge"
		if strings.HasSuffix(key, "_total") {
			kind = "counter"
		}
		fmt.Fprintf(&b, "# TYPE app_%s %s\napp_%s %s\n", key, kind, key, value)
	}
	return b.String()
}
