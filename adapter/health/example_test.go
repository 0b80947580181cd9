package health_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/pod"
)

// The endpoints, served by a program of its own: an application's Spring
// Boot status for liveness and readiness, and a cache it needs to be ready.
func ExampleAdapter_Handler() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"UP"}`)
	}))
	defer app.Close()
	h := health.Adapter{
		Listen: "127.0.0.1:8086",
		Checks: []health.Check{
			{Name: "api", HTTP: &health.HTTP{URL: app.URL + "/actuator/health", JSONField: "status"}},
			{Name: "cache", Readiness: true, TCP: &health.TCP{Address: "127.0.0.1:1"}},
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // stops the checks the handler started
	handler, err := h.Handler(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, path := range []string{"/livez", "/readyz", "/readyz/cache"} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Printf("GET %s: %d\n%s\n", path, rec.Code, rec.Body)
	}
	// Output:
	// GET /livez: 200
	// ok
	// GET /readyz: 500
	// [+]api ok
	// [-]cache failed: reason withheld
	// readyz check failed
	//
	// GET /readyz/cache: 500
	// internal server error: dial tcp 127.0.0.1:1: connect: connection refused
}

// The adapter as a sidecar: monitors read the endpoints on the host, and
// the application's readiness probe reads them inside the pod.
func ExampleAdapter_Container() {
	health, err := health.Adapter{
		Listen:    "127.0.0.1:8086", // on the host
		PodListen: "127.0.0.1:8086", // inside the pod
		Checks: []health.Check{
			// The application's own status: /livez and /readyz.
			{Name: "app", HTTP: &health.HTTP{URL: "http://127.0.0.1:8080/health", JSONField: "status"}},
			// What it needs to serve: /readyz only, so that a database
			// outage does not restart the application.
			{Name: "db", Readiness: true, TCP: &health.TCP{Address: "127.0.0.1:5432"}},
			{Name: "migrated", Readiness: true, Command: &health.Command{
				Container: "app", Command: []string{"test", "-f", "/var/run/app/migrated"}}},
		},
		CacheFor: time.Second,
	}.Container("health")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := pod.New("shop", pod.Spec{
		InitContainers: []pod.Container{health},
		Containers: []pod.Container{{
			Name:           "app",
			Command:        []string{"/usr/local/bin/shop"},
			ReadinessProbe: &pod.Probe{HTTPGet: &pod.HTTPGetAction{Port: 8086, Path: "/readyz"}},
			LivenessProbe:  &pod.Probe{HTTPGet: &pod.HTTPGetAction{Port: 8086, Path: "/livez"}},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = p.Run(context.Background())
}
