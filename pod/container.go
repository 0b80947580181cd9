package pod

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/proc"
	"github.com/podkit/podkit/internal/shim"
)

// logDrainTimeout bounds how long a container's exit waits for the last of its
// output when orphans in a shared PID namespace still hold its pipes.
const logDrainTimeout = 250 * time.Millisecond

// runContainer supervises one container until it will not run again: it
// starts the container, waits for it, and restarts it per the restart policy
// with the crash-loop back-off.
func (p *Pod) runContainer(m *member) {
	defer p.runnerFinished(m)
	for {
		term, ranFor, ok := p.runOnce(m)
		if !ok {
			return
		}
		p.mu.Lock()
		if p.stopping || !p.restarts(m, term.ExitCode) {
			p.mu.Unlock()
			return
		}
		delay := m.backoff.next(p.cfg.backoff, ranFor)
		cs := &p.status.Containers[m.index]
		cs.LastTerminationState = ContainerState{Terminated: &term}
		if delay > 0 {
			msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", delay, m.spec.Name, p.name)
			cs.State = ContainerState{Waiting: &StateWaiting{Reason: ReasonCrashLoopBackOff, Message: msg}}
			p.emitLocked(Event{Reason: EventBackOff, Type: EventWarning, Container: m.spec.Name, Role: m.role,
				Delay: delay, Message: "Back-off restarting failed container: " + msg})
		}
		p.mu.Unlock()
		if delay > 0 {
			t := p.clock.NewTimer(delay)
			select {
			case <-t.C():
			case <-p.stopCh:
				t.Stop()
				return
			}
		}
	}
}

// restarts reports whether m is restarted after it ended with exitCode: a
// sidecar always; otherwise as the first of its restart rules that matches
// says; failing that, an init container only after a failure, and then
// unless the pod's policy is Never, and a main container per its own restart
// policy, or the pod's.
func (p *Pod) restarts(m *member, exitCode int) bool {
	if m.role == RoleSidecar {
		return true
	}
	if m.role == RoleMain || exitCode != 0 {
		for _, r := range m.spec.RestartRules {
			if r.matches(exitCode) {
				return true
			}
		}
	}
	if m.role == RoleInit {
		return exitCode != 0 && p.spec.RestartPolicy != RestartNever
	}
	policy := p.spec.RestartPolicy
	if m.spec.RestartPolicy != "" {
		policy = m.spec.RestartPolicy
	}
	return policy.shouldRestart(exitCode)
}

