package podtest

import (
	"bytes"
	"context"
	"sync"
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

// Buffer collects the output of containers for a test: a bytes.Buffer
// that the pod's copying goroutines may write while the test reads it.
// The zero value is an empty buffer ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
