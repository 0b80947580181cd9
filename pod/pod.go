package pod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/podkit/podkit/internal/cgroup"
	"github.com/podkit/podkit/internal/podnet"
	"github.com/podkit/podkit/internal/proc"
)

// Pod is a group of host processes sharing network (unless the pod uses the
// host's), IPC and UTS namespaces (and optionally a PID namespace),
// supervised with Kubernetes' semantics.
//
// A Pod is created with New, started once with Run or Start, and is finished
// when Run or Wait returns: by then every process it started has exited and
// been reaped. Status, Logs, Subscribe and Exec are safe to call from any
// goroutine at any time.
//
// The goroutines a pod runs, and who stops them:
//   - Start starts the infra process, with a thread that waits for it, one
//     goroutine that supervises the pod and one that starts the containers
//     in order; each container then has a goroutine of its own for as long
//     as it may run (a sidecar's until the pod stops it), and each running
//     instance a thread that waits for its process (or the goroutine of its
//     function) and three goroutines that copy its output and tell when it
//     is all read. The supervisor stops the containers when the pod ends,
//     kills the infra last, and waits for all of these before Wait returns.
//   - A running instance with probes has a goroutine per probe kind; a
//     postStart hook, each preStop hook and the grace-period timer of a
//     stop run in goroutines of their own. They end with the instance or
//     the stop, and have all exited when Wait returns.
//   - The first DialContext, Listen, ListenPacket or HTTP probe or hook
//     starts the pod's dialer: one locked thread inside the pod's network
//     namespace, stopped once the containers have ended, before Wait
//     returns.
//   - Each published port (Spec.Ports) has a proxy serving it, started by
//     Start and stopped (after its open connections drain) once the
//     containers have ended, before Wait returns.
//   - Subscribe starts one goroutine per subscription; see Subscribe.
//
// Nothing else outlives a call: when Wait returns only the goroutines of
// subscriptions whose channels were not yet drained may remain, and they
// exit as soon as their last event is read or their ctx is done.
type Pod struct {
	name    string
	uid     string // WithUID's or random; only read after New
	spec    Spec   // as validated, with defaults; only read after New
	cfg     config // what the options set; only read after New
	log     *zap.Logger
	clock   clock.Clock
	members []*member
	events  broker
	// httpDial connects the GETs of HTTP probes and hooks (httpGet); it
	// is dialHTTP, which internal tests may replace before Start.
	httpDial httpDialer

	// Set by Start before any container starts, then only read.
	ownerName string // names the pod's cgroup, state directory and veth
	// values carries the values of the ctx given to Start (trace IDs,
	// loggers) without its cancellation (context.WithoutCancel). Every
	// context the pod makes for work on a container's behalf (an
	// in-process container's function, hooks, probes) derives from it, so
	// the values reach that work while the pod alone decides when it ends.
	values      context.Context
	volumePaths map[string]string // volume name to its directory on the host
	// The pod's addresses as the network set-up found them (Status.PodIP
	// and HostIP), for FieldEnv.
	podIP, hostIP string

	// volMu serialises the writes of projected volumes (createVolumes,
	// UpdateVolume, removeVolumes); it is never held with mu.
	volMu        sync.Mutex
	volumesReady bool // createVolumes has written every volume; guarded by volMu
	volumesGone  bool // removeVolumes has begun; guarded by volMu

	mu      sync.Mutex
	started bool
	status  Status
	infra   *proc.Process
	dialer  *dialer // dials from inside the pod; started by DialContext
	// dialerStopped is set when the pod's containers have ended: no
	// dialer starts any more.
	dialerStopped bool
	ports         *publisher   // the published ports, once they listen
	cgroup        cgroup.Group // the pod's cgroup while it exists
	link          *podnet.Link // the bridged pod's veth pair while it exists
	// The infra's cgroup, in the pod's, while it exists.
	infraCgroup cgroup.Group
	stopping    bool          // no more starts; set once
	killed      bool          // the grace period is over: SIGKILL on sight
	stopCh      chan struct{} // closed when stopping is set
	killCh      chan struct{} // closed by Kill
	killOnce    sync.Once
	runners     int           // container goroutines still going
	runnersEnd  chan struct{} // closed when runners drops to 0
	mains       int           // main containers that may still run
	mainsEnd    chan struct{} // closed when mains drops to 0

	copiers sync.WaitGroup // log copying goroutines
	probers sync.WaitGroup // probe goroutines
	execs   sync.WaitGroup // Exec calls in flight

	done chan struct{} // closed when the pod has finished
	err  error         // what Wait returns; set before done is closed
}

