package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/podkit/podkit/adapter/metrics"
	"github.com/podkit/podkit/pod"
)

// An application's JSON stats presented as Prometheus metrics, the
// adapter's handler mounted in a server of the caller's. The adapter stops
// when the context given to Handler is done.
func ExampleAdapter_Handler() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"requests": 1234, "latency_ms": 12.5, "queues": {"mail": {"depth": 3}}}`)
	}))
	defer app.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	h, err := metrics.Adapter{Sources: []metrics.Source{{
		Name: "app",
		JSON: &metrics.JSONSource{Address: app.Listener.Addr().String(), Path: "/stats", Mappings: []metrics.JSONMapping{
			{Path: "requests", Name: "app_requests", Type: metrics.Counter, Help: "Requests served."},
			{Path: "latency_ms", Name: "app_latency", Unit: "ms", Help: "Latency of the last request."},
			{Path: "queues.*.depth", Name: "app_queue_depth", Labels: map[string]string{"queue": "$1"}, Help: "Queue depth."},
		}},
	}}}.Handler(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		if line := sc.Text(); strings.HasPrefix(line, "app_") || strings.HasPrefix(line, "podkit_adapter_source_up") {
			fmt.Println(line)
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	// Output:
	// app_latency_seconds 0.0125
	// app_queue_depth{queue="mail"} 3
	// app_requests_total 1234
	// podkit_adapter_source_up{source="app"} 1
}

// A metrics adapter as a sidecar of a pod: it reads the application's
// JSON and StatsD inside the pod's network namespace, runs a command in
// one of its containers, and serves /metrics on the host's 127.0.0.1:9102.
func ExampleAdapter_Container() {
	metrics, err := metrics.Adapter{
		Listen: "127.0.0.1:9102",
		Sources: []metrics.Source{
			{Name: "app", JSON: &metrics.JSONSource{Address: "127.0.0.1:8080", Path: "/stats",
				Mappings: []metrics.JSONMapping{{Path: "requests", Name: "app_requests", Type: metrics.Counter}}}},
			{Name: "statsd", StatsD: &metrics.StatsDSource{Listen: "127.0.0.1:8125", Mappings: []metrics.StatsDMapping{
				{Match: "api.*.latency", Name: "api_request_duration", Labels: map[string]string{"endpoint": "$1"}}}}},
			{Name: "queue", Command: &metrics.CommandSource{Container: "app",
				Command: []string{"sh", "-c", "echo queue_length $(ls /var/spool/app | wc -l)"}}},
		},
	}.Container("metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := pod.New("web", pod.Spec{
		// An init container with RestartPolicy Always: a sidecar, started
		// (listening for StatsD) before the application.
		InitContainers: []pod.Container{metrics},
		Containers:     []pod.Container{{Name: "app", Command: []string{"/usr/local/bin/app"}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = p // p.Run(ctx) runs the pod.
}
