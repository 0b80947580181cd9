package pod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/proc"
	"github.com/podkit/podkit/internal/shim"
)

// sandboxNamespaces are the namespaces every container joins.
const sandboxNamespaces = unix.CLONE_NEWNET | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC

// startInfra starts the infra process in new namespaces and waits until it
// has set them up.
func (p *Pod) startInfra(ctx context.Context) error {
	if err := context.Cause(ctx); ctx.Err() != nil {
		return fmt.Errorf("pod %q: start: %w", p.name, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("pod %q: infra: %w", p.name, err)
	}
	defer r.Close()
	cmd := shim.InfraCommand(p.cfg.hostname)
	cmd.ExtraFiles = []*os.File{w}
	flags := uintptr(sandboxNamespaces)
	if p.cfg.shareProcessNamespace {
		flags |= unix.CLONE_NEWPID
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	infra, err := proc.Start(cmd, nil)
	w.Close()
	if err != nil {
		if errorsIsPermission(err) {
			return fmt.Errorf("pod %q: creating the pod's namespaces (%s) needs root or CAP_SYS_ADMIN: %w",
				p.name, namespaceNames(p.cfg.shareProcessNamespace), err)
		}
		return fmt.Errorf("pod %q: start infra: %w", p.name, err)
	}
	// The infra closes its end of the pipe once it is ready or has failed,
	// and dies if this program dies, so this read ends.
	data, err := io.ReadAll(r)
	reports, perr := shim.ReadReports(data)
	ready := err == nil && perr == nil && len(reports) > 0 && reports[0].Ready
	if !ready {
		_ = infra.Signal(syscall.SIGKILL)
		<-infra.Done()
		infra.Release()
		msg := fmt.Sprintf("exited: %s", infra.State())
		if len(reports) > 0 && reports[0].Err != "" {
			msg = reports[0].Err
		}
		return fmt.Errorf("pod %q: infra: %s", p.name, msg)
	}
	p.mu.Lock()
	p.infra = infra
	p.status.InfraPID = infra.Pid()
	p.emitLocked(Event{Reason: EventStarted, Role: RoleInfra, Container: "",
		Message: fmt.Sprintf("Started infra process %d holding the pod's namespaces", infra.Pid())})
	p.setConditionLocked(PodReadyToStartContainers, true, "", "")
	p.setConditionLocked(Initialized, true, "", "")
	p.updateReadinessLocked()
	p.mu.Unlock()
	return nil
}

// teardownInfra kills the infra process and waits until it has been reaped.
// With a shared PID namespace the kernel kills every process left in it, and
// reaping the infra completes only once they are all gone.
func (p *Pod) teardownInfra() {
	p.mu.Lock()
	infra := p.infra
	p.mu.Unlock()
	if infra == nil {
		return
	}
	_ = infra.Signal(syscall.SIGKILL)
	<-infra.Done()
	p.execs.Wait() // Exec holds duplicates of the pidfd until it returns
	infra.Release()
	p.mu.Lock()
	p.status.InfraPID = 0
	p.emitLocked(Event{Reason: EventExited, Role: RoleInfra, ExitCode: exitCode(infra.State()),
		Signal: exitSignal(infra.State()), Message: "Infra process exited: " + infra.State().String()})
	p.setConditionLocked(PodReadyToStartContainers, false, "", "")
	p.mu.Unlock()
}

func namespaceNames(sharedPID bool) string {
	if sharedPID {
		return "net, uts, ipc, pid"
	}
	return "net, uts, ipc"
}

// exitCode and exitSignal read a reaped process's status the way Kubernetes
// reports it: a killed process has exit code 128 plus the signal.
func exitCode(ps *os.ProcessState) int {
	ws := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func exitSignal(ps *os.ProcessState) syscall.Signal {
	ws := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return ws.Signal()
	}
	return 0
}

func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// errorsIsPermission reports whether err says the caller lacks privileges.
func errorsIsPermission(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES)
}
