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
// its postStart hook has finished, as the kubelet starts them: each
// container appends its name to a shared file as it starts, and the first
// one's postStart hook appends too, after a pause that lets the others
// overtake it if they do not wait.
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
				want = append(want, name)
				if i == 0 {
					c.Lifecycle = &pod.Lifecycle{PostStart: &pod.LifecycleHandler{Exec: &pod.ExecAction{
						Command: []string{"sh", "-c", "sleep 0.1; echo c0-hook >> /run/state/order"}}}}
					want = append(want, "c0-hook")
				}
				cs = append(cs, c)
			}
			p, _, _ := startPod(t, "order", pod.Spec{Volumes: []pod.Volume{stateVolume()}, Containers: cs})
			var got []string
			require.Eventually(t, func() bool {
				var out bytes.Buffer
				cmd := exec.Command("cat", "/run/state/order")
				cmd.Stdout = &out
				if err := p.Exec(context.Background(), "c0", cmd); err != nil {
					return false
				}
				got = strings.Fields(out.String())
				return len(got) >= len(want)
			}, 20*time.Second, 10*time.Millisecond)
			require.Equal(t, want, got)
		})
	}
}
