package pod_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

const showIdentity = `id -u; id -g; id -G; grep -E '^(NoNewPrivs|CapEff|CapBnd):' /proc/self/status | tr -s '\t' ' '`

func TestSecurityContext(t *testing.T) {
	no := false
	nobody, nogroup := int64(65534), int64(65534)
	root := int64(0)
	tests := []struct {
		name string
		sc   *pod.SecurityContext
		want []string
	}{
		{"unprivileged user without escalation", &pod.SecurityContext{
			RunAsUser: &nobody, RunAsGroup: &nogroup, SupplementalGroups: []int64{100},
			AllowPrivilegeEscalation: &no,
		}, []string{"65534", "65534", "65534 100", "NoNewPrivs: 1", "CapEff: 0000000000000000"}},
		{"root with one capability", &pod.SecurityContext{
			RunAsUser:    &root,
			Capabilities: &pod.Capabilities{Drop: []string{"ALL"}, Add: []string{"NET_BIND_SERVICE"}},
		}, []string{"0", "0", "0", "NoNewPrivs: 0", "CapEff: 0000000000000400", "CapBnd: 0000000000000400"}},
		{"root without two capabilities", &pod.SecurityContext{
			Capabilities: &pod.Capabilities{Drop: []string{"CAP_CHOWN", "kill"}},
		}, []string{"0", "0", "0", "NoNewPrivs: 0"}},
	}
	for _, shared := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/sharedPID=%v", tt.name, shared), func(t *testing.T) {
				p, rec, _ := startPod(t, "security", pod.Spec{
					RestartPolicy:         pod.RestartNever,
					ShareProcessNamespace: shared,
					Containers:            []pod.Container{{Name: "c", Command: []string{"sh", "-c", showIdentity}, SecurityContext: tt.sc}},
				})
				rec.until("done", isPhase(pod.PhaseSucceeded))
				got := logText(t, p, "c", pod.LogOptions{})
				require.Len(t, got, 6, "%q", got)
				for _, w := range tt.want {
					assert.Contains(t, got, w)
				}
				if tt.name == "root without two capabilities" {
					var eff string
					for _, line := range got {
						if v, ok := strings.CutPrefix(line, "CapEff: "); ok {
							eff = v
						}
					}
					var mask uint64
					_, err := fmt.Sscanf(eff, "%x", &mask)
					require.NoError(t, err)
					assert.Zero(t, mask&(1<<0|1<<5), "CAP_CHOWN (0) or CAP_KILL (5) kept: %s", eff)
					assert.NotZero(t, mask&(1<<21), "CAP_SYS_ADMIN lost: %s", eff)
				}
			})
		}
	}
}

func TestSecurityContextValidation(t *testing.T) {
	unknown, negative := int64(4_000_000_000), int64(-1)
	tests := []struct {
		sc   pod.SecurityContext
		want string
	}{
		{pod.SecurityContext{RunAsUser: &unknown}, `securityContext.runAsUser: invalid value "4000000000": no such user on this host`},
		{pod.SecurityContext{RunAsUser: &negative}, `securityContext.runAsUser: invalid value "-1": not a valid UID`},
		{pod.SecurityContext{RunAsGroup: &unknown}, `securityContext.runAsGroup: invalid value "4000000000": no such group on this host`},
		{pod.SecurityContext{SupplementalGroups: []int64{-5}}, `securityContext.supplementalGroups[0]: invalid value "-5"`},
		{pod.SecurityContext{Capabilities: &pod.Capabilities{Add: []string{"FLY"}}}, `securityContext.capabilities.add[0]: invalid value "FLY": unknown capability`},
		{pod.SecurityContext{Capabilities: &pod.Capabilities{Drop: []string{"CAP_NOPE"}}}, `securityContext.capabilities.drop[0]: invalid value "CAP_NOPE"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			sc := tt.sc
			_, err := pod.New("p", pod.Spec{
				Containers: []pod.Container{{Name: "c", Command: []string{"true"}, SecurityContext: &sc}},
			})
			require.ErrorIs(t, err, pod.ErrInvalidSpec)
			assert.Contains(t, err.Error(), `container "c".`+tt.want)
		})
	}
}

// TestExecSecurityContext is issue 14's capability-less container that
// got full root through exec: Exec, exec probes and exec hooks run with the
// container's user, groups, capabilities, no_new_privs and read-only root,
// in its mount namespace, as kubectl exec and the kubelet's probes do.
func TestExecSecurityContext(t *testing.T) {
	no := false
	user, root := int64(1000), int64(0)
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharedPID=%v", shared), func(t *testing.T) {
			isUser := []string{"sh", "-c", `test "$(id -u)" = 1000`}
			p, rec, _ := startPod(t, "exec-security", pod.Spec{
				ShareProcessNamespace: shared,
				Containers: []pod.Container{
					{Name: "app", Command: []string{"sleep", "1000"},
						SecurityContext: &pod.SecurityContext{RunAsUser: &user, AllowPrivilegeEscalation: &no,
							Capabilities: &pod.Capabilities{Drop: []string{"ALL"}}},
						Lifecycle:      &pod.Lifecycle{PostStart: &pod.LifecycleHandler{Exec: &pod.ExecAction{Command: isUser}}},
						ReadinessProbe: &pod.Probe{Exec: &pod.ExecAction{Command: isUser}, Period: 50 * time.Millisecond}},
					{Name: "locked", Command: []string{"sleep", "1000"},
						SecurityContext: &pod.SecurityContext{RunAsUser: &root, ReadOnlyRootFilesystem: true,
							AllowPrivilegeEscalation: &no, Capabilities: &pod.Capabilities{Drop: []string{"ALL"}}}},
				},
			})
			rec.until("app ready", isReason(pod.EventReady, "app"))
			assert.Negative(t, index(rec, pod.EventFailedPostStartHook, "app"), "the postStart hook did not run as the container's user")

			var out strings.Builder
			cmd := exec.Command("sh", "-c", showIdentity)
			cmd.Stdout = &out
			require.NoError(t, p.Exec(context.Background(), "app", cmd))
			got := strings.Split(strings.TrimSpace(out.String()), "\n")
			assert.Equal(t, "1000", got[0], "%q", got)
			assert.Contains(t, got, "NoNewPrivs: 1")
			assert.Contains(t, got, "CapEff: 0000000000000000")
			assert.Contains(t, got, "CapBnd: 0000000000000000")

			if index(rec, pod.EventStarted, "locked") < 0 {
				rec.until("locked running", isReason(pod.EventStarted, "locked"))
			}
			planted := fmt.Sprintf("/podkit-exec-planted-%d", time.Now().UnixNano())
			defer os.Remove(planted)
			out.Reset()
			cmd = exec.Command("sh", "-c", "touch "+planted+" 2>/dev/null || echo read-only; grep -E '^(CapEff|NoNewPrivs):' /proc/self/status | tr -s '\t' ' '")
			cmd.Stdout = &out
			require.NoError(t, p.Exec(context.Background(), "locked", cmd))
			assert.Equal(t, "read-only\nCapEff: 0000000000000000\nNoNewPrivs: 1\n", out.String())
			_, err := os.Stat(planted)
			assert.True(t, os.IsNotExist(err), "exec wrote on the host's root")
		})
	}
}
