// Package podtest runs pods in tests, as net/http/httptest runs servers:
// a pod started by Start is stopped, and waited for, when its test ends.
package podtest

import (
	"context"
	"testing"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
)

// Start creates a pod named name from spec with opts, and starts it. It
// skips t when the process is not root (pods need root), or fails t under
// CI=true, and fails t if New or Start fails. When t ends, the context
// given to Start is cancelled and Start blocks until the pod has finished
// (Wait), so every process, cgroup and mount of the pod is gone before the
// next test. Start must be called from the test's goroutine.
func Start(t testing.TB, name string, spec pod.Spec, opts ...pod.Option) *pod.Pod {
	t.Helper()
	testenv.RequireRoot(t)
	p, err := pod.New(name, spec, opts...)
	if err != nil {
		t.Fatalf("podtest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Start(ctx); err != nil {
		cancel()
		t.Fatalf("podtest: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = p.Wait()
	})
	return p
}
