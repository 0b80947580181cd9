package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/examples/internal/exampletest"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestJobWithSidecar(t *testing.T) {
	testenv.RequireRoot(t)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	got := out.String()
	for i := 1; i <= 5; i++ {
		assert.Contains(t, got, "shipped | step "+string(rune('0'+i))+" done\n")
	}
	assert.Contains(t, got, "Killing  sidecar Stopping container log-shipper with SIGTERM: every main container has completed")
	assert.True(t, strings.HasSuffix(got, "pod job-with-sidecar finished: phase Succeeded\n"), got)
}

func TestManifest(t *testing.T) {
	exampletest.CheckManifest(t, ".")
	testenv.RequireRoot(t)
	m := exampletest.Load(t, ".")
	var shipped bytes.Buffer
	for i := range m.Spec.InitContainers {
		m.Spec.InitContainers[i].Stdout = &shipped
	}
	p, err := pod.New(m.Name, m.Spec, pod.WithImages(exampletest.Images(t)))
	require.NoError(t, err)
	require.NoError(t, p.Run(context.Background()))
	assert.Equal(t, "step 1 done\nstep 2 done\nstep 3 done\nstep 4 done\nstep 5 done\n", shipped.String())
}
