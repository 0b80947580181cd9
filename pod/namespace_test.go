package pod_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

func TestSharedLoopback(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharedPID=%v", shared), func(t *testing.T) {
			server, senv := helperCommand(t, "listen", "127.0.0.1:7070")
			client, cenv := helperCommand(t, "dial", "127.0.0.1:7070")
			p, rec, _ := startPod(t, "loopback", pod.Spec{
				RestartPolicy:         pod.RestartNever,
				ShareProcessNamespace: shared,
				Hostname:              "inside",
				Containers: []pod.Container{
					{Name: "server", Command: server, Env: senv},
					{Name: "client", Command: client, Env: cenv},
				},
			})
			ev := rec.until("client exit", isReason(pod.EventExited, "client"))
			require.Equal(t, 0, ev.ExitCode, "client logs: %q", logText(t, p, "client", pod.LogOptions{}))
			require.Equal(t, []string{"hello from inside"}, logText(t, p, "client", pod.LogOptions{}))
		})
	}
}

func TestHostLoopbackIsolation(t *testing.T) {
	requireRoot(t)
	// A server on the host's loopback must not be reachable from the pod.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dial, denv := helperCommand(t, "dial-once", ln.Addr().String())
	server, senv := helperCommand(t, "listen", "127.0.0.1:7071")
	p, rec, _ := startPod(t, "isolated", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers: []pod.Container{
			{Name: "dialer", Command: dial, Env: denv},
			{Name: "server", Command: server, Env: senv},
		},
	})
	ev := rec.until("dialer exit", isReason(pod.EventExited, "dialer"))
	assert.Equal(t, 1, ev.ExitCode, "the pod reached the host's loopback: %q", logText(t, p, "dialer", pod.LogOptions{}))
	assert.Contains(t, strings.Join(logText(t, p, "dialer", pod.LogOptions{}), "\n"), "connection refused")

	// And the pod's server must not be reachable from the host.
	waitLogs(t, p, "server", 1)
	_, err = net.Dial("tcp", "127.0.0.1:7071")
	require.Error(t, err, "the host reached a server inside the pod")
}

func TestHostnameAndIPC(t *testing.T) {
	requireTool(t, "ipcmk")
	requireTool(t, "ipcs")
	p, rec, _ := startPod(t, "uts-ipc", pod.Spec{
		Hostname: "pod-host",
		Containers: []pod.Container{
			{Name: "maker", Command: []string{"sh", "-c", "hostname; ipcmk -Q; ipcs -q; exec sleep 1000"}},
			{Name: "other", Command: []string{"sleep", "1000"}},
		},
	})
	rec.until("pod ready", isPhase(pod.PhaseRunning))
	waitLogs(t, p, "maker", 7)
	lines := logText(t, p, "maker", pod.LogOptions{})
	require.Equal(t, "pod-host", lines[0])
	// ipcs prints the queue as "key msqid owner ..." after its header.
	queue := strings.Fields(lines[5])
	require.Len(t, queue, 6, "maker: %q", lines)
	key := queue[0]

	var out strings.Builder
	cmd := exec.Command("sh", "-c", "hostname; ipcs -q")
	cmd.Stdout = &out
	require.NoError(t, p.Exec(context.Background(), "other", cmd))
	assert.True(t, strings.HasPrefix(out.String(), "pod-host\n"), out.String())
	assert.Contains(t, out.String(), key, "the other container does not see the message queue")

	host, err := exec.Command("ipcs", "-q").Output()
	require.NoError(t, err)
	assert.NotContains(t, string(host), key, "the pod's message queue leaked to the host")
	h, _ := os.Hostname()
	assert.NotEqual(t, "pod-host", h)
}

func TestPIDNamespaces(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharedPID=%v", shared), func(t *testing.T) {
			p, rec, _ := startPod(t, "pids", pod.Spec{
				ShareProcessNamespace: shared,
				RestartPolicy:         pod.RestartNever,
				Containers: []pod.Container{
					{Name: "a", Command: []string{"sh", "-c", "echo $$; exec sleep 1000"}},
					{Name: "b", Command: []string{"sleep", "1000"}},
				},
			})
			rec.until("running", isPhase(pod.PhaseRunning))
			waitLogs(t, p, "a", 1)
			st := p.Status()
			a, _ := st.Container("a")
			b, _ := st.Container("b")
			nsA, nsB, nsInfra := pidNS(t, a.PID), pidNS(t, b.PID), pidNS(t, st.InfraPID)
			nsSelf := pidNS(t, os.Getpid())
			assert.NotEqual(t, nsSelf, nsA)
			assert.NotEqual(t, nsSelf, nsB)
			if shared {
				assert.Equal(t, nsInfra, nsA)
				assert.Equal(t, nsA, nsB)
				// b sees a's process under the PID a printed, and can stop it.
				nsPID := logText(t, p, "a", pod.LogOptions{})[0]
				require.NoError(t, p.Exec(context.Background(), "b", exec.Command("kill", "-TERM", nsPID)))
				ev := rec.until("a killed by b", isReason(pod.EventExited, "a"))
				assert.Equal(t, syscall.SIGTERM, ev.Signal)
			} else {
				assert.NotEqual(t, nsA, nsB)
				assert.NotEqual(t, nsInfra, nsA)
				// Each container's command is PID 2 of its own namespace,
				// under podkit's init: a counts the processes it can signal.
				assert.NotEqual(t, "1", logText(t, p, "a", pod.LogOptions{})[0])
				err := p.Exec(context.Background(), "b", exec.Command("kill", "-0", fmt.Sprint(a.PID)))
				assert.Error(t, err, "b can signal a's host PID")
			}
		})
	}
}

func pidNS(t testing.TB, pid int) string {
	t.Helper()
	require.NotZero(t, pid)
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	require.NoError(t, err)
	return ns
}
