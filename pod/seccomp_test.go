package pod_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// confinement reports the seccomp mode, whether unshare of a user namespace
// (which needs no capability, and which the default profile denies with
// EPERM without CAP_SYS_ADMIN) works, and whether ordinary work does.
const confinement = `grep '^Seccomp:' /proc/self/status | tr -s '\t' ' '
unshare -U true 2>&1 && echo unshare-allowed
ls / >/dev/null && echo hi && sleep 0.01 && echo ordinary-ok`

func TestSeccompRuntimeDefault(t *testing.T) {
	no := false
	nobody := int64(65534)
	noSysAdmin := &pod.Capabilities{Drop: []string{"SYS_ADMIN"}}
	runtimeDefault := &pod.SeccompProfile{Type: pod.SeccompRuntimeDefault}
	tests := []struct {
		name string
		sc   *pod.SecurityContext
		want []string
	}{
		{"RuntimeDefault", &pod.SecurityContext{Capabilities: noSysAdmin, SeccompProfile: runtimeDefault},
			[]string{"Seccomp: 2", "unshare: unshare failed: Operation not permitted", "hi", "ordinary-ok"}},
		{"RuntimeDefault as nobody without escalation", &pod.SecurityContext{RunAsUser: &nobody, AllowPrivilegeEscalation: &no,
			Capabilities:   &pod.Capabilities{Drop: []string{"ALL"}},
			SeccompProfile: runtimeDefault}, []string{"Seccomp: 2", "unshare: unshare failed: Operation not permitted", "hi", "ordinary-ok"}},
		{"Unconfined", &pod.SecurityContext{Capabilities: noSysAdmin, SeccompProfile: &pod.SeccompProfile{Type: pod.SeccompUnconfined}},
			[]string{"Seccomp: 0", "unshare-allowed", "hi", "ordinary-ok"}},
		{"no profile", &pod.SecurityContext{Capabilities: noSysAdmin}, []string{"Seccomp: 0", "unshare-allowed", "hi", "ordinary-ok"}},
	}
	for _, shared := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/sharedPID=%v", tt.name, shared), func(t *testing.T) {
				p, rec, _ := startPod(t, "seccomp", pod.Spec{
					RestartPolicy:         pod.RestartNever,
					ShareProcessNamespace: shared,
					Containers: []pod.Container{
						{Name: "c", Command: []string{"sh", "-c", confinement}, SecurityContext: tt.sc},
						{Name: "idle", Command: []string{"sleep", "1000"}, SecurityContext: tt.sc},
					},
				})
				rec.until("c done", isReason(pod.EventExited, "c"))
				assert.Equal(t, tt.want, logText(t, p, "c", pod.LogOptions{}))

				// Exec runs under the container's profile too.
				if index(rec, pod.EventStarted, "idle") < 0 {
					rec.until("idle running", isReason(pod.EventStarted, "idle"))
				}
				var out strings.Builder
				cmd := exec.Command("sh", "-c", confinement)
				cmd.Stdout = &out
				require.NoError(t, p.Exec(context.Background(), "idle", cmd))
				assert.Equal(t, tt.want, strings.Split(strings.TrimSpace(out.String()), "\n"))
			})
		}
	}
}

func TestSeccompValidation(t *testing.T) {
	_, err := pod.New("p", pod.Spec{Containers: []pod.Container{{Name: "c", Command: []string{"true"},
		SecurityContext: &pod.SecurityContext{SeccompProfile: &pod.SeccompProfile{Type: "Localhost"}}}}})
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	assert.Contains(t, err.Error(), `container "c".securityContext.seccompProfile.type: invalid value "Localhost": must be RuntimeDefault or Unconfined`)

	_, err = pod.New("p", pod.Spec{Containers: []pod.Container{{Name: "f", Func: func(context.Context) error { return nil },
		SecurityContext: &pod.SecurityContext{SeccompProfile: &pod.SeccompProfile{Type: pod.SeccompRuntimeDefault}}}}})
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	assert.Contains(t, err.Error(), `container "f".securityContext: invalid value "set": must not be set on an in-process container (func)`)
}
