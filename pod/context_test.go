package pod

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type traceKey struct{}

// The values of the ctx given to Start reach an in-process container's
// function, its probes and its hooks, whose HTTP GETs go through the one
// dialer of httpGet; cancelling that ctx still stops the pod gracefully.
func TestStartContextValues(t *testing.T) {
	const addr = "127.0.0.1:7131"
	var (
		mu        sync.Mutex
		funcTrace any
		dialed    []any                 // the trace value of each GET's dial
		agents    = map[string]string{} // path to User-Agent
	)
	web := func(ctx context.Context) error {
		mu.Lock()
		funcTrace = ctx.Value(traceKey{})
		mu.Unlock()
		self, _ := FromContext(ctx)
		ln, err := self.Pod.Listen(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			agents[r.URL.Path] = r.UserAgent()
			mu.Unlock()
		})}
		stop := context.AfterFunc(ctx, func() { srv.Close() })
		defer stop()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return ctx.Err()
	}
	probeTrace := make(chan any, 1)
	p, err := New("ctx-values", Spec{
		Containers: []Container{{Name: "web", Func: web,
			StartupProbe: &Probe{Period: 20 * time.Millisecond, Func: func(ctx context.Context) error {
				select {
				case probeTrace <- ctx.Value(traceKey{}):
				default:
				}
				return nil
			}},
			ReadinessProbe: &Probe{Period: 20 * time.Millisecond, HTTPGet: &HTTPGetAction{Path: "/ready", Port: 7131}},
			Lifecycle:      &Lifecycle{PreStop: &LifecycleHandler{HTTPGet: &HTTPGetAction{Path: "/stop", Port: 7131}}},
		}},
	})
	require.NoError(t, err)
	p.httpDial = func(ctx context.Context, scheme, addr string) (httpConn, error) {
		mu.Lock()
		dialed = append(dialed, ctx.Value(traceKey{}))
		mu.Unlock()
		return p.dialHTTP(ctx, scheme, addr)
	}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), traceKey{}, "trace-1"))
	defer cancel()
	require.NoError(t, p.Start(ctx))
	assert.Equal(t, "trace-1", <-probeTrace, "in a probe")
	require.Eventually(t, func() bool {
		c, _ := p.Status().Container("web")
		return c.Ready
	}, 10*time.Second, 10*time.Millisecond)

	cancel()
	require.ErrorIs(t, p.Wait(), context.Canceled)
	c, _ := p.Status().Container("web")
	require.NotNil(t, c.State.Terminated)
	assert.Equal(t, ReasonCompleted, c.State.Terminated.Reason, "the function returned after its stop signal")

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "trace-1", funcTrace, "in the function")
	require.NotEmpty(t, dialed)
	for _, v := range dialed {
		assert.Equal(t, "trace-1", v, "in an HTTP probe's or hook's GET")
	}
	assert.Equal(t, httpProbeKind.userAgent, agents["/ready"], "the readiness probe went through httpGet")
	assert.Equal(t, httpHookKind.userAgent, agents["/stop"], "the preStop hook went through httpGet")
}