// runOnce runs one instance of m to its end. ok is false if the pod was
// stopping and nothing was started.
func (p *Pod) runOnce(m *member) (term StateTerminated, ranFor time.Duration, ok bool) {
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		return term, 0, false
	}
	restart := m.lastExit != nil
	cs := &p.status.Containers[m.index]
	cs.State = ContainerState{Waiting: &StateWaiting{Reason: ReasonContainerCreating}}
	if m.logs != nil {
		m.prevLogs = m.logs
	}
	m.logs = newLogBuffer(p.cfg.logBufferBytes)
	close(m.logsSwapped)
	m.logsSwapped = make(chan struct{})
	logs := m.logs
	infraFD := p.infra.PidFD()
	p.mu.Unlock()

	var img *Image
	if m.spec.Image != "" && m.spec.Func == nil {
		var ok bool
		if img, ok = p.imageFor(m); !ok {
			return term, 0, false
		}
		if img.Release != nil {
			defer img.Release()
		}
	}
	if m.spec.ownsRoot() {
		defer p.removeRoot(m.spec)
	}
	// A failed attempt lets the next container start, as the kubelet
	// goes on to the next container.
	defer p.markLaunched(m)
	oomBefore := p.oomKills(m)
	inst, err := p.startInstance(m, logs, infraFD, img)
	if errors.Is(err, errNotStarted) {
		return term, 0, false
	}

	p.mu.Lock()
	startedAt := p.clock.Now()
	if restart {
		cs.RestartCount++
	}
	if err != nil {
		term = StateTerminated{ExitCode: 128, Reason: ReasonStartError, Message: err.Error(),
			StartedAt: startedAt, FinishedAt: startedAt}
		m.lastExit = &term
		cs.State = ContainerState{Terminated: &term}
		p.emitLocked(Event{Reason: EventFailed, Type: EventWarning, Container: m.spec.Name, Role: m.role,
			ExitCode: 128, Message: "Error: " + err.Error()})
		p.updatePhaseLocked()
		p.mu.Unlock()
		return term, 0, true
	}
	m.task = inst.task
	if img != nil {
		m.image = &img.Config
		cs.Image, cs.ImageID = img.Name, img.ID
	}
	cs.PID = inst.task.Pid()
	started := fmt.Sprintf("Started container %s (pid %d)", m.spec.Name, inst.task.Pid())
	if m.spec.Func != nil {
		started = fmt.Sprintf("Started in-process container %s", m.spec.Name)
	}
	p.emitLocked(Event{Reason: EventStarted, Container: m.spec.Name, Role: m.role, Message: started})
	// instCtx ends with the instance: it bounds its hooks and probes.
	instCtx, endInstance := context.WithCancel(p.values)
	defer endInstance()
	var postStart *LifecycleHandler
	if m.spec.Lifecycle != nil {
		postStart = m.spec.Lifecycle.PostStart
	}
	if postStart == nil {
		p.runningLocked(instCtx, m, inst, startedAt)
	}
	if p.stopping {
		// stop signalled the running containers before this one registered.
		sig := m.stopSignalLocked()
		if p.killed {
			sig = syscall.SIGKILL
		}
		p.signalLocked(m, sig, "pod is stopping")
	}
	p.mu.Unlock()

	if postStart != nil {
		// The instance is Running once its postStart hook has finished.
		hookDone := make(chan error, 1)
		go func() { hookDone <- p.runHook(instCtx, m, postStart) }()
		var err error
		select {
		case err = <-hookDone:
		case <-inst.task.Done():
			endInstance()
			err = <-hookDone
		}
		p.mu.Lock()
		switch {
		case m.task != inst.task:
		case err != nil:
			p.emitLocked(Event{Reason: EventFailedPostStartHook, Type: EventWarning, Container: m.spec.Name, Role: m.role,
				Message: fmt.Sprintf("PostStartHook failed: %v", err)})
			p.mu.Unlock()
			p.stopInstance(m, inst, p.gracePeriod(), "FailedPostStartHook")
			p.mu.Lock()
		default:
			p.runningLocked(instCtx, m, inst, startedAt)
		}
		p.mu.Unlock()
	}

	p.markLaunched(m)
	<-inst.task.Done()
	endInstance()
	term = inst.result()
	if term.ExitCode != 0 && p.oomKills(m) > oomBefore {
		term.Reason = ReasonOOMKilled
		term.Message = "the container exceeded its memory limit"
	}
	if msg := p.terminationMessage(m, term.ExitCode, logs); msg != "" {
		term.Message = msg
	}

	p.mu.Lock()
	m.task, m.image = nil, nil
	inst.task.Release()
	term.StartedAt, term.FinishedAt = startedAt, p.clock.Now()
	m.lastExit = &term
	cs.State = ContainerState{Terminated: &term}
	cs.PID = 0
	ev := Event{Reason: EventExited, Container: m.spec.Name, Role: m.role, ExitCode: term.ExitCode,
		Signal: term.Signal, ExitReason: term.Reason, Message: fmt.Sprintf("Container %s exited with code %d", m.spec.Name, term.ExitCode)}
	if term.Signal != 0 {
		ev.Message = fmt.Sprintf("Container %s was killed by %s (exit code %d)", m.spec.Name, signalName(term.Signal), term.ExitCode)
	}
	if term.Reason == ReasonOOMKilled {
		ev.Message = fmt.Sprintf("Container %s was OOMKilled: the kernel's OOM killer ended it on exceeding its memory limit (exit code %d)",
			m.spec.Name, term.ExitCode)
	}
	if term.ExitCode != 0 {
		ev.Type = EventWarning
	}
	p.emitLocked(ev)
	p.setReadyLocked(m, false)
	cs.Started = false
	p.mu.Unlock()
	return term, term.FinishedAt.Sub(startedAt), true
}

