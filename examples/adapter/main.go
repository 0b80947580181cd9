// Command adapter shows the adapter pattern: an application that exposes
// its own monitoring format (a JSON document of its counters, and a
// {"status": ...} health page) is presented to the outside world in the
// standard forms, without a change to it: the metrics adapter serves
// Prometheus /metrics on the host, and the health adapter serves /healthz.
//
//	sudo go run ./examples/adapter [-duration 30s]
//
// It prints the addresses and what to try (curl lines), and runs until
// Ctrl-C (or for -duration). The same pod is examples/adapter/pod.yaml.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/podkit/podkit/pod/console"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/adapter/metrics"
	"github.com/podkit/podkit/pod"
)

// Where the adapters serve on the host.
const (
	metricsAddr = "127.0.0.1:9102"
	healthAddr  = "127.0.0.1:8086"
)

func main() {
	duration := flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if err := run(ctx, metricsAddr, healthAddr, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "adapter:", err)
		os.Exit(1)
	}
}

// app is the application: an HTTP server on the pod's loopback, with its
// own JSON stats at /stats and its own health page at /status.
func app(ctx context.Context) error {
	self, _ := pod.FromContext(ctx)
	ln, err := self.Pod.Listen(ctx, "tcp", "127.0.0.1:8080")
	if err != nil {
		return err
	}
	var served atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"requests":  served.Add(1),
			"queues":    map[string]any{"email": map[string]int{"depth": 3}, "sms": map[string]int{"depth": 0}},
			"uptime_ms": 1234,
		})
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status": "UP"}`)
	})
	srv := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintln(self.Stdout, "serving its own /stats and /status on 127.0.0.1:8080 inside the pod")
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func run(ctx context.Context, metricsAddr, healthAddr string, w io.Writer) error {
	out := console.New(w) // the app's output and this program's share it
	m, err := metrics.Adapter{Listen: metricsAddr, Sources: []metrics.Source{{
		Name: "app",
		JSON: &metrics.JSONSource{Address: "127.0.0.1:8080", Path: "/stats", Mappings: []metrics.JSONMapping{
			{Path: "requests", Name: "app_requests", Type: metrics.Counter, Help: "Requests served."},
			{Path: "queues.*.depth", Name: "app_queue_depth", Labels: map[string]string{"queue": "$1"}, Help: "Messages waiting."},
			{Path: "uptime_ms", Name: "app_uptime", Unit: "milliseconds", Help: "Time since the app started."},
		}},
	}}}.Container("metrics")
	if err != nil {
		return err
	}
	h, err := health.Adapter{Listen: healthAddr, Checks: []health.Check{
		{Name: "app", HTTP: &health.HTTP{URL: "http://127.0.0.1:8080/status", JSONField: "status"}},
		{Name: "port", TCP: &health.TCP{Address: "127.0.0.1:8080"}},
	}}.Container("health")
	if err != nil {
		return err
	}
	p, err := pod.New("adapter", pod.Spec{
		Containers: []pod.Container{{Name: "app", Func: app, Stdout: out,
			ReadinessProbe: &pod.Probe{HTTPGet: &pod.HTTPGetAction{Path: "/status", Port: 8080}, Period: 100 * time.Millisecond}}},
		InitContainers: []pod.Container{
			m,
			h,
		},
	})
	if err != nil {
		return err
	}
	events := p.Subscribe(ctx)
	if err := p.Start(ctx); err != nil {
		return err
	}
	for ev := range events {
		if ev.Reason == pod.EventReady && ev.Container == "" && ev.Ready {
			fmt.Fprintf(out, "try: curl http://%s/metrics\n     curl http://%s/healthz?verbose\n", metricsAddr, healthAddr)
			break
		}
	}
	err = p.Wait()
	fmt.Fprintf(out, "pod adapter finished: phase %s\n", p.Status().Phase)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
