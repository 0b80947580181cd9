package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/examples/internal/exampletest"
	"github.com/podkit/podkit/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestCrashLoopAndProbes(t *testing.T) {
	testenv.RequireRoot(t)
	// The container's script counts its steps in forks of sleep, so a slow
	// machine (an emulated guest) reaches the hang late: the deadline leaves
	// room for the liveness restart after it there too.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out))
	got := out.String()
	assert.Contains(t, got, "flaky | run 0: crashing")
	assert.Contains(t, got, "BackOff   Back-off restarting failed container")
	assert.Contains(t, got, "flaky | run 2: serving")
	assert.Contains(t, got, "pod ready: true")
	assert.Contains(t, got, "pod ready: false")
	assert.Contains(t, got, "flaky | run 2: hanging")
	assert.Contains(t, got, "failed Liveness probe, will be restarted")
	assert.Regexp(t, `flaky restarted [3-9] times`, got)
}

func TestManifest(t *testing.T) {
	exampletest.CheckManifest(t, ".")
}
