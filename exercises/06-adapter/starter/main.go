// Command starter is exercise 6: write an adapter. Read README.md (or
// README.zh-CN.md) next to this directory, do the TODOs in order, then
// check your work as root:
//
//	go run ./exercises/check 6
//
// Run it on its own with: go run ./exercises/06-adapter/starter, and look
// at your metrics with: curl http://127.0.0.1:9100/metrics
// The app is in app.go; you do not need to change it.
package main

import (
	"context"
	"flag"
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
		// TODO(1): declare the adapter as an in-process sidecar: a
		// container whose Func is a Go function run by this program, with
		// the lifecycle of a sidecar process.
		//
		//	InitContainers: []pod.Container{{Name: "adapter", Func: adapter(*metricsAddr),
		//		RestartPolicy: pod.RestartAlways,
		//		Stdout:        out.Prefix("adapter"), Stderr: out.Prefix("adapter")}},
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
		// in.Pod is the pod this function runs in; in.Stdout its output,
		// which the pod's logs (and out.Prefix("adapter")) show.
		in, _ := pod.FromContext(ctx)
		_ = in

		// TODO(2): listen on addr ON THE HOST with net.Listen("tcp", addr).
		// This function runs in this program, in the host's network
		// namespace, so a plain net.Listen is on the host (in.Pod.Listen
		// would listen inside the pod, where nobody outside reaches it).
		//
		// TODO(3): serve it with an http.Server whose handler answers
		// GET /metrics with scrape(r.Context(), in.Pod), with the header
		// Content-Type: text/plain; version=0.0.4
		//
		// TODO(6): when ctx is done (the pod stops the adapter), shut the
		// server down (srv.Shutdown) and return nil. A function cannot be
		// killed: if it does not return, its pod never finishes.
		<-ctx.Done()
		return nil
	}
}

// scrape reads the app's statistics from inside the pod and returns them in
// the Prometheus text format, with app_up 1; app_up 0 alone if the app does
// not answer.
func scrape(ctx context.Context, p *pod.Pod) string {
	// TODO(4): connect to the app INSIDE the pod, where its 127.0.0.1 is:
	// p.DialContext(ctx, "tcp", "127.0.0.1:7070"), and read everything it
	// sends (io.ReadAll): it closes the connection after its statistics.
	// Bound the whole scrape to a second (context.WithTimeout).
	//
	// If that fails, return just:
	//
	//	# TYPE app_up gauge
	//	app_up 0
	//
	// Otherwise return convert(what it sent), followed by the same two
	// lines with app_up 1.
	return ""
}

// convert turns the app's "key=value" lines into Prometheus metrics.
func convert(stats string) string {
	// TODO(5): for each line "key=value" of stats, write
	//
	//	# TYPE app_<key> <type>
	//	app_<key> <value>
	//
	// where <type> is counter when the key ends in "_total", gauge
	// otherwise. Skip blank lines, comments (starting with "#"), lines
	// without "=", and values that are not numbers (strconv.ParseFloat
	// fails): the exposition format has numbers only.
	return ""
}
