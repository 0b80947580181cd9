package promreg_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/podkit/podkit/internal/promreg"
)

// A component registers its metrics when it starts, and unregisters them
// when it stops.
func Example() {
	reg := prometheus.NewRegistry()
	g := promreg.New(reg)
	requests, err := promreg.Register(g, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "requests_total", Help: "Requests served."}))
	if err != nil {
		fmt.Println(err)
		return
	}
	requests.Inc()
	n, _ := testutil.GatherAndCount(reg)
	fmt.Println("while running:", n)
	g.Unregister()
	n, _ = testutil.GatherAndCount(reg)
	fmt.Println("stopped:", n)
	// Output:
	// while running: 1
	// stopped: 0
}