// member is one container of the pod and its supervision state.
type member struct {
	spec  Container
	role  Role
	index int // into Status.Containers

	// Guarded by Pod.mu.
	task     task       // the running instance, or nil
	logs     *logBuffer // the current instance's output
	prevLogs *logBuffer // the previous instance's output
	// logsSwapped is closed, and replaced, when logs is replaced.
	logsSwapped chan struct{}
	lastExit    *StateTerminated // how the last instance ended, nil before
	backoff     backoffState
	cgroup      cgroup.Group // created at the first start
	image       *ImageConfig // the running instance's image, or nil
	// imageStop says that the spec sets no stop signal, so the image's
	// STOPSIGNAL, when it has one, stops the container.
	imageStop bool

	started     chan struct{} // closed when the container first runs
	everStarted bool          // started is closed
	done        chan struct{} // closed when the container will not run again
	// launched is closed once the first attempt to start the container
	// is over: its process runs and its postStart hook has finished, or
	// the attempt failed (a pull, the start, the hook).
	launched     chan struct{}
	everLaunched bool // launched is closed

	// after, for a main container, is the launched channel of the main
	// container declared before it: its first start waits for it, so
	// that main containers start one after another in the spec's order,
	// as the kubelet starts them. Set before its goroutine starts, then
	// only read.
	after <-chan struct{}
}

// New validates spec and returns a pod ready to start; opts set what the
// host decides (logger, clock, directories, cgroup parent, back-off). The
// name must be a DNS-1123 subdomain. New copies spec: later changes to it
// do not reach the pod. An invalid spec gives an error wrapping
// ErrInvalidSpec that names every bad field and value; nothing is started.
func New(name string, spec Spec, opts ...Option) (*Pod, error) {
	cfg := config{
		logger:         zap.NewNop(),
		clock:          clock.RealClock{},
		logBufferBytes: DefaultLogBufferBytes,
		stateDir:       DefaultStateDir,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	p := &Pod{
		name:       name,
		spec:       spec.withDefaults(name),
		cfg:        cfg,
		clock:      cfg.clock,
		stopCh:     make(chan struct{}),
		killCh:     make(chan struct{}),
		runnersEnd: make(chan struct{}),
		mainsEnd:   make(chan struct{}),
		done:       make(chan struct{}),
	}
	p.httpDial = p.dialHTTP
	if p.uid = cfg.uid; p.uid == "" {
		uid, err := newUID()
		if err != nil {
			return nil, fmt.Errorf("pod %q: uid: %w", name, err)
		}
		p.uid = uid
	}
	unsetStop := make(map[string]bool)
	for _, c := range append(append([]Container(nil), spec.InitContainers...), spec.Containers...) {
		unsetStop[c.Name] = c.StopSignal == 0 && c.Image != "" && c.Func == nil
	}
	add := func(c Container, role Role) {
		p.members = append(p.members, &member{spec: c, role: role, index: len(p.members), imageStop: unsetStop[c.Name],
			logsSwapped: make(chan struct{}), started: make(chan struct{}), done: make(chan struct{}),
			launched: make(chan struct{})})
	}
	for _, c := range p.spec.InitContainers {
		if c.RestartPolicy == RestartAlways {
			add(c, RoleSidecar)
		} else {
			add(c, RoleInit)
		}
	}
	for _, c := range p.spec.Containers {
		add(c, RoleMain)
	}
	if err := p.validate(spec.Hostname); err != nil {
		return nil, err
	}
	p.cfg.backoff = cfg.backoff.withDefaults()
	p.log = cfg.logger.Named("pod").With(zap.String("pod", name))
	p.status.Phase = PhasePending
	for _, m := range p.members {
		reason := ReasonContainerCreating
		if m.role == RoleMain && len(p.spec.InitContainers) > 0 {
			reason = ReasonPodInitializing
		}
		p.status.Containers = append(p.status.Containers, ContainerStatus{
			Name:  m.spec.Name,
			Role:  m.role,
			State: ContainerState{Waiting: &StateWaiting{Reason: reason}},
		})
	}
	return p, nil
}

// hostnameFor derives a hostname from a pod name the way the kubelet does:
// cut to 63 characters, without trailing '-' or '.'.
func hostnameFor(name string) string {
	if len(name) > maxHostnameLength {
		name = name[:maxHostnameLength]
	}
	return strings.TrimRight(name, "-.")
}

// Name returns the pod's name.
func (p *Pod) Name() string { return p.name }

// Hostname returns the hostname of the pod's UTS namespace.
func (p *Pod) Hostname() string { return p.spec.Hostname }

// Status returns a snapshot of the pod's status.
func (p *Pod) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status.clone()
}

