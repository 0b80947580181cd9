package main

import (
	"strings"
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
	var out strings.Builder
	require.NoError(t, run(3*time.Second, &out))
	got := out.String()
	assert.Contains(t, got, `client | got "hello from hellopod"`)
	assert.Equal(t, 3, strings.Count(got, `got "hello from hellopod"`), got)
	assert.Contains(t, got, "Exited   main    Container client exited with code 0")
	assert.Contains(t, got, "server | SIGTERM: shutting down")
	assert.Contains(t, got, "pod hellopod finished: phase Succeeded")
}
