package pod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"syscall"

	"github.com/podkit/podkit/internal/proc"
)

// InProcess is what the function of an in-process container (one with
// Container.Func set) knows of itself; it gets it with FromContext.
type InProcess struct {
	// Pod is the pod the container belongs to. Its DialContext, Listen and
	// ListenPacket make sockets inside the pod's network namespace.
	Pod *Pod
	// Container is the container's name.
	Container string
	// Stdout and Stderr are the container's output streams: what is
	// written there is what Pod.Logs returns, and is copied to the
	// container's Stdout and Stderr writers, as a process's output is.
	// Writes fail once the function has returned.
	Stdout, Stderr io.Writer
	// Killed is closed when the container gets SIGKILL, after its context
	// was cancelled: the grace period has ended (or the pod was killed). A
	// function that drains work after its context is done (open
	// connections, say) abandons it then, and returns at once.
	Killed <-chan struct{}
}

type inProcessKey struct{}

// FromContext returns the InProcess of the in-process container whose
// function was given ctx, or a context derived from it.
func FromContext(ctx context.Context) (InProcess, bool) {
	ip, ok := ctx.Value(inProcessKey{}).(InProcess)
	return ip, ok
}

// Exit codes of an in-process container.
const (
	// FuncErrorExitCode is the exit code of a function that returned an
	// error other than its context's.
	FuncErrorExitCode = 1
	// FuncPanicExitCode is the exit code of a function that panicked; as
	// with a Go program, the panic and its stack go to the container's
	// standard error.
	FuncPanicExitCode = 2
)

// task is a running instance of a container: a process, or a function.
type task interface {
	// Pid is the process's host PID, 0 for a function.
	Pid() int
	// Done is closed once the instance has ended.
	Done() <-chan struct{}
	// Signal sends sig to the instance.
	Signal(sig syscall.Signal) error
	// Release frees what the ended instance holds.
	Release()
}

var (
	_ task = (*proc.Process)(nil)
	_ task = (*funcTask)(nil)
)

// funcTask runs the function of an in-process container. Its stop signal,
// or SIGKILL, cancels the function's context; it has no other signals.
type funcTask struct {
	stopSignal syscall.Signal
	cancel     context.CancelCauseFunc
	done       chan struct{}

	killed chan struct{} // closed at SIGKILL

	mu     sync.Mutex
	signal syscall.Signal // the first stop signal, or SIGKILL once sent
	cause  error          // the context's cause, from the first signal

	// Set before done is closed.
	err      error
	panicked bool
}

// startFunc runs m's function in a goroutine of its own, its output going
// to outW and errW, which it closes when the function has returned.
func (p *Pod) startFunc(m *member, outW, errW io.WriteCloser) *funcTask {
	t := &funcTask{stopSignal: m.spec.StopSignal, done: make(chan struct{}), killed: make(chan struct{})}
	ctx := context.WithValue(p.values, inProcessKey{},
		InProcess{Pod: p, Container: m.spec.Name, Stdout: outW, Stderr: errW, Killed: t.killed})
	ctx, t.cancel = context.WithCancelCause(ctx)
	go func() {
		defer close(t.done)
		defer outW.Close()
		defer errW.Close()
		defer func() {
			if v := recover(); v != nil {
				t.panicked = true
				t.err = fmt.Errorf("panic: %v", v)
				fmt.Fprintf(errW, "panic: %v\n\n%s", v, debug.Stack())
			}
		}()
		t.err = m.spec.Func(ctx)
	}()
	return t
}

func (t *funcTask) Pid() int              { return 0 }
func (t *funcTask) Done() <-chan struct{} { return t.done }
func (t *funcTask) Release()              { t.cancel(nil) }

// Signal cancels the function's context if sig is its stop signal or
// SIGKILL; a function cannot be killed, so SIGKILL only marks it as
// killed. Other signals are an error wrapping ErrInProcess.
func (t *funcTask) Signal(sig syscall.Signal) error {
	if sig != t.stopSignal && sig != syscall.SIGKILL {
		return fmt.Errorf("%w: cannot deliver %s", ErrInProcess, signalName(sig))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.signal == 0 {
		t.cause = fmt.Errorf("pod: container stopped with %s", signalName(sig))
		t.cancel(t.cause)
	}
	if sig == syscall.SIGKILL && t.signal != syscall.SIGKILL {
		close(t.killed)
	}
	if t.signal == 0 || sig == syscall.SIGKILL {
		t.signal = sig
	}
	return nil
}

// result returns how the function ended; it must be called once done is
// closed. A function that returns nil, or its context's error once it was
// asked to stop, completed; one that returned only after SIGKILL ends as a
// process killed by it would.
func (t *funcTask) result() StateTerminated {
	t.mu.Lock()
	sig, cause := t.signal, t.cause
	t.mu.Unlock()
	switch {
	case t.panicked:
		return StateTerminated{ExitCode: FuncPanicExitCode, Reason: ReasonError, Message: t.err.Error()}
	case sig == syscall.SIGKILL:
		return StateTerminated{ExitCode: 128 + int(syscall.SIGKILL), Signal: syscall.SIGKILL, Reason: ReasonError,
			Message: "the function returned only after the grace period ended"}
	case t.err == nil, sig != 0 && (errors.Is(t.err, context.Canceled) || errors.Is(t.err, cause)):
		return StateTerminated{Reason: ReasonCompleted}
	}
	return StateTerminated{ExitCode: FuncErrorExitCode, Reason: ReasonError, Message: t.err.Error()}
}
