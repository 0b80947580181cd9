package initcontainer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"k8s.io/utils/clock"

	"github.com/podkit/podkit/internal/memberconf"
	"github.com/podkit/podkit/pod"
)

// WaitForTCP is an init step that waits until a TCP address accepts a
// connection: the pattern's classic "wait for the database" init container
// (`until nc -z db 5432; do sleep 1; done`), without a process.
//
// A WaitForTCP is configuration; Container and Run do not change it.
type WaitForTCP struct {
	// Address is the host:port to connect to. Required.
	Address string `json:"address" help:"host:port to connect to"`
	// FromHost dials from the supervising program's network namespace. By
	// default the dial is made inside the pod, whose network namespace
	// reaches only its own loopback (and what ambassadors there forward).
	FromHost bool `json:"fromHost,omitempty" help:"under podkit run: dial from the host, not from inside the pod"`
	// Interval is the time between attempts. Zero means one second.
	Interval time.Duration `json:"interval,omitempty" help:"time between attempts (default 1s)"`
	// Timeout, when positive, bounds the whole wait: past it the step
	// fails (and the pod retries it or fails, per its restart policy).
	Timeout time.Duration `json:"timeout,omitempty" help:"give up after this long (default: never)"`
	// Clock is for tests; nil means the real clock.
	Clock clock.WithTicker `json:"-"`
}

// Container returns an in-process init container named name that runs w. It
// checks w, and names the first bad field.
func (w WaitForTCP) Container(name string) (pod.Container, error) {
	if name == "" {
		return pod.Container{}, errors.New("initcontainer: wait for TCP: name: required")
	}
	if err := w.validate(); err != nil {
		return pod.Container{}, err
	}
	c := pod.Container{Name: name, Func: w.Run}
	var err error
	c.ExportArgs, err = exportArgs("wait-for-tcp", w)
	return c, err
}

func (w WaitForTCP) validate() error {
	if _, _, err := net.SplitHostPort(w.Address); err != nil {
		return fmt.Errorf("initcontainer: wait for TCP: address: %q: %w", w.Address, err)
	}
	if w.Interval < 0 {
		return fmt.Errorf("initcontainer: wait for TCP: interval: %s is negative", w.Interval)
	}
	if w.Timeout < 0 {
		return fmt.Errorf("initcontainer: wait for TCP: timeout: %s is negative", w.Timeout)
	}
	return nil
}

// Run tries to connect every interval until a connection succeeds (nil),
// the timeout passes or ctx is done (an error). It dials inside the pod
// when ctx is an in-process container's (see pod.FromContext); outside a
// pod (the process form, in a pod exported to Kubernetes) it dials from
// where it runs. Each failed attempt is reported on the container's
// standard output (this program's outside a pod). Run blocks, and leaves no
// connection open. It starts no goroutine: it dials on the caller's (inside
// a pod, through the pod's dialer thread, which the pod owns and stops).
func (w WaitForTCP) Run(ctx context.Context) error {
	if err := w.validate(); err != nil {
		return err
	}
	dial := (&net.Dialer{}).DialContext
	out := func(format string, args ...any) { fmt.Fprintf(os.Stdout, format, args...) }
	if self, ok := pod.FromContext(ctx); ok {
		if !w.FromHost {
			dial = self.Pod.DialContext
		}
		out = func(format string, args ...any) { fmt.Fprintf(self.Stdout, format, args...) }
	}
	clk := w.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	interval := w.Interval
	if interval == 0 {
		interval = time.Second
	}
	var deadline <-chan time.Time
	if w.Timeout > 0 {
		t := clk.NewTimer(w.Timeout)
		defer t.Stop()
		deadline = t.C()
	}
	for attempt := 1; ; attempt++ {
		attemptCtx, cancel := context.WithTimeout(ctx, interval)
		c, err := dial(attemptCtx, "tcp", w.Address)
		cancel()
		if err == nil {
			c.Close()
			out("%s accepts connections\n", w.Address)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("initcontainer: wait for TCP %s: %w", w.Address, context.Cause(ctx))
		}
		out("waiting for %s (attempt %d): %v\n", w.Address, attempt, err)
		t := clk.NewTimer(interval)
		select {
		case <-t.C():
		case <-deadline:
			t.Stop()
			return fmt.Errorf("initcontainer: wait for TCP %s: no connection within %s: %w", w.Address, w.Timeout, err)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("initcontainer: wait for TCP %s: %w", w.Address, context.Cause(ctx))
		}
	}
}

// exportArgs returns the podkit command line that runs the ready-made init
// step use, configured by cfg, as a process: "init USE FLAGS...".
func exportArgs(use string, cfg any) ([]string, error) {
	args, err := memberconf.Args(cfg)
	if err != nil {
		return nil, fmt.Errorf("initcontainer: %s: %w", use, err)
	}
	return append([]string{"init", use}, args...), nil
}