// runningLocked records that an instance of m runs, and starts its probes.
// Without probes a container has started, and is ready, once it runs; a
// startup probe decides the first, a readiness probe the second.
func (p *Pod) runningLocked(ctx context.Context, m *member, inst *instance, startedAt time.Time) {
	p.status.Containers[m.index].State = ContainerState{Running: &StateRunning{StartedAt: startedAt}}
	if m.spec.StartupProbe == nil {
		p.markStartedLocked(m)
		if m.spec.ReadinessProbe == nil {
			p.setReadyLocked(m, true)
		}
	}
	p.updatePhaseLocked()
	if m.spec.StartupProbe != nil || m.spec.LivenessProbe != nil || m.spec.ReadinessProbe != nil {
		p.probers.Add(1)
		go p.probe(ctx, m, inst)
	}
}

// markStartedLocked records that m has started.
func (p *Pod) markStartedLocked(m *member) {
	p.status.Containers[m.index].Started = true
	if !m.everStarted {
		m.everStarted = true
		close(m.started)
	}
}

// markLaunched records that the first attempt to start m is over; later
// calls do nothing.
func (p *Pod) markLaunched(m *member) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !m.everLaunched {
		m.everLaunched = true
		close(m.launched)
	}
}

// gateFD is the descriptor of an init's gate (shim.Setup.Gate): the
// second of its ExtraFiles, after the report pipe.
const gateFD = 4

// isTurn reports whether m may start its process now: it is not waiting
// for the container before it (see member.after).
func (p *Pod) isTurn(m *member) bool {
	if m.after == nil {
		return true
	}
	select {
	case <-m.after:
		return true
	default:
		return false
	}
}

// errNotStarted is the start error of a container that the pod stopped
// while it waited for its turn; it is not reported.
var errNotStarted = errors.New("the pod stopped before the container's turn to start")

// waitTurn blocks until the container before m has launched (see
// member.after), and returns errNotStarted if the pod stops first.
func (p *Pod) waitTurn(m *member) error {
	if m.after == nil {
		return nil
	}
	select {
	case <-m.after:
	case <-p.stopCh:
	}
	select {
	case <-p.stopCh:
		return errNotStarted
	default:
		return nil
	}
}

// runnerFinished records that m will not run again.
func (p *Pod) runnerFinished(m *member) {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(m.done)
	p.runners--
	if p.runners == 0 {
		close(p.runnersEnd)
	}
	if m.role == RoleMain {
		p.mains--
		if p.mains == 0 {
			close(p.mainsEnd)
		}
	}
}

// instance is one run of a container's process.
type instance struct {
	task     task
	shared   bool          // no init: the process is the command itself
	reports  *bufio.Reader // the init's report pipe
	pipe     *os.File
	logsDone chan struct{} // closed when both output streams reached EOF
}

