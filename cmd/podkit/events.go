package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/podkit/podkit/pod"
)

// eventJSON is one line of `podkit run --events json`: a stable interface,
// documented in docs/cli.md. Fields are added, never renamed or removed.
type eventJSON struct {
	Time string `json:"time"` // RFC 3339 with nanoseconds, UTC
	// Pod is the pod's name; empty on a workload's event.
	Pod string `json:"pod"`
	// Workload is KIND/NAME on the event of a workload's controller
	// (Job/pi: SuccessfulCreate, Completed, BackoffLimitExceeded, ...).
	Workload  string `json:"workload,omitempty"`
	Container string `json:"container,omitempty"`
	Role      string `json:"role,omitempty"`
	Type      string `json:"type"` // Normal or Warning
	Reason    string `json:"reason"`
	ExitCode  *int   `json:"exitCode,omitempty"`
	Signal    string `json:"signal,omitempty"`
	// ExitReason is the terminated state's reason, on Exited.
	ExitReason string `json:"exitReason,omitempty"`
	Phase      string `json:"phase,omitempty"`
	Ready      *bool  `json:"ready,omitempty"`
	// DelaySeconds is the back-off before the next restart, on BackOff.
	DelaySeconds *float64 `json:"delaySeconds,omitempty"`
	Message      string   `json:"message,omitempty"`
}

func toJSON(ev pod.Event) eventJSON {
	j := eventJSON{
		Time:      ev.Time.UTC().Format(time.RFC3339Nano),
		Pod:       ev.Pod,
		Container: ev.Container,
		Role:      string(ev.Role),
		Type:      string(ev.Type),
		Reason:    ev.Reason,
		Phase:     string(ev.Phase),
		Message:   ev.Message,
	}
	if j.Type == "" {
		j.Type = string(pod.EventNormal)
	}
	switch ev.Reason {
	case pod.EventExited:
		code := ev.ExitCode
		j.ExitCode = &code
		j.ExitReason = ev.ExitReason
	case pod.EventReady:
		ready := ev.Ready
		j.Ready = &ready
	case pod.EventBackOff:
		d := ev.Delay.Seconds()
		j.DelaySeconds = &d
	}
	if ev.Signal != 0 {
		j.Signal = signalName(ev.Signal)
	}
	return j
}

// writeEventJSON writes ev as one line of JSON.
func writeEventJSON(w io.Writer, ev pod.Event) error {
	return writeJSONLine(w, toJSON(ev))
}

// writeJSONLine writes j as one line of JSON.
func writeJSONLine(w io.Writer, j eventJSON) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// writeEventText writes ev for a person: the lifecycle of the pod and its
// containers, without the readiness chatter.
func writeEventText(w io.Writer, ev pod.Event) error {
	subject := "pod " + ev.Pod
	if ev.Container != "" {
		subject = string(ev.Role) + " " + ev.Container
	}
	msg := ev.Message
	if ev.Reason == pod.EventPodPhase {
		msg = string(ev.Phase)
	}
	_, err := fmt.Fprintf(w, "%s %-9s %s: %s\n", ev.Time.Format("15:04:05.000"), ev.Reason, subject, strings.TrimSpace(msg))
	return err
}