// Run starts the pod and blocks until it is terminal or ctx is done, then
// stops it gracefully (see Start) and returns once every process of the pod
// has exited and been reaped. It returns what Wait returns.
func (p *Pod) Run(ctx context.Context) error {
	if err := p.Start(ctx); err != nil {
		return err
	}
	return p.Wait()
}

// Start creates the pod's namespaces by starting its infra process, then
// starts the containers in the background and returns. It blocks only while
// the infra process starts. The pod then runs until it is terminal (every
// main container has ended and will not be restarted) or ctx is done. When
// ctx is done the pod is stopped: each container gets its stop signal, and
// whatever is still alive when the termination grace period ends is killed
// with SIGKILL. Use Wait to wait for the end.
//
// Start starts the goroutines listed on Pod, and returns once the
// infrastructure is up; all of them have exited when Wait returns.
//
// The values of ctx (trace IDs, loggers) reach what the pod runs on a
// container's behalf: the context of an in-process container's function,
// of its probes (a Probe.Func's, an HTTP or gRPC GET's) and of its hooks.
// Their cancellation is the pod's: a stop signal, a probe's timeout, the
// grace period; ctx being done stops the pod as above.
//
// If Start fails nothing of the pod is left running, and Wait returns the
// same error. Start may be called only once.
func (p *Pod) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return fmt.Errorf("pod %q: %w", p.name, ErrAlreadyStarted)
	}
	p.started = true
	p.values = context.WithoutCancel(ctx)
	p.status.StartTime = p.clock.Now()
	for _, t := range []ConditionType{PodReadyToStartContainers, Initialized, ContainersReady, Ready} {
		p.setConditionLocked(t, false, "", "")
	}
	p.emitLocked(Event{Reason: EventPodPhase, Phase: PhasePending, Message: "pod is Pending"})
	p.mu.Unlock()

	if err := p.startInfra(ctx); err != nil {
		err = errors.Join(err, p.cleanupHost())
		p.finish(err, "SandboxCreationFailed", err.Error())
		return err
	}
	if err := context.Cause(ctx); ctx.Err() != nil {
		p.mu.Lock()
		p.stopping, p.killed = true, true
		close(p.stopCh)
		p.mu.Unlock()
		p.teardownInfra()
		err = errors.Join(fmt.Errorf("pod %q: start: %w", p.name, err), p.cleanupHost())
		p.finish(err, "", "")
		return err
	}

	if err := p.publishPorts(); err != nil {
		p.mu.Lock()
		p.stopping, p.killed = true, true
		close(p.stopCh)
		p.mu.Unlock()
		p.stopDialer()
		p.teardownInfra()
		err = errors.Join(err, p.cleanupHost())
		p.finish(err, "PortPublishingFailed", err.Error())
		return err
	}

	p.mu.Lock()
	for _, m := range p.members {
		p.runners++
		if m.role == RoleMain {
			p.mains++
		}
	}
	p.mu.Unlock()
	go p.runMembers()
	go p.supervise(ctx)
	return nil
}

// runMembers runs the init containers one at a time, and then the main
// containers, started in their order. If an init container fails for good, or the pod stops first,
// the containers after it never run.
func (p *Pod) runMembers() {
	var mains []*member
	for i, m := range p.members {
		switch m.role {
		case RoleMain:
			mains = append(mains, m)
			continue
		case RoleSidecar:
			// The next container starts once the sidecar runs.
			go p.runContainer(m)
			select {
			case <-m.started:
				continue
			case <-p.stopCh:
				for _, rest := range p.members[i+1:] {
					p.runnerFinished(rest)
				}
				return
			}
		}
		p.runContainer(m)
		p.mu.Lock()
		ok := m.lastExit != nil && m.lastExit.ExitCode == 0 && !p.stopping
		p.mu.Unlock()
		if !ok {
			for _, rest := range p.members[i+1:] {
				p.runnerFinished(rest)
			}
			return
		}
	}
	p.mu.Lock()
	if !p.conditionLocked(Initialized) {
		p.setConditionLocked(Initialized, true, "", "")
	}
	for _, m := range mains {
		cs := &p.status.Containers[m.index]
		if cs.State.Waiting != nil && cs.State.Waiting.Reason == ReasonPodInitializing {
			cs.State.Waiting.Reason = ReasonContainerCreating
		}
	}
	p.mu.Unlock()
	// Each main container prepares its start at once (image, root
	// filesystem, cgroup, its init set up), and starts its command after
	// the one before it has started and its postStart hook has finished.
	for i, m := range mains {
		if i > 0 {
			m.after = mains[i-1].launched
		}
		go p.runContainer(m)
	}
}