// startInstance starts m's process in the pod's namespaces. Output goes to
// logs. Without a shared PID namespace the process is a podkit init in a new
// PID namespace, and startInstance returns once the init has started the
// command. In the shared PID namespace the command is started directly, or,
// when it has a security context to apply, through an init that sets itself
// up and then executes the command in its place. The command starts in
// m's turn (waitTurn); an init is set up before, and waits at its gate.
// startInstance returns errNotStarted if the pod stops before m's turn.
func (p *Pod) startInstance(m *member, logs *logBuffer, infraFD int, img *Image) (*instance, error) {
	c := m.spec
	if c.Func != nil {
		if err := p.waitTurn(m); err != nil {
			return nil, err
		}
		outR, outW := io.Pipe()
		errR, errW := io.Pipe()
		inst := &instance{task: p.startFunc(m, outW, errW), logsDone: make(chan struct{})}
		p.copyOutput(inst, outR, errR, logs, c)
		return inst, nil
	}
	argv := append(append([]string(nil), c.Command...), c.Args...)
	env := p.containerEnv(c)
	setup := c.SecurityContext.setup()
	setup.FS = p.filesystem(c)
	var path, dir string
	if img != nil {
		var err error
		if argv, err = imageCommand(c, img.Config); err != nil {
			return nil, err
		}
		env = p.imageEnv(c, img.Config)
		if setup.FS, err = p.prepareImageRoot(c, img); err != nil {
			return nil, err
		}
		// The init finds the command, enters the working directory and
		// resolves the image's user inside the image, once it is there.
		path, dir = argv[0], "/"
		setup.FS.Dir = cmp.Or(c.WorkingDir, img.Config.WorkingDir, "/")
		if setup, err = imageSetup(c, setup, img.Config); err != nil {
			return nil, err
		}
	} else {
		var err error
		if path, err = lookPath(c.RootFS, argv[0], env); err != nil {
			return nil, err
		}
		if sc := c.SecurityContext; sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot && sc.RunAsUser == nil && os.Geteuid() == 0 {
			return nil, errors.New("container has runAsNonRoot and would run as root, the supervising program's user: set runAsUser")
		}
		if c.ownsRoot() {
			if setup.FS, err = p.prepareHostView(c); err != nil {
				return nil, err
			}
		}
		// The working directory of a container with a root filesystem is
		// entered by its init, inside that filesystem; the init starts in
		// the rootfs.
		dir = cmp.Or(c.WorkingDir, "/")
		if c.RootFS != "" {
			dir = c.RootFS
		} else if fi, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("working directory: %w", err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("working directory %q: not a directory", dir)
		}
	}
	if setup.FS.Rootfs != "" && img == nil && p.spec.customEtc() {
		// An image's container has them already (prepareImageRoot).
		setup.FS.Files = append(setup.FS.Files, p.etcFiles()...)
	}
	if setup.FS.Rootfs != "" {
		tm, err := p.terminationFile(c)
		if err != nil {
			return nil, err
		}
		setup.FS.Files = append(setup.FS.Files, tm)
	}
	shared := p.spec.ShareProcessNamespace
	useInit := !shared || !setup.Empty()
	setup.Exec = shared
	var newNS uintptr
	if !setup.FS.Empty() {
		newNS = unix.CLONE_NEWNS
	}

	var pipes pipeSet
	defer pipes.closeAll()
	outR, outW, err := pipes.new()
	if err != nil {
		return nil, err
	}
	errR, errW, err := pipes.new()
	if err != nil {
		return nil, err
	}
	// An init sets the container up while the container before it
	// starts, and waits at its gate to start the command in its turn.
	var gateR, gateW *os.File
	if useInit && !p.isTurn(m) {
		if gateR, gateW, err = pipes.new(); err != nil {
			return nil, err
		}
		setup.Gate = gateFD
	}
	var (
		cmd            *exec.Cmd
		join           func() error
		statusR, statW *os.File
	)
	switch {
	case !useInit:
		// Joins the pod's shared PID namespace, and dies with its PID 1,
		// the infra.
		cmd = &exec.Cmd{Path: path, Args: argv, Env: env}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		join = proc.Join(infraFD, p.sandboxNamespaces()|unix.CLONE_NEWPID)
	default:
		if statusR, statW, err = pipes.new(); err != nil {
			return nil, err
		}
		initEnv, err := shim.WithSetup(env, setup)
		if err != nil {
			return nil, err
		}
		cmd = shim.InitCommand(path, argv, initEnv)
		cmd.ExtraFiles = []*os.File{statW}
		if gateR != nil {
			cmd.ExtraFiles = append(cmd.ExtraFiles, gateR)
		}
		if shared {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Cloneflags: newNS}
			join = proc.Join(infraFD, p.sandboxNamespaces()|unix.CLONE_NEWPID)
		} else {
			// PID 1 of a new PID namespace: it dies with this program
			// through its parent-death signal, and its namespace with it.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Cloneflags: unix.CLONE_NEWPID | newNS, Pdeathsig: syscall.SIGKILL}
			join = proc.Join(infraFD, p.sandboxNamespaces())
		}
	}
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, outW, errW
	if gateW == nil {
		if err := p.waitTurn(m); err != nil {
			return nil, err
		}
	}
	pr, err := p.startInCgroup(m, cmd, join)
	pipes.closeChildEnds(outW, errW, statW, gateR)
	if err != nil {
		return nil, err
	}
	inst := &instance{task: pr, shared: shared, logsDone: make(chan struct{})}
	pipes.keep(outR, errR, statusR)
	p.copyOutput(inst, outR, errR, logs, c)
	if !useInit {
		return inst, nil
	}
	if gateW != nil {
		turn := p.waitTurn(m)
		if turn == nil {
			_, turn = gateW.Write([]byte{1})
		}
		pipes.closeChildEnds(gateW) // without the byte, the init gives up
		if errors.Is(turn, errNotStarted) {
			<-pr.Done()
			<-inst.logsDone
			statusR.Close()
			p.mu.Lock()
			pr.Release()
			p.mu.Unlock()
			return nil, errNotStarted
		}
	}
	var rs []shim.Report
	var rerr error
	if shared {
		// The init executes the command in its place: the report pipe
		// closes without a report when that worked.
		data, err := io.ReadAll(statusR)
		statusR.Close()
		rs, rerr = shim.ReadReports(data)
		if err == nil && rerr == nil && len(rs) == 0 {
			return inst, nil
		}
	} else {
		inst.pipe, inst.reports = statusR, bufio.NewReader(statusR)
		line, err := inst.reports.ReadBytes('\n')
		rs, rerr = shim.ReadReports(line)
		if err == nil && rerr == nil && len(rs) == 1 && rs[0].Ready {
			return inst, nil
		}
		statusR.Close()
	}
	// The init could not start the command; it has exited or is exiting.
	<-pr.Done()
	<-inst.logsDone
	p.mu.Lock()
	pr.Release()
	p.mu.Unlock()
	if len(rs) > 0 && rs[0].Err != "" {
		return nil, errors.New(rs[0].Err)
	}
	return nil, fmt.Errorf("init exited before starting the command: %s", pr.State())
}

