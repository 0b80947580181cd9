package pod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/proc"
	"github.com/podkit/podkit/internal/shim"
)

// Exec runs cmd in the namespaces of a running container, like kubectl exec,
// and blocks until it exits. cmd must not have been started and must not set
// SysProcAttr. A nil cmd.Env means the container's environment; an empty
// cmd.Dir means the container's working directory. In a container with a
// root filesystem, volumes or a read-only root, cmd runs in the container's
// mount namespace, and a command name without a slash (cmd.Args[0]) is
// looked up in its root filesystem. cmd runs with the container's security
// context, as kubectl exec and the kubelet's exec probes do: its user and
// groups, its capabilities (dropped ones leave the bounding set), and
// no_new_privs; exec probes and exec hooks go through Exec too. Standard
// streams are cmd's, as with cmd.Run; ExtraFiles are refused in a
// container with a security context or a filesystem of its own.
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
	image := m.image
	infraFD, err1 := unix.FcntlInt(uintptr(p.infra.PidFD()), unix.F_DUPFD_CLOEXEC, 0)
	pidFD, err2 := unix.FcntlInt(uintptr(target.PidFD()), unix.F_DUPFD_CLOEXEC, 0)
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
		if image != nil {
			cmd.Env = p.imageEnv(m.spec, *image)
		}
	}
	if cmd.Dir == "" {
		cmd.Dir = m.spec.WorkingDir
	}
	if cmd.Dir == "" && image != nil {
		cmd.Dir = image.WorkingDir
	}
	if cmd.Dir == "" {
		cmd.Dir = "/"
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
	setup := m.spec.SecurityContext.setup()
	ownMounts := !p.filesystem(m.spec).Empty() || image != nil
	if image != nil {
		// Checked when the container started: exec runs as it does.
		setup, _ = imageSetup(m.spec, setup, *image)
	}
	if setup.Empty() && !ownMounts {
		// The container runs as this program does, in its filesystem.
		// The process joins a PID namespace whose PID 1 has a parent-death
		// signal, so it dies with this program without one of its own.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		pr, err := p.startInCgroup(m, cmd, join)
		if err != nil {
			return fmt.Errorf("pod %q: exec in container %q: %w", p.name, container, err)
		}
		return p.waitExec(ctx, pr)
	}
	if len(cmd.ExtraFiles) > 0 {
		return fmt.Errorf("pod %q: exec in container %q: ExtraFiles are not passed into a container with a security context or a filesystem of its own", p.name, container)
	}
	switch {
	case image != nil:
		// The helper looks the name up inside the image, once it is
		// there.
		cmd.Path, cmd.Err = cmd.Args[0], nil
	case ownMounts && !strings.Contains(cmd.Args[0], "/"):
		path, err := lookPath(m.spec.RootFS, cmd.Args[0], cmd.Env)
		if err != nil {
			return fmt.Errorf("pod %q: exec in container %q: %w", p.name, container, err)
		}
		// exec.Command looked the name up on the host's filesystem.
		cmd.Path, cmd.Err = path, nil
	case cmd.Err != nil:
		return fmt.Errorf("pod %q: exec in container %q: %w", p.name, container, cmd.Err)
	}
	helper, err := p.execHelper(cmd, setup, pidFD, ownMounts)
	if err != nil {
		return fmt.Errorf("pod %q: exec in container %q: %w", p.name, container, err)
	}
	defer helper.close()
	pr, err := p.startInCgroup(m, helper.cmd, join)
	helper.started()
	if err != nil {
		return fmt.Errorf("pod %q: exec in container %q: %w", p.name, container, err)
	}
	if err := helper.report(); err != nil {
		<-pr.Done()
		pr.Release()
		return fmt.Errorf("pod %q: exec in container %q: %w", p.name, container, err)
	}
	err = p.waitExec(ctx, pr)
	cmd.Process, cmd.ProcessState = helper.cmd.Process, helper.cmd.ProcessState
	return err
}

// waitExec waits for an exec's process, and kills it if ctx is done first.
// It releases pr.
func (p *Pod) waitExec(ctx context.Context, pr *proc.Process) error {
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

// execHelper is the shim that puts an exec's process in its container's
// security context, as the container's own init does: user, groups,
// capabilities, no_new_privs, and the container's mount namespace (its
// root filesystem, volumes, read-only root), then executes cmd in its
// place.
type execHelper struct {
	cmd     *exec.Cmd
	status  *os.File // the report pipe's read end
	toClose []*os.File
}

// execHelper returns the helper for cmd in the container whose process
// pidFD refers to; joinMounts says whether it has a mount namespace of its
// own.
func (p *Pod) execHelper(cmd *exec.Cmd, setup shim.Setup, pidFD int, joinMounts bool) (*execHelper, error) {
	h := &execHelper{}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	h.status, h.toClose = statusR, []*os.File{statusW}
	extra := []*os.File{statusW}
	setup.Exec, setup.Dir = true, cmd.Dir
	if joinMounts {
		// A pidfd names the process itself, never one that reuses its
		// PID; setns takes it as it takes a namespace file.
		fd, err := unix.FcntlInt(uintptr(pidFD), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			h.close()
			return nil, err
		}
		ns := os.NewFile(uintptr(fd), "pidfd")
		h.toClose = append(h.toClose, ns)
		extra = append(extra, ns)
		setup.MountNS = 3 + 1 // ExtraFiles[1]
	}
	env, err := shim.WithSetup(cmd.Env, setup)
	if err != nil {
		h.close()
		return nil, err
	}
	h.cmd = shim.InitCommand(cmd.Path, cmd.Args, env)
	h.cmd.Stdin, h.cmd.Stdout, h.cmd.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	h.cmd.ExtraFiles = extra
	// The helper starts on the host's filesystem; it enters cmd.Dir inside
	// the container once it has joined the container's mount namespace.
	h.cmd.Dir = "/"
	// It joins a PID namespace whose PID 1 has a parent-death signal, so
	// it dies with this program without one of its own.
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return h, nil
}

// started closes the ends the helper has inherited, so that the report
// pipe ends when the helper does.
func (h *execHelper) started() {
	for _, f := range h.toClose {
		f.Close()
	}
	h.toClose = nil
}

// report waits until the helper has executed the command (the report pipe
// closes without a report) or failed (it reports why).
func (h *execHelper) report() error {
	data, err := io.ReadAll(h.status)
	if err != nil {
		return err
	}
	rs, err := shim.ReadReports(data)
	if err != nil {
		return err
	}
	if len(rs) > 0 && rs[0].Err != "" {
		return errors.New(rs[0].Err)
	}
	return nil
}

func (h *execHelper) close() {
	h.started()
	h.status.Close()
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
