package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/testenv"
)

func TestMain(m *testing.M) {
	runContainer() // when the test binary is re-executed as a container
	goleak.VerifyTestMain(m)
}

func TestDemo(t *testing.T) {
	testenv.RequireRoot(t)
	// The pod runs until its client has made its three requests and
	// exited, as a user would watch it and press Ctrl-C.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := &stopOn{text: "Container client exited with code 0", stop: cancel}
	require.NoError(t, runPod(ctx, out))
	got := out.String()
	assert.Contains(t, got, `client | got "hello from hellopod"`)
	assert.Equal(t, 3, strings.Count(got, `got "hello from hellopod"`), got)
	assert.Contains(t, got, "Exited   main    Container client exited with code 0")
	assert.Contains(t, got, "server | SIGTERM: shutting down")
	assert.Contains(t, got, "pod hellopod finished: phase Succeeded")
}

// stopOn is a writer that keeps what it is given and calls stop once text
// has been written. It is safe for concurrent use.
type stopOn struct {
	text string
	stop func()
	mu   sync.Mutex
	buf  strings.Builder
}

func (w *stopOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.text) {
		w.stop()
	}
	return len(p), nil
}

func (w *stopOn) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