// pipeSet closes the pipes of a start that failed half-way.
type pipeSet struct{ files []*os.File }

func (s *pipeSet) new() (r, w *os.File, err error) {
	if r, w, err = os.Pipe(); err == nil {
		s.files = append(s.files, r, w)
	}
	return r, w, err
}

// closeChildEnds closes the ends handed to the child, which has them now.
func (s *pipeSet) closeChildEnds(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
			s.forget(f)
		}
	}
}

// keep takes files out of the set: their new owner closes them.
func (s *pipeSet) keep(fs ...*os.File) {
	for _, f := range fs {
		s.forget(f)
	}
}

func (s *pipeSet) forget(f *os.File) {
	for i, g := range s.files {
		if g == f {
			s.files = append(s.files[:i], s.files[i+1:]...)
			return
		}
	}
}

func (s *pipeSet) closeAll() {
	for _, f := range s.files {
		f.Close()
	}
}

// startInCgroup starts cmd in m's cgroup, creating the cgroup at the first
// start.
func (p *Pod) startInCgroup(m *member, cmd *exec.Cmd, join func() error) (*proc.Process, error) {
	p.mu.Lock()
	g, podGroup := m.cgroup, p.cgroup
	p.mu.Unlock()
	if g == nil {
		var err error
		if g, err = podGroup.Child(m.spec.Name, m.spec.Resources.limits()); err != nil {
			return nil, err
		}
		p.mu.Lock()
		m.cgroup = g
		p.mu.Unlock()
	}
	hooks, done, err := attach(g, cmd, join)
	if err != nil {
		return nil, err
	}
	defer done()
	return proc.Start(cmd, hooks)
}

