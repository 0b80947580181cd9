package pod_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// TestMainContainersStartInOrder checks that main containers start one
// after another in the spec's order, each once the one before it runs and
// its postStart hook has finished, as the kubelet starts them. The Started
// events, emitted as each process has started, come in the spec's order;
// and each container appends its name to a shared file as it starts, the
// first one's postStart hook too, after a pause that lets the others
// overtake it if they do not wait for it. (The order in which commands
// already started first write is theirs, as under the kubelet.)
func TestMainContainersStartInOrder(t *testing.T) {
	const n = 6
	for round := range 5 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			var cs []pod.Container
			var want []string
			for i := range n {
				name := fmt.Sprintf("c%d", i)
				c := pod.Container{Name: name, VolumeMounts: stateMount(),
					Command: []string{"sh", "-c", "echo " + name + " >> /run/state/order; exec sleep 1000"}}
				want = append(want, "Started "+name)
				if i == 0 {
					c.Lifecycle = &pod.Lifecycle{PostStart: &pod.LifecycleHandler{Exec: &pod.ExecAction{
						Command: []string{"sh", "-c", "sleep 0.1; echo c0-hook >> /run/state/order"}}}}
				}
				cs = append(cs, c)
			}
			// Odd rounds share the PID namespace: each init then executes
			// the command in its place.
			p, rec, _ := startPod(t, "order", pod.Spec{Volumes: []pod.Volume{stateVolume()}, Containers: cs,
				ShareProcessNamespace: round%2 == 1})
			rec.until("every container started", isReason(pod.EventStarted, fmt.Sprintf("c%d", n-1)))
			started := func(ev pod.Event) bool { return ev.Reason == pod.EventStarted && ev.Container != "" }
			require.Equal(t, want, rec.reasons(started))

			var got []string
			require.Eventually(t, func() bool {
				var out bytes.Buffer
				cmd := exec.Command("cat", "/run/state/order")
				cmd.Stdout = &out
				if err := p.Exec(context.Background(), "c0", cmd); err != nil {
					return false
				}
				got = strings.Fields(out.String())
				return len(got) >= n+1
			}, 20*time.Second, 10*time.Millisecond)
			require.Equal(t, []string{"c0", "c0-hook"}, got[:2], "%q", got)
			require.ElementsMatch(t, []string{"c1", "c2", "c3", "c4", "c5"}, got[2:])
		})
	}
}

// TestStopWhileWaitingForTurn stops a pod while its second container,
// set up already, waits for the first one's postStart hook: the second
// never starts, and nothing of it is left.
func TestStopWhileWaitingForTurn(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprint("shared=", shared), func(t *testing.T) {
			p, rec, stop := startPod(t, "stop-waiting", pod.Spec{
				ShareProcessNamespace: shared,
				Volumes:               []pod.Volume{stateVolume()},
				Containers: []pod.Container{
					{Name: "first", Command: []string{"sleep", "1000"},
						Lifecycle: &pod.Lifecycle{PostStart: &pod.LifecycleHandler{Exec: &pod.ExecAction{Command: []string{"sleep", "1000"}}}}},
					{Name: "second", Command: []string{"sleep", "1000"}, VolumeMounts: stateMount()},
				},
			})
			rec.until("first started", isReason(pod.EventStarted, "first"))
			stop()
			require.Error(t, p.Wait())
			rec.rest()
			require.NotContains(t, rec.reasons(nil), "Started second")
			second, _ := p.Status().Container("second")
			require.NotNil(t, second.State.Waiting, "%+v", second.State)
		})
	}
}
