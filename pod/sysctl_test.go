package pod_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// hostSysctl reads a parameter of this program's namespaces: the host's.
func hostSysctl(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/sys/" + path)
	require.NoError(t, err)
	return strings.TrimSpace(string(data))
}

// other returns a value of a parameter that is not host.
func other(host, a, b string) string {
	if host == a {
		return b
	}
	return a
}

// The pod's sysctls are set in its network and IPC namespaces, where its
// containers read them, and the host's stay as they are.
func TestSysctls(t *testing.T) {
	requireRoot(t)
	const portPath, shmPath = "net/ipv4/ip_unprivileged_port_start", "kernel/shm_rmid_forced"
	hostPort, hostShm := hostSysctl(t, portPath), hostSysctl(t, shmPath)
	port, shm := other(hostPort, "0", "1000"), other(hostShm, "1", "0")
	for _, mode := range []pod.NetworkMode{pod.NetworkIsolated, pod.NetworkBridged} {
		t.Run(string(mode), func(t *testing.T) {
			p, rec, _ := startPod(t, "sysctls", pod.Spec{
				RestartPolicy: pod.RestartNever,
				Network:       pod.Network{Mode: mode},
				Sysctls: []pod.Sysctl{
					{Name: "net.ipv4.ip_unprivileged_port_start", Value: port},
					{Name: "kernel.shm_rmid_forced", Value: shm},
				},
				Containers: []pod.Container{{Name: "reader", Command: []string{"cat", "/proc/sys/" + portPath, "/proc/sys/" + shmPath}}},
			})
			ev := rec.until("reader exit", isReason(pod.EventExited, "reader"))
			require.Equal(t, 0, ev.ExitCode, "logs: %q", logText(t, p, "reader", pod.LogOptions{}))
			assert.Equal(t, []string{port, shm}, logText(t, p, "reader", pod.LogOptions{}))
			assert.Equal(t, hostPort, hostSysctl(t, portPath), "the host's parameter changed")
			assert.Equal(t, hostShm, hostSysctl(t, shmPath), "the host's parameter changed")
		})
	}
}

// A name may separate its parts with slashes, as sysctl(8) takes it; and
// the interfaces of a bridged pod's network exist when sysctls are set.
func TestSysctlSlashName(t *testing.T) {
	const path = "net/ipv4/conf/eth0/rp_filter"
	p, rec, _ := startPod(t, "sysctl-slash", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Network:       pod.Network{Mode: pod.NetworkBridged},
		Sysctls:       []pod.Sysctl{{Name: path, Value: "2"}},
		Containers:    []pod.Container{{Name: "reader", Command: []string{"cat", "/proc/sys/" + path}}},
	})
	ev := rec.until("reader exit", isReason(pod.EventExited, "reader"))
	require.Equal(t, 0, ev.ExitCode, "logs: %q", logText(t, p, "reader", pod.LogOptions{}))
	assert.Equal(t, []string{"2"}, logText(t, p, "reader", pod.LogOptions{}))
}

// New refuses a sysctl that is not the pod's own, or malformed, naming it.
func TestSysctlsRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		network pod.NetworkMode
		sysctls []pod.Sysctl
		want    []string
	}{
		{"host kernel", "", []pod.Sysctl{{Name: "kernel.panic", Value: "1"}},
			[]string{`sysctls[0].name: invalid value "kernel.panic": not namespaced: it would change the host's kernel`}},
		{"vm", "", []pod.Sysctl{{Name: "vm.overcommit_memory", Value: "1"}},
			[]string{`"vm.overcommit_memory": not namespaced`}},
		{"host network", pod.NetworkHost, []pod.Sysctl{{Name: "net.ipv4.ip_forward", Value: "1"}},
			[]string{`sysctls[0].name: invalid value "net.ipv4.ip_forward": the pod is on the host's network`}},
		{"user namespace", "", []pod.Sysctl{{Name: "user.max_user_namespaces", Value: "1"}},
			[]string{`"user.max_user_namespaces": belongs to the user namespace`}},
		{"malformed", "", []pod.Sysctl{{Name: "Net.IPv4.x", Value: "1"}, {Name: "net..x", Value: "1"}, {Name: "net/../kernel/panic", Value: "1"}},
			[]string{`sysctls[0].name: invalid value "Net.IPv4.x": not a sysctl name`,
				`sysctls[1].name: invalid value "net..x": not a sysctl name`,
				`sysctls[2].name: invalid value "net/../kernel/panic": not a sysctl name`}},
		{"twice", "", []pod.Sysctl{{Name: "net.ipv4.tcp_syncookies", Value: "1"}, {Name: "net/ipv4/tcp_syncookies", Value: "0"}},
			[]string{`sysctls[1].name: invalid value "net/ipv4/tcp_syncookies": set twice`}},
		{"values", "", []pod.Sysctl{{Name: "kernel.sem", Value: "1\n2"}, {Name: "kernel.msgmax"}},
			[]string{`sysctls[0].value: invalid value "1\n2": must be one line`, `sysctls[1].value: invalid value "": required`}},
		{"no name", "", []pod.Sysctl{{Value: "1"}}, []string{`sysctls[0].name: invalid value "": required`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pod.New("refused", pod.Spec{
				Network:    pod.Network{Mode: tc.network},
				Sysctls:    tc.sysctls,
				Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
			})
			require.ErrorIs(t, err, pod.ErrInvalidSpec)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// A sysctl that does not exist in the pod's namespace fails Start, naming
// it, before any container runs.
func TestSysctlMisspelt(t *testing.T) {
	requireRoot(t)
	p, err := pod.New("misspelt", pod.Spec{
		Sysctls:    []pod.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_strat", Value: "0"}},
		Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
	})
	require.NoError(t, err)
	rec := record(t, p)
	err = p.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sysctl net.ipv4.ip_unprivileged_port_strat=0: /proc/sys/net/ipv4/ip_unprivileged_port_strat does not exist in the pod's network namespace")
	require.Equal(t, err, p.Wait())
	st := p.Status()
	assert.Equal(t, pod.PhaseFailed, st.Phase)
	assert.Equal(t, "SandboxCreationFailed", st.Reason)
	rec.rest()
	assert.Empty(t, rec.reasons(func(ev pod.Event) bool { return ev.Container == "c" && ev.Reason == pod.EventStarted }),
		"a container started")
}
