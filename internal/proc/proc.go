// Package proc starts child processes from dedicated threads that first join
// a set of namespaces, and keeps each thread alive exactly as long as its
// child, so that the child's parent-death signal fires when, and only when,
// the supervising program dies.
package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/thread"
)

// Process is a started child. Its methods are safe for concurrent use.
type Process struct {
	cmd   *exec.Cmd
	pid   int
	pidfd int
	done  chan struct{}
	err   error // Wait's error, set before done is closed
}

// Hooks run on the thread that starts the child.
type Hooks struct {
	// Before runs before the child is started; typically it joins
	// namespaces (see Join) or a cgroup. An error aborts the start.
	Before func() error
	// After runs right after the child has been started, whether or not
	// the start succeeded; typically it undoes what Before did to the
	// thread. If it fails, the child is killed and reaped, and Start
	// returns the error.
	After func() error
}

// Start runs the hooks and cmd.Start on a fresh thread, and returns once the
// child has been executed (or has failed to be). Start asks for a pidfd; the
// other SysProcAttr fields are the caller's.
//
// Set SysProcAttr.Pdeathsig only for a child that stays in the caller's PID
// namespace or becomes PID 1 of a new one. For a child whose parent is outside
// its PID namespace getppid returns 0, and Go's start-up check of the parent
// (getppid() != parent) makes such a child kill itself at once; PID 1 of a new
// namespace survives only because the kernel does not deliver a signal sent by
// an init to itself. Children that join an existing PID namespace die with its
// PID 1 instead.
//
// The thread then waits for the child, so the child's exit status is collected
// without polling; Done is closed when it has been. The caller must not call
// cmd.Wait itself.
func Start(cmd *exec.Cmd, hooks Hooks) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	p := &Process{cmd: cmd, pidfd: -1, done: make(chan struct{})}
	cmd.SysProcAttr.PidFD = &p.pidfd
	started := make(chan error, 1)
	go thread.Run(func() {
		if hooks.Before != nil {
			if err := hooks.Before(); err != nil {
				started <- err
				return
			}
		}
		err := cmd.Start()
		if hooks.After != nil {
			if aerr := hooks.After(); aerr != nil && err == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				p.Release()
				err = aerr
			}
		}
		if err != nil {
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	})
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// Pid returns the child's process ID in the caller's PID namespace.
func (p *Process) Pid() int { return p.pid }

// PidFD returns a pidfd for the child, valid until Release is called. It can
// be passed to setns to join the child's namespaces.
func (p *Process) PidFD() int { return p.pidfd }

// Done is closed when the child has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// State returns the child's exit state. It must be called only after Done is
// closed.
func (p *Process) State() *os.ProcessState { return p.cmd.ProcessState }

// Signal sends sig to the child. It returns nil if the child has already
// exited.
func (p *Process) Signal(sig syscall.Signal) error {
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("proc: signal %d: %w", p.pid, err)
	}
	return nil
}

// Release closes the pidfd. It must be called once, after Done is closed.
func (p *Process) Release() {
	if p.pidfd >= 0 {
		_ = unix.Close(p.pidfd)
		p.pidfd = -1
	}
}

// Join returns a join function that enters the namespaces given by flags
// (CLONE_NEW* bits) of the process referred to by pidfd.
func Join(pidfd int, flags int) func() error {
	return func() error {
		if err := unix.Setns(pidfd, flags); err != nil {
			return fmt.Errorf("proc: setns: %w", err)
		}
		return nil
	}
}

// Err returns what cmd.Wait returned. It must be called only after Done is
// closed.
func (p *Process) Err() error { return p.err }
