package pod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/cgroup"
	"github.com/podkit/podkit/internal/owner"
	"github.com/podkit/podkit/internal/proc"
	"github.com/podkit/podkit/internal/shim"
)

// infraCgroup names the infra's cgroup in the pod's; it is not a DNS-1123
// label, so no container can have the name.
const infraCgroup = "_infra"

// startInfra creates the pod's cgroup, then starts the infra process in it
// and in new namespaces, waits until the infra has set them up, and
// connects the pod's network namespace as its mode asks.
func (p *Pod) startInfra(ctx context.Context) error {
	if err := context.Cause(ctx); ctx.Err() != nil {
		return fmt.Errorf("pod %q: start: %w", p.name, err)
	}
	if p.runsImages() && p.cfg.images == nil {
		return fmt.Errorf("pod %q: %w", p.name, ErrNoImageStore)
	}
	name, err := owner.Name(p.name)
	if err != nil {
		return fmt.Errorf("pod %q: %w", p.name, err)
	}
	p.ownerName = name
	if err := p.createCgroup(); err != nil {
		return err
	}
	if err := p.createVolumes(); err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("pod %q: infra: %w", p.name, err)
	}
	defer r.Close()
	cmd := shim.InfraCommand(p.spec.Hostname, p.spec.Network.Mode == NetworkHost)
	cmd.ExtraFiles = []*os.File{w}
	flags := uintptr(p.sandboxNamespaces())
	if p.spec.ShareProcessNamespace {
		flags |= unix.CLONE_NEWPID
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	// The infra has a cgroup of its own in the pod's, like every container:
	// on cgroup v2 a group whose children have controllers may hold no
	// process itself.
	infraGroup, err := p.cgroup.Child(infraCgroup, cgroup.Limits{})
	if err != nil {
		w.Close()
		return fmt.Errorf("pod %q: infra: %w", p.name, err)
	}
	p.mu.Lock()
	p.infraCgroup = infraGroup
	p.mu.Unlock()
	// Where placing at clone time costs a cgroup migration (cgroup v1), the
	// infra, which runs only podkit's code, is moved in while it sets up
	// the namespaces instead: the kernel's wait for the migration then
	// overlaps with the infra's start.
	hooks, done := proc.Hooks{}, func() {}
	if infraGroup.ClonesInto() {
		if hooks, done, err = attach(infraGroup, cmd, nil); err != nil {
			w.Close()
			return fmt.Errorf("pod %q: infra: %w", p.name, err)
		}
	}
	infra, err := proc.Start(cmd, hooks)
	done()
	w.Close()
	adopted := make(chan error, 1)
	if err == nil && !infraGroup.ClonesInto() {
		go func() { adopted <- infraGroup.Adopt(infra.Pid()) }()
	} else {
		adopted <- nil
	}
	if err != nil {
		if errorsIsPermission(err) {
			return fmt.Errorf("pod %q: creating the pod's namespaces (%s) needs root or CAP_SYS_ADMIN: %w",
				p.name, p.namespaceNames(), err)
		}
		return fmt.Errorf("pod %q: start infra: %w", p.name, err)
	}
	// The infra closes its end of the pipe once it is ready or has failed,
	// and dies if this program dies, so this read ends.
	data, err := io.ReadAll(r)
	reports, perr := shim.ReadReports(data)
	aerr := <-adopted
	ready := err == nil && perr == nil && aerr == nil && len(reports) > 0 && reports[0].Ready
	if !ready {
		_ = infra.Signal(syscall.SIGKILL)
		<-infra.Done()
		infra.Release()
		msg := fmt.Sprintf("exited: %s", infra.State())
		if len(reports) > 0 && reports[0].Err != "" {
			msg = reports[0].Err
		} else if aerr != nil {
			msg = aerr.Error()
		}
		return fmt.Errorf("pod %q: infra: %s", p.name, msg)
	}
	// Before any container starts, so that none sees the network half
	// made.
	if err := p.setupNetwork(infra); err != nil {
		_ = infra.Signal(syscall.SIGKILL)
		<-infra.Done()
		infra.Release()
		return err
	}
	// Sysctls go in once the network is up, so that those of its
	// interfaces exist.
	err = p.applySysctls(infra)
	if err == nil && (p.runsImages() || p.spec.customEtc()) {
		if err = p.writeEtcFiles(); err != nil {
			err = fmt.Errorf("pod %q: /etc files: %w", p.name, err)
		}
	}
	if err != nil {
		_ = infra.Signal(syscall.SIGKILL)
		<-infra.Done()
		infra.Release()
		_ = p.removeNetwork()
		return err
	}
	p.mu.Lock()
	p.infra = infra
	p.status.InfraPID = infra.Pid()
	p.emitLocked(Event{Reason: EventStarted, Role: RoleInfra, Container: "",
		Message: fmt.Sprintf("Started infra process %d holding the pod's namespaces", infra.Pid())})
	p.setConditionLocked(PodReadyToStartContainers, true, "", "")
	if len(p.spec.InitContainers) == 0 {
		p.setConditionLocked(Initialized, true, "", "")
	}
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

func (p *Pod) namespaceNames() string {
	names := "net, uts, ipc"
	if p.spec.Network.Mode == NetworkHost {
		names = "uts, ipc"
	}
	if p.spec.ShareProcessNamespace {
		names += ", pid"
	}
	return names
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

// cgroupConfig says where the pod's cgroups go.
func (p *Pod) cgroupConfig() cgroup.Config {
	return cgroup.Config{Parent: p.cfg.cgroupParent, Nested: p.cfg.cgroupNested}
}

// createCgroup removes the cgroups that pods of dead supervisors left
// behind, and creates this pod's.
func (p *Pod) createCgroup() error {
	removed, err := cgroup.CleanupStale(p.cgroupConfig())
	if err != nil {
		p.log.Warn("cannot remove stale cgroups", zap.Error(err))
	}
	if len(removed) > 0 {
		p.log.Info("removed cgroups left by pods whose supervisor died", zap.Strings("cgroups", removed))
	}
	g, err := cgroup.NewPod(p.cgroupConfig(), p.ownerName, p.spec.Resources.limits())
	if err != nil {
		if errorsIsPermission(err) {
			return fmt.Errorf("pod %q: creating the pod's cgroup needs root: %w", p.name, err)
		}
		return fmt.Errorf("pod %q: %w", p.name, err)
	}
	p.mu.Lock()
	p.cgroup = g
	p.mu.Unlock()
	return nil
}

// cleanupHost removes what the pod made on the host besides processes: its
// veth pair, its cgroups and its volumes.
func (p *Pod) cleanupHost() error {
	return errors.Join(p.removeNetwork(), p.removeCgroups(), p.removeVolumes())
}

// removeCgroups kills whatever is left in the pod's cgroups and removes
// them, the containers' first.
func (p *Pod) removeCgroups() error {
	p.mu.Lock()
	var groups []cgroup.Group
	for _, m := range p.members {
		if m.cgroup != nil {
			groups = append(groups, m.cgroup)
			m.cgroup = nil
		}
	}
	for _, g := range []*cgroup.Group{&p.infraCgroup, &p.cgroup} {
		if *g != nil {
			groups = append(groups, *g)
			*g = nil
		}
	}
	p.mu.Unlock()
	var errs []error
	for _, g := range groups {
		if err := g.Kill(); err != nil {
			errs = append(errs, err)
		}
		if err := g.Delete(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pod %q: %w", p.name, err)
	}
	return nil
}

// attach returns hooks that start cmd inside g, after join (when not nil)
// has run, and a function to call once the start is over.
func attach(g cgroup.Group, cmd *exec.Cmd, join func() error) (proc.Hooks, func(), error) {
	enter, leave, done, err := g.Attach(cmd.SysProcAttr)
	if err != nil {
		return proc.Hooks{}, nil, err
	}
	before := func() error {
		if join != nil {
			if err := join(); err != nil {
				return err
			}
		}
		if enter != nil {
			return enter()
		}
		return nil
	}
	return proc.Hooks{Before: before, After: leave}, done, nil
}
