package kube_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

// The pod's seccompProfile applies to each container that sets none; a
// container's own overrides it, as in Kubernetes; Export gives each
// container its own, and Load reads the same spec back.
func TestLoadSeccomp(t *testing.T) {
	m, err := kube.Load(manifest(`  securityContext:
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: inherits
    command: ["true"]
  - name: unconfined
    command: ["true"]
    securityContext:
      seccompProfile: {type: Unconfined}
`))
	require.NoError(t, err)
	runtimeDefault := &pod.SecurityContext{SeccompProfile: &pod.SeccompProfile{Type: pod.SeccompRuntimeDefault}}
	unconfined := &pod.SecurityContext{SeccompProfile: &pod.SeccompProfile{Type: pod.SeccompUnconfined}}
	assert.Equal(t, runtimeDefault, m.Spec.Containers[0].SecurityContext)
	assert.Equal(t, unconfined, m.Spec.Containers[1].SecurityContext)

	for i := range m.Spec.Containers {
		m.Spec.Containers[i].Image = "example.com/app:1"
	}
	kp, err := kube.Export("p", m.Spec, kube.ExportOptions{})
	require.NoError(t, err)
	assert.Equal(t, &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}, kp.Spec.Containers[0].SecurityContext.SeccompProfile)
	assert.Equal(t, &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}, kp.Spec.Containers[1].SecurityContext.SeccompProfile)
	assert.Equal(t, m.Spec, reload(t, kp).Spec)

	m, err = kube.Load(manifest(hello + "    securityContext:\n      seccompProfile: {type: RuntimeDefault}\n"))
	require.NoError(t, err)
	assert.Equal(t, runtimeDefault, m.Spec.Containers[0].SecurityContext)
}

func TestLoadSeccompErrors(t *testing.T) {
	for _, tt := range []struct {
		sc       string
		sentinel error
		want     string
	}{
		{"{type: Localhost, localhostProfile: audit.json}", kube.ErrUnsupported,
			"spec.containers[0].securityContext.seccompProfile: Localhost: podkit has no profile directory: use RuntimeDefault"},
		{"{type: RuntimeDefault, localhostProfile: audit.json}", kube.ErrInvalid,
			"spec.containers[0].securityContext.seccompProfile.localhostProfile: must be set only with type Localhost"},
		{"{type: Strict}", kube.ErrInvalid,
			`spec.containers[0].securityContext.seccompProfile.type: "Strict": must be RuntimeDefault, Unconfined or Localhost`},
	} {
		t.Run(tt.sc, func(t *testing.T) {
			_, err := kube.Load(manifest(hello + "    securityContext:\n      seccompProfile: " + tt.sc + "\n"))
			require.ErrorIs(t, err, tt.sentinel)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