// oomKills returns how many processes of m the OOM killer has killed.
func (p *Pod) oomKills(m *member) uint64 {
	p.mu.Lock()
	g := m.cgroup
	p.mu.Unlock()
	if g == nil {
		return 0
	}
	n, err := g.OOMKills()
	if err != nil {
		p.log.Warn("cannot read OOM kills", zap.String("container", m.spec.Name), zap.Error(err))
	}
	return n
}

// copyOutput starts the goroutines that read the container's output.
func (p *Pod) copyOutput(inst *instance, outR, errR io.ReadCloser, logs *logBuffer, c Container) {
	var wg sync.WaitGroup
	wg.Add(2)
	p.copiers.Add(2)
	for _, s := range []struct {
		r      io.ReadCloser
		stream Stream
		tee    io.Writer
	}{{outR, Stdout, c.Stdout}, {errR, Stderr, c.Stderr}} {
		go func() {
			defer p.copiers.Done()
			defer wg.Done()
			defer s.r.Close()
			copyLog(s.r, s.stream, logs, s.tee, p.clock.Now)
		}()
	}
	go func() {
		wg.Wait()
		close(inst.logsDone)
	}()
}

// result returns how the instance ended. It must be called after its
// process is done; it waits for the process's output to be read.
func (inst *instance) result() StateTerminated {
	if ft, ok := inst.task.(*funcTask); ok {
		<-inst.logsDone
		return ft.result()
	}
	ps := inst.task.(*proc.Process).State()
	t := StateTerminated{ExitCode: exitCode(ps), Signal: exitSignal(ps)}
	if inst.reports != nil {
		rest, _ := io.ReadAll(inst.reports)
		inst.pipe.Close()
		rs, _ := shim.ReadReports(rest)
		for _, r := range rs {
			if r.Exited {
				t.ExitCode, t.Signal = r.ExitCode, syscall.Signal(r.Signal)
			}
		}
	}
	if inst.shared {
		select {
		case <-inst.logsDone:
		case <-time.After(logDrainTimeout):
		}
	} else {
		<-inst.logsDone
	}
	t.Reason = ReasonCompleted
	if t.ExitCode != 0 {
		t.Reason = ReasonError
	}
	return t
}

// containerEnv returns the environment of c's processes.
func (p *Pod) containerEnv(c Container) []string {
	env := []string{"PATH=" + defaultPath, "HOSTNAME=" + p.spec.Hostname}
	return append(append(env, c.Env...), p.fieldEnv(c)...)
}

// imageEnv is the environment of c run from an image with configuration
// img: the defaults, then the image's, then the container's.
func (p *Pod) imageEnv(c Container, img ImageConfig) []string {
	env := []string{"PATH=" + defaultPath, "HOSTNAME=" + p.spec.Hostname}
	env = append(env, img.Env...)
	return append(append(env, c.Env...), p.fieldEnv(c)...)
}

// lookPath finds file the way a shell would with the PATH in env (the last
// one wins), inside rootfs when it is set. A name containing a slash is used
// as it is. The path returned is the one the container sees.
func lookPath(rootfs, file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		candidate := filepath.Join(dir, file)
		if rootfs == "" {
			if fi, err := os.Stat(candidate); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return candidate, nil
			}
			continue
		}
		// Symbolic links in a root filesystem point into it, not into the
		// host's: resolve them inside it.
		inRoot, err := securejoin.SecureJoin(rootfs, candidate)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(inRoot); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("executable file %q not found in $PATH (%s): %w", file, path, fs.ErrNotExist)
}
