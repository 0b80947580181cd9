package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/podkit/podkit/pod"
)

// writeTerminationMessages lists the termination messages of the
// containers, as kubectl describe shows them under a terminated state:
// the current state's, or the last one's ("(last)") while the container
// runs again. Each line of a message is indented under its container.
func writeTerminationMessages(w io.Writer, containers []pod.ContainerStatus) error {
	var b strings.Builder
	for _, cs := range containers {
		name, t := cs.Name, cs.State.Terminated
		if t == nil {
			name, t = cs.Name+" (last)", cs.LastTerminationState.Terminated
		}
		if t == nil || t.Message == "" {
			continue
		}
		fmt.Fprintf(&b, "  %s:\n", name)
		for _, line := range strings.Split(strings.TrimRight(t.Message, "\n"), "\n") {
			fmt.Fprintf(&b, "    %s\n", line)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(w, "Termination messages:\n"+b.String())
	return err
}
