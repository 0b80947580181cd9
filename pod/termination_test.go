package pod_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// TestTerminationMessage checks the message of a container's terminated
// state: read from its file (the default path or its own, bounded to
// 4 KiB), or under FallbackToLogsOnError from the end of its output when
// the file is empty and the container failed.
func TestTerminationMessage(t *testing.T) {
	var lines []string
	for i := 1; i <= 100; i++ {
		lines = append(lines, fmt.Sprintf("line%d\n", i))
	}
	long := strings.Repeat("y", 499)
	var longOut string
	for range 10 {
		longOut += long + "\n"
	}
	tests := []struct {
		name   string
		c      pod.Container
		want   string
		exitOK bool
	}{
		{name: "default-path", c: pod.Container{Command: []string{"sh", "-c", "echo bye > /dev/termination-log; exit 3"}},
			want: "bye\n"},
		{name: "own-path", c: pod.Container{TerminationMessagePath: "/run/done/message",
			Command: []string{"sh", "-c", "printf 'all done' > /run/done/message"}}, want: "all done", exitOK: true},
		{name: "bounded", c: pod.Container{Command: []string{"sh", "-c", "head -c 5000 /dev/zero | tr '\\0' z > /dev/termination-log; exit 1"}},
			want: strings.Repeat("z", 4096)},
		{name: "no-message", c: pod.Container{Command: []string{"sh", "-c", "echo some output; exit 1"}}, want: ""},
		{name: "fallback", c: pod.Container{TerminationMessagePolicy: pod.TerminationMessageFallbackToLogsOnError,
			Command: []string{"sh", "-c", "i=1; while [ $i -le 100 ]; do echo line$i; i=$((i+1)); done; exit 1"}},
			want: strings.Join(lines[20:], "")},
		{name: "fallback-bytes", c: pod.Container{TerminationMessagePolicy: pod.TerminationMessageFallbackToLogsOnError,
			Command: []string{"sh", "-c", "i=0; while [ $i -lt 10 ]; do printf '%0499d\\n' 0 | tr 0 y; i=$((i+1)); done; exit 1"}},
			want: longOut[len(longOut)-2048:]},
		{name: "fallback-file-wins", c: pod.Container{TerminationMessagePolicy: pod.TerminationMessageFallbackToLogsOnError,
			Command: []string{"sh", "-c", "echo output; echo from file > /dev/termination-log; exit 1"}}, want: "from file\n"},
		{name: "fallback-success", c: pod.Container{TerminationMessagePolicy: pod.TerminationMessageFallbackToLogsOnError,
			Command: []string{"sh", "-c", "echo output"}}, want: "", exitOK: true},
		{name: "in-process-fallback", c: pod.Container{TerminationMessagePolicy: pod.TerminationMessageFallbackToLogsOnError,
			Func: func(ctx context.Context) error {
				ip, _ := pod.FromContext(ctx)
				fmt.Fprintln(ip.Stdout, "it broke")
				return fmt.Errorf("broken")
			}}, want: "it broke\n"},
		// The file is a bind mount: the container cannot swap it for a
		// link to another file, whose content would become the message.
		{name: "no-link-out", c: pod.Container{Command: []string{"sh", "-c", "ln -sf /etc/passwd /dev/termination-log; rm -f /dev/termination-log; exit 1"}},
			want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Name = "c"
			p, _, _ := startPod(t, "termmsg", pod.Spec{RestartPolicy: pod.RestartNever, Containers: []pod.Container{c}})
			err := p.Wait()
			st, _ := p.Status().Container("c")
			require.NotNil(t, st.State.Terminated)
			assert.Equal(t, tt.want, st.State.Terminated.Message)
			if tt.exitOK {
				require.NoError(t, err)
				return
			}
			var exitErr *pod.ExitError
			require.ErrorAs(t, err, &exitErr)
			assert.Equal(t, tt.want, exitErr.Message)
		})
	}
}

func TestTerminationMessageValidation(t *testing.T) {
	fn := func(context.Context) error { return nil }
	tests := []struct {
		c    pod.Container
		want string
	}{
		{pod.Container{Command: []string{"true"}, TerminationMessagePath: "dev/log"}, `container "c".terminationMessagePath: invalid value "dev/log"`},
		{pod.Container{Command: []string{"true"}, TerminationMessagePath: "/dev/../log"}, `container "c".terminationMessagePath: invalid value "/dev/../log"`},
		{pod.Container{Command: []string{"true"}, TerminationMessagePolicy: "Logs"}, `container "c".terminationMessagePolicy: invalid value "Logs"`},
		{pod.Container{Func: fn, TerminationMessagePath: "/dev/log"}, `container "c".terminationMessagePath: invalid value "/dev/log": must not be set on an in-process container`},
		{pod.Container{Command: []string{"true"}, SharedHostFilesystem: true, TerminationMessagePath: "/dev/log"},
			`container "c".terminationMessagePath: invalid value "/dev/log": needs a root filesystem`},
	}
	for _, tt := range tests {
		c := tt.c
		c.Name = "c"
		_, err := pod.New("p", pod.Spec{Containers: []pod.Container{c}})
		require.ErrorIs(t, err, pod.ErrInvalidSpec)
		assert.Contains(t, err.Error(), tt.want)
	}
}
