package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

func TestWriteTerminationMessages(t *testing.T) {
	var b strings.Builder
	require.NoError(t, writeTerminationMessages(&b, []pod.ContainerStatus{
		{Name: "running", State: pod.ContainerState{Running: &pod.StateRunning{}}},
		{Name: "done", State: pod.ContainerState{Terminated: &pod.StateTerminated{Message: "all done\nbye\n"}}},
		{Name: "again", State: pod.ContainerState{Running: &pod.StateRunning{}},
			LastTerminationState: pod.ContainerState{Terminated: &pod.StateTerminated{Message: "crashed"}}},
		{Name: "quiet", State: pod.ContainerState{Terminated: &pod.StateTerminated{}}},
	}))
	require.Equal(t, "Termination messages:\n  done:\n    all done\n    bye\n  again (last):\n    crashed\n", b.String())

	b.Reset()
	require.NoError(t, writeTerminationMessages(&b, []pod.ContainerStatus{{Name: "quiet"}}))
	require.Empty(t, b.String())
}
