package kube_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

func TestLoadTerminationMessage(t *testing.T) {
	m, err := kube.Load(manifest(`  containers:
  - name: a
    command: ["true"]
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  - name: b
    command: ["true"]
    terminationMessagePath: /run/message
    terminationMessagePolicy: FallbackToLogsOnError
`))
	require.NoError(t, err)
	require.Empty(t, m.Warnings)
	a, b := m.Spec.Containers[0], m.Spec.Containers[1]
	require.Empty(t, a.TerminationMessagePath, "Kubernetes' default path is podkit's default")
	require.Equal(t, pod.TerminationMessageReadFile, a.TerminationMessagePolicy)
	require.Equal(t, "/run/message", b.TerminationMessagePath)
	require.Equal(t, pod.TerminationMessageFallbackToLogsOnError, b.TerminationMessagePolicy)

	_, err = kube.Load(manifest(`  containers:
  - name: a
    command: ["true"]
    terminationMessagePolicy: Logs
`))
	require.ErrorIs(t, err, kube.ErrInvalid)
	require.ErrorContains(t, err, `spec.containers[0].terminationMessagePolicy: must be File or FallbackToLogsOnError, got "Logs"`)

	_, err = kube.Load(manifest(`  containers:
  - name: a
    command: ["true"]
    terminationMessagePath: relative/message
`))
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	require.ErrorContains(t, err, `terminationMessagePath: invalid value "relative/message": must be a clean absolute path`)
}