// Wait blocks until the pod has finished and every process it started has
// been reaped, and returns:
//   - nil if the pod Succeeded;
//   - the cause of ctx (see context.Cause) if the pod was stopped because the
//     ctx given to Start was done;
//   - an *ExitError for the first failed init or main container if the pod
//     Failed;
//   - an error wrapping ErrDeadlineExceeded if the pod ran past its active
//     deadline;
//   - an error wrapping ErrSandboxDied if the infra process died;
//   - Start's error if Start failed.
//
// Wait may be called any number of times, from any goroutine.
func (p *Pod) Wait() error {
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !started {
		return fmt.Errorf("pod %q: %w", p.name, ErrNotStarted)
	}
	<-p.done
	return p.err
}

// Done returns a channel closed when the pod has finished, as Wait returns.
func (p *Pod) Done() <-chan struct{} { return p.done }

// supervise waits for the pod's end and tears it down.
func (p *Pod) supervise(ctx context.Context) {
	var (
		err        error
		failReason string // the pod's status reason, if the pod itself failed
		why        string // why the containers are stopped
		deadline   <-chan time.Time
	)
	if d := p.spec.ActiveDeadline; d > 0 {
		p.mu.Lock()
		left := d - p.clock.Since(p.status.StartTime)
		p.mu.Unlock()
		t := p.clock.NewTimer(max(left, 0))
		defer t.Stop()
		deadline = t.C()
	}
	select {
	case <-ctx.Done():
		err = context.Cause(ctx)
		why = "pod stopped: " + err.Error()
	case <-p.mainsEnd:
		why = "every main container has completed"
	case <-p.infra.Done():
		err = fmt.Errorf("pod %q: %w (%s)", p.name, ErrSandboxDied, p.infra.State())
		failReason, why = "SandboxDied", err.Error()
	case <-deadline:
		err = fmt.Errorf("pod %q: %w (%s)", p.name, ErrDeadlineExceeded, p.spec.ActiveDeadline)
		failReason, why = ReasonDeadlineExceeded, "the pod's active deadline ("+p.spec.ActiveDeadline.String()+") passed"
	case <-p.killCh:
		err = fmt.Errorf("pod %q: %w", p.name, ErrKilled)
		why = "pod killed"
	}
	// The published ports stop accepting now, and keep their open
	// connections until the containers have ended.
	portsCtx, endPorts := context.WithCancel(p.values)
	portsDone := make(chan struct{})
	go func() {
		defer close(portsDone)
		p.stopPorts(portsCtx)
	}()
	p.stop(why)
	endPorts()
	<-portsDone
	p.stopDialer()
	// The veth pair goes first, while the infra still holds the pod's
	// network namespace: its removal cannot race the kernel's then.
	nerr := p.removeNetwork()
	p.teardownInfra()
	if cerr := errors.Join(nerr, p.cleanupHost()); cerr != nil {
		p.log.Warn("cannot remove the pod's veth pair, cgroups or volumes", zap.Error(cerr))
		err = errors.Join(err, cerr)
	}
	p.finish(err, failReason, "")
}

// stop stops every container: the stop signal first, to the init and main
// containers, then, once they have all ended, to each sidecar in reverse
// order of declaration, one at a time; whatever is left when the grace
// period ends gets SIGKILL. It returns once every container goroutine has
// finished.
func (p *Pod) stop(why string) {
	p.mu.Lock()
	if !p.stopping {
		p.stopping = true
		close(p.stopCh)
	}
	p.mu.Unlock()
	grace := p.clock.NewTimer(p.gracePeriod())
	defer grace.Stop()

	var first, sidecars []*member
	for _, m := range p.members {
		if m.role == RoleSidecar {
			sidecars = append([]*member{m}, sidecars...)
		} else {
			first = append(first, m)
		}
	}
	waves := [][]*member{first}
	for _, s := range sidecars {
		waves = append(waves, []*member{s})
	}
	// The grace period bounds preStop hooks too: hookCtx ends with it.
	hookCtx, endHooks := context.WithCancel(p.values)
	defer endHooks()
	expired := make(chan struct{})
	go func() {
		select {
		case <-grace.C():
		case <-p.killCh:
		case <-hookCtx.Done():
			return
		}
		close(expired)
		endHooks()
	}()
	for _, wave := range waves {
		select {
		case <-p.killCh:
			p.killAll()
			<-p.runnersEnd
			return
		default:
		}
		p.runPreStopHooks(hookCtx, wave)
		select {
		case <-expired:
			// The hooks used the whole grace period: no stop signal
			// now, only SIGKILL.
			p.killAll()
			<-p.runnersEnd
			return
		default:
		}
		p.mu.Lock()
		for _, m := range wave {
			if m.task != nil {
				p.signalLocked(m, m.stopSignalLocked(), why)
			}
		}
		p.mu.Unlock()
		for _, m := range wave {
			select {
			case <-m.done:
			case <-expired:
				p.killAll()
				<-p.runnersEnd
				return
			}
		}
	}
	<-p.runnersEnd
}

