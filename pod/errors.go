package pod

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

var (
	// ErrInvalidSpec is wrapped by every error New returns for a bad spec;
	// the message names each bad field and its value.
	ErrInvalidSpec = errors.New("invalid pod spec")
	// ErrNoContainer is returned for a container name the pod does not have.
	ErrNoContainer = errors.New("no such container")
	// ErrNotRunning is returned by Exec and Signal when the container has no
	// running instance, and by DialContext, Listen and Stats when the pod is
	// not running.
	ErrNotRunning = errors.New("container is not running")
	// ErrAlreadyStarted is returned by Start or Run on a pod started before.
	ErrAlreadyStarted = errors.New("pod already started")
	// ErrNotStarted is returned by Wait on a pod that was never started.
	ErrNotStarted = errors.New("pod not started")
	// ErrSandboxDied is returned when the infra process holding the pod's
	// namespaces ended while the pod was running.
	ErrSandboxDied = errors.New("infra process died")
	// ErrKilled is returned by Wait for a pod stopped by Kill.
	ErrKilled = errors.New("pod killed")
	// ErrInProcess is returned for what only a process can do, asked of an
	// in-process container: Exec, or a signal other than its stop signal.
	ErrInProcess = errors.New("in-process container")
	// ErrDeadlineExceeded is returned when the pod ran past its active
	// deadline (WithActiveDeadline).
	ErrDeadlineExceeded = errors.New("active deadline exceeded")
)

// ExitError reports the failure of a container that made its pod fail.
type ExitError struct {
	Pod       string
	Container string
	// ExitCode is the exit status, or 128 plus the signal number when the
	// process was killed by a signal (as shells and Kubernetes report it).
	ExitCode int
	// Signal is the signal that killed the process, or 0.
	Signal syscall.Signal
	// Reason is the termination reason: Error, OOMKilled or StartError.
	Reason  string
	Message string
	// OOMKilled is set when the kernel's OOM killer ended the container
	// because it exceeded its memory limit.
	OOMKilled bool
}

func (e *ExitError) Error() string {
	s := fmt.Sprintf("pod %q: container %q: ", e.Pod, e.Container)
	switch {
	case e.Reason == ReasonStartError:
		s += "failed to start"
	case e.Signal != 0:
		s += fmt.Sprintf("killed by signal %d (%s)", int(e.Signal), unix.SignalName(e.Signal))
	default:
		s += fmt.Sprintf("exited with code %d", e.ExitCode)
	}
	if e.Reason != "" && e.Reason != ReasonError {
		s += " (" + e.Reason + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}
