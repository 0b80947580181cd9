package pod

import (
	"syscall"
	"time"
)

// Phase is the summary of a pod's life, computed with the kubelet's rules.
type Phase string

const (
	// PhasePending: the pod is accepted but a main container has not been
	// started yet.
	PhasePending Phase = "Pending"
	// PhaseRunning: every main container has been started and at least one
	// is running or will be restarted.
	PhaseRunning Phase = "Running"
	// PhaseSucceeded: every main container ended with exit code 0 and none
	// will be restarted. Terminal.
	PhaseSucceeded Phase = "Succeeded"
	// PhaseFailed: every main container ended, at least one of them with a
	// failure, and none will be restarted. Terminal.
	PhaseFailed Phase = "Failed"
)

// Terminal reports whether ph is Succeeded or Failed. A terminal phase never
// changes.
func (ph Phase) Terminal() bool { return ph == PhaseSucceeded || ph == PhaseFailed }

// Role is the part a container plays in its pod; events and status carry it.
type Role string

const (
	RoleInfra   Role = "infra"   // the process holding the pod's namespaces
	RoleInit    Role = "init"    // runs to completion before the main containers
	RoleSidecar Role = "sidecar" // a helper sharing the pod's lifecycle
	RoleMain    Role = "main"    // the pod's application containers
)

// ConditionType names a pod condition, as in Kubernetes.
type ConditionType string

const (
	// PodReadyToStartContainers: the infra process is up and holds the
	// pod's namespaces.
	PodReadyToStartContainers ConditionType = "PodReadyToStartContainers"
	// Initialized: every init container has completed.
	Initialized ConditionType = "Initialized"
	// ContainersReady: every container is ready.
	ContainersReady ConditionType = "ContainersReady"
	// Ready: the pod can serve; the same as ContainersReady in podkit, which
	// has no readiness gates.
	Ready ConditionType = "Ready"
)

// Condition is one pod condition.
type Condition struct {
	Type               ConditionType
	Status             bool
	LastTransitionTime time.Time
	Reason             string
	Message            string
}

// Status is a snapshot of a pod. It is a copy: the caller may keep and change
// it.
type Status struct {
	Phase Phase
	// Reason and Message explain a terminal phase or a failure of the pod
	// as a whole (for example "SandboxDied").
	Reason  string
	Message string
	// StartTime is when Start was called; zero before.
	StartTime time.Time
	// InfraPID is the host PID of the infra process while it runs.
	InfraPID int
	// PodIP, like Kubernetes' status.podIP, is the address at which this
	// machine reaches the pod's servers, and HostIP the one at which the
	// pod reaches the machine's, while the pod's network is up: for a
	// bridged pod the addresses of its veth pair's ends, for a pod on the
	// host's network 127.0.0.1 for both. An isolated pod has neither
	// (both are empty): only DialContext and Listen reach its loopback.
	PodIP      string
	HostIP     string
	Conditions []Condition
	// Containers are in the order they were given to New.
	Containers []ContainerStatus
}

// Condition returns the condition of type t and whether the pod has it.
func (s Status) Condition(t ConditionType) (Condition, bool) {
	for _, c := range s.Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return Condition{}, false
}

// Container returns the status of the named container and whether it exists.
func (s Status) Container(name string) (ContainerStatus, bool) {
	for _, c := range s.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return ContainerStatus{}, false
}

// ContainerStatus is the state of one container.
type ContainerStatus struct {
	Name string
	Role Role
	// State is the current state; exactly one of its fields is set.
	State ContainerState
	// LastTerminationState is the state of the previous instance after a
	// restart, as in Kubernetes; all fields nil before the first restart.
	LastTerminationState ContainerState
	Ready                bool
	// Started is true once the container runs (and, with probes, once its
	// startup probe passed).
	Started      bool
	RestartCount int
	// PID is the host PID of the container's process while it runs: with
	// a shared PID namespace the command itself, otherwise the container's
	// init, whose only child is the command.
	PID int
	// Image and ImageID, as Kubernetes reports them, are the full name and
	// the ID (configuration digest) of the image the container last
	// started from; empty before that, and for a container without one.
	Image   string
	ImageID string
}

// ContainerState holds exactly one of a container's possible states.
type ContainerState struct {
	Waiting    *StateWaiting
	Running    *StateRunning
	Terminated *StateTerminated
}

// Waiting reasons, as the kubelet reports them.
const (
	ReasonContainerCreating = "ContainerCreating"
	ReasonCrashLoopBackOff  = "CrashLoopBackOff"
	ReasonPodInitializing   = "PodInitializing"
	ReasonErrImagePull      = "ErrImagePull"
	ReasonImagePullBackOff  = "ImagePullBackOff"
	ReasonErrImageNeverPull = "ErrImageNeverPull"
	ReasonInvalidImageName  = "InvalidImageName"
)

// Termination reasons, as the kubelet reports them.
const (
	ReasonCompleted  = "Completed"
	ReasonError      = "Error"
	ReasonOOMKilled  = "OOMKilled"
	ReasonStartError = "StartError"
)

// ReasonDeadlineExceeded is the reason of a pod that ran past its active
// deadline, as the kubelet reports it.
const ReasonDeadlineExceeded = "DeadlineExceeded"

// StateWaiting is a container not running yet or between restarts.
type StateWaiting struct {
	Reason  string
	Message string
}

// StateRunning is a running container.
type StateRunning struct {
	StartedAt time.Time
}

// StateTerminated is a container that ended.
type StateTerminated struct {
	ExitCode int
	// Signal is the signal that killed the process, or 0.
	Signal syscall.Signal
	Reason string
	// Message is the container's termination message (see
	// Container.TerminationMessagePath and TerminationMessagePolicy);
	// without one, podkit's explanation of an OOM kill or a start error.
	Message    string
	StartedAt  time.Time
	FinishedAt time.Time
}

func (s ContainerState) clone() ContainerState {
	var c ContainerState
	if s.Waiting != nil {
		w := *s.Waiting
		c.Waiting = &w
	}
	if s.Running != nil {
		r := *s.Running
		c.Running = &r
	}
	if s.Terminated != nil {
		t := *s.Terminated
		c.Terminated = &t
	}
	return c
}

func (s Status) clone() Status {
	c := s
	c.Conditions = append([]Condition(nil), s.Conditions...)
	c.Containers = make([]ContainerStatus, len(s.Containers))
	for i, cs := range s.Containers {
		cs.State = cs.State.clone()
		cs.LastTerminationState = cs.LastTerminationState.clone()
		c.Containers[i] = cs
	}
	return c
}
