package podtest_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/pod/podtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// A pod started by Start is gone when its test ends: its cleanup stops it
// and waits for it.
func TestStartStopsThePodAtTheEnd(t *testing.T) {
	var p *pod.Pod
	t.Run("inner", func(t *testing.T) {
		var out podtest.Buffer
		p = podtest.Start(t, "podtest", pod.Spec{Containers: []pod.Container{
			{Name: "app", Command: []string{"sh", "-c", "echo up; exec sleep 1000"}, Stdout: &out},
		}})
		require.Eventually(t, func() bool { return strings.Contains(out.String(), "up") }, 10*time.Second, 10*time.Millisecond)
	})
	if p == nil {
		t.Skip("the inner test was skipped")
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("the pod still runs after its test ended")
	}
	assert.Contains(t, []pod.Phase{pod.PhaseSucceeded, pod.PhaseFailed}, p.Status().Phase)
}

// A Buffer takes a container's output while the test reads it.
func ExampleBuffer() {
	if os.Geteuid() != 0 {
		fmt.Println("hello") // pods need root
		return
	}
	var out podtest.Buffer
	p, err := pod.New("buffer", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers:    []pod.Container{{Name: "app", Command: []string{"echo", "hello"}, Stdout: &out}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(out.String())
	// Output: hello
}
