package kube_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

func sysctlManifest(hostNetwork string, sysctls string) []byte {
	return []byte(`
apiVersion: v1
kind: Pod
metadata:
  name: tuned
spec:
  hostNetwork: ` + hostNetwork + `
  securityContext:
    sysctls:
` + sysctls + `
  containers:
  - name: app
    image: busybox:1.36
`)
}

// The pod's sysctls map onto Spec.Sysctls; those a kubelet refuses by
// default are set with a warning.
func TestLoadSysctls(t *testing.T) {
	m, err := kube.Load(sysctlManifest("false", `
    - name: net.ipv4.ip_unprivileged_port_start
      value: "0"
    - name: kernel.shm_rmid_forced
      value: "1"
    - name: net.core.somaxconn
      value: "1024"`))
	require.NoError(t, err)
	assert.Equal(t, []pod.Sysctl{
		{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"},
		{Name: "kernel.shm_rmid_forced", Value: "1"},
		{Name: "net.core.somaxconn", Value: "1024"},
	}, m.Spec.Sysctls)
	assert.Equal(t, []string{"spec.securityContext.sysctls[2]: net.core.somaxconn: set, but a kubelet refuses it unless its --allowed-unsafe-sysctls allows it (it is not one of the safe sysctls)"},
		m.Warnings)

	kp, err := kube.Export(m.Name, m.Spec, kube.ExportOptions{})
	require.NoError(t, err)
	assert.Equal(t, m.Pod.Spec.SecurityContext.Sysctls, kp.Spec.SecurityContext.Sysctls)
}

// A sysctl that is not the pod's own is refused, naming it.
func TestLoadSysctlsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, hostNetwork, sysctls, want string
	}{
		{"host kernel", "false", "    - name: kernel.panic\n      value: \"1\"", `"kernel.panic": not namespaced`},
		{"host network", "true", "    - name: net.ipv4.tcp_syncookies\n      value: \"1\"", `"net.ipv4.tcp_syncookies": the pod is on the host's network`},
		{"newline", "false", "    - name: kernel.sem\n      value: \"1\\n2\"", `value: invalid value "1\n2": must be one line`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kube.Load(sysctlManifest(tc.hostNetwork, tc.sysctls))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
