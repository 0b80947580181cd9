package pod

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/proc"
)

// Exec runs cmd in the namespaces of a running container, like kubectl exec,
// and blocks until it exits. cmd must not have been started and must not set
// SysProcAttr. A nil cmd.Env means the container's environment; an empty
// cmd.Dir means the container's working directory. In a container with a
// root filesystem or volumes, cmd runs in the container's filesystem, and a
// command name without a slash (cmd.Args[0]) is looked up there. Standard
// streams are cmd's, as with cmd.Run.
//
// If ctx is done first, the process is killed and Exec returns ctx's cause
// once it has been reaped. Otherwise Exec returns what cmd.Wait returns: nil
// for exit status 0, an *exec.ExitError otherwise. The process is killed too
// if the container or the pod stops, and the pod does not finish before Exec
// has returned.
func (p *Pod) Exec(ctx context.Context, container string, cmd *exec.Cmd) error {
	m := p.member(container)
	if m == nil {
		return fmt.Errorf("pod %q: exec: %w: %q", p.name, ErrNoContainer, container)
	}
	if cmd.Process != nil || cmd.SysProcAttr != nil {
		return fmt.Errorf("pod %q: exec: cmd already started or has SysProcAttr set", p.name)
	}
	// Duplicate the pidfds under the lock: the originals are closed when
	// their processes end, which may happen while this call joins them.
	p.mu.Lock()
	// A container being stopped still runs commands (its preStop hook among
	// them); once every container has ended, none can pass this check.
	if m.task == nil {
		p.mu.Unlock()
		return fmt.Errorf("pod %q: exec in container %q: %w", p.name, container, ErrNotRunning)
	}
	target, ok := m.task.(*proc.Process)
	if !ok {
		p.mu.Unlock()
		return fmt.Errorf("pod %q: exec in container %q: %w", p.name, container, ErrInProcess)
	}
	infraFD, err1 := unix.FcntlInt(uintptr(p.infra.PidFD()), unix.F_DUPFD_CLOEXEC, 0)
	pidFD, err2 := unix.FcntlInt(uintptr(target.PidFD()), unix.F_DUPFD_CLOEXEC, 0)
	containerPID := target.Pid()
	p.execs.Add(1)
	p.mu.Unlock()
	defer p.execs.Done()
	for _, fd := range []int{infraFD, pidFD} {
		if fd >= 0 {
			defer unix.Close(fd)
		}
	}
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("pod %q: exec: %w", p.name, err)
	}

	if cmd.Env == nil {
		cmd.Env = p.containerEnv(m.spec)
	}
	if cmd.Dir == "" {
		cmd.Dir = m.spec.WorkingDir
	}
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	// The process joins a PID namespace whose PID 1 has a parent-death
	// signal, so it dies with this program without one of its own.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if m.spec.RootFS != "" || len(m.spec.VolumeMounts) > 0 {
		// See the container's filesystem: its root, as its init sees it.
		cmd.SysProcAttr.Chroot = fmt.Sprintf("/proc/%d/root", containerPID)
		if !strings.Contains(cmd.Args[0], "/") {
			path, err := lookPath(m.spec.RootFS, cmd.Args[0], cmd.Env)
			if err != nil {
				return fmt.Errorf("pod %q: exec in container %q: %w", p.name, container, err)
			}
			cmd.Path = path
		}
	}
	join := func() error {
		if p.spec.ShareProcessNamespace {
			return proc.Join(infraFD, p.sandboxNamespaces()|unix.CLONE_NEWPID)()
		}
		if err := proc.Join(infraFD, p.sandboxNamespaces())(); err != nil {
			return err
		}
		return proc.Join(pidFD, unix.CLONE_NEWPID)()
	}
	pr, err := p.startInCgroup(m, cmd, join)
	if err != nil {
		return fmt.Errorf("pod %q: exec in container %q: %w", p.name, container, err)
	}
	defer pr.Release()
	select {
	case <-pr.Done():
		return pr.Err()
	case <-ctx.Done():
		_ = pr.Signal(syscall.SIGKILL)
		<-pr.Done()
		return context.Cause(ctx)
	}
}

// Signal sends sig to the running instance of a container, like kill(1): to
// the container's process, or to its init, which forwards it. To an
// in-process container only its stop signal and SIGKILL can be sent (both
// cancel its function's context); others give an error wrapping
// ErrInProcess. Signal does not block, and does not change the container's
// restart policy: a container that a signal ends is restarted as any other.
// A container without a running instance gives an error wrapping
// ErrNotRunning; an instance counts as running from its EventStarted on,
// which can come just after its process's first output.
func (p *Pod) Signal(container string, sig syscall.Signal) error {
	m := p.member(container)
	if m == nil {
		return fmt.Errorf("pod %q: signal: %w: %q", p.name, ErrNoContainer, container)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if m.task == nil {
		return fmt.Errorf("pod %q: signal container %q: %w", p.name, container, ErrNotRunning)
	}
	if err := m.task.Signal(sig); err != nil {
		return fmt.Errorf("pod %q: signal container %q: %w", p.name, container, err)
	}
	return nil
}