// runPreStopHooks runs the preStop hooks of the running containers among
// ms, all at once, and returns when they have finished or ctx is done.
func (p *Pod) runPreStopHooks(ctx context.Context, ms []*member) {
	var wg sync.WaitGroup
	for _, m := range ms {
		p.mu.Lock()
		running := m.task != nil
		p.mu.Unlock()
		if !running || m.spec.Lifecycle == nil || m.spec.Lifecycle.PreStop == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.runPreStopHook(ctx, m)
		}()
	}
	wg.Wait()
}

// runPreStopHook runs m's preStop hook until it finishes or ctx is done; a
// failure is an event, and does not hold the stop up.
func (p *Pod) runPreStopHook(ctx context.Context, m *member) {
	if err := p.runHook(ctx, m, m.spec.Lifecycle.PreStop); err != nil {
		p.mu.Lock()
		p.emitLocked(Event{Reason: EventFailedPreStopHook, Type: EventWarning, Container: m.spec.Name, Role: m.role,
			Message: fmt.Sprintf("PreStopHook failed: %v", err)})
		p.mu.Unlock()
	}
}

// killAll sends SIGKILL to every running container, and to any that starts
// from now on.
func (p *Pod) killAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.killed = true
	why := "termination grace period (" + p.gracePeriod().String() + ") expired"
	select {
	case <-p.killCh:
		why = "pod killed"
	default:
	}
	for _, m := range p.members {
		if m.task != nil {
			p.signalLocked(m, syscall.SIGKILL, why)
		}
	}
}

// signalLocked sends sig to m's running process and records it.
func (p *Pod) signalLocked(m *member, sig syscall.Signal, why string) {
	p.emitLocked(Event{
		Reason: EventKilling, Container: m.spec.Name, Role: m.role, Signal: sig,
		Message: fmt.Sprintf("Stopping container %s with %s: %s", m.spec.Name, signalName(sig), why),
	})
	if err := m.task.Signal(sig); err != nil {
		p.log.Warn("signal failed", zap.String("container", m.spec.Name), zap.Error(err))
	}
}

// finish records the pod's final state and wakes Wait. err is nil for a pod
// that ended by itself.
func (p *Pod) finish(err error, reason, message string) {
	p.probers.Wait()
	p.copiers.Wait()
	p.execs.Wait()
	p.mu.Lock()
	phase := PhaseSucceeded
	var failed *ExitError
	for _, m := range p.members {
		if m.role != RoleMain && m.role != RoleInit {
			continue
		}
		t := m.lastExit
		if t == nil || t.ExitCode != 0 {
			phase = PhaseFailed
			if failed == nil && t != nil {
				failed = &ExitError{Pod: p.name, Container: m.spec.Name, ExitCode: t.ExitCode,
					Signal: t.Signal, Reason: t.Reason, Message: t.Message, OOMKilled: t.Reason == ReasonOOMKilled}
			}
		}
	}
	if reason != "" {
		phase = PhaseFailed
	}
	if err == nil && failed != nil {
		err = failed
	}
	if err == nil && phase == PhaseFailed {
		err = fmt.Errorf("pod %q: failed", p.name)
	}
	p.status.Reason, p.status.Message = reason, message
	if message == "" && err != nil && phase == PhaseFailed {
		p.status.Message = err.Error()
	}
	p.setPhaseLocked(phase)
	p.err = err
	p.mu.Unlock()
	p.events.close()
	close(p.done)
}

// Kill stops the pod at once, without a grace period: as when the ctx given
// to Start is done, but preStop hooks are cut short and every container
// still running is killed with SIGKILL, also during a graceful stop already
// going on. Wait then returns an error wrapping ErrKilled, unless the pod
// had already ended or was stopping for another reason. Kill does not
// block, and may be called any number of times.
func (p *Pod) Kill() {
	p.killOnce.Do(func() { close(p.killCh) })
}

// member returns the named container, or nil.
func (p *Pod) member(name string) *member {
	for _, m := range p.members {
		if m.spec.Name == name {
			return m
		}
	}
	return nil
}
