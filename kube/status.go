package kube

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podkit/podkit/pod"
)

// The annotations PodWithStatus puts on a pod for what podkit knows and
// Kubernetes has no field for. Their values are strings, as every
// annotation's.
const (
	// InfraPIDAnnotation holds the host PID of the pod's infra process
	// (the process holding its namespaces, Kubernetes' pause container)
	// while it runs.
	InfraPIDAnnotation = "podkit.io/infra-pid"
	// ContainerPIDsAnnotation holds a JSON object mapping the name of each
	// running container to the host PID of its process, as
	// pod.ContainerStatus.PID gives it: {"web":4242}.
	ContainerPIDsAnnotation = "podkit.io/container-pids"
	// SupervisorPIDAnnotation holds the PID of the program that runs the
	// pod and serves its API. PodWithStatus does not know it; the podkit
	// command sets it from the pod's API.
	SupervisorPIDAnnotation = "podkit.io/supervisor-pid"
)

// The reasons of pod conditions, as the kubelet gives them.
const (
	reasonPodCompleted             = "PodCompleted"
	reasonPodFailed                = "PodFailed"
	reasonContainersNotReady       = "ContainersNotReady"
	reasonContainersNotInitialized = "ContainersNotInitialized"
)

// PodStatus returns st as the status a Kubernetes API server holds for a
// pod that a kubelet runs:
//
//   - phase, reason, message, startTime, podIP and hostIP (with podIPs
//     and hostIPs) are st's; an isolated pod has no addresses;
//   - the statuses of init containers and sidecars (init containers with
//     restartPolicy Always) are in initContainerStatuses, those of main
//     containers in containerStatuses, each in the pod's order, with state
//     and lastState, ready, started, restartCount, image and imageID. As
//     the kubelet reports them, an init container that completed with exit
//     code 0 is ready, and only a running container can be started. A
//     terminated state carries the signal that killed the process, which
//     the kubelet leaves out. containerID is empty: podkit's containers
//     have no ID besides their name;
//   - conditions are PodReadyToStartContainers, Initialized, Ready,
//     ContainersReady and PodScheduled (always True: the pod runs on this
//     machine), in the kubelet's order, with the kubelet's rules, reasons
//     and messages: ContainersNotInitialized ("containers with incomplete
//     status: [a b]"), ContainersNotReady ("containers with unready status:
//     [a b]"), PodCompleted and PodFailed in a terminal phase. A condition's
//     lastTransitionTime is the time the pod recorded for its change; a
//     condition the pod does not track the same way takes the latest time
//     st knows of, and PodScheduled the start time.
//
// PodStatus is a pure function of st: it does not block, and is safe to
// call concurrently.
func PodStatus(st pod.Status) corev1.PodStatus {
	ks := corev1.PodStatus{
		Phase:   corev1.PodPhase(st.Phase),
		Reason:  st.Reason,
		Message: st.Message,
		HostIP:  st.HostIP,
		PodIP:   st.PodIP,
	}
	if st.HostIP != "" {
		ks.HostIPs = []corev1.HostIP{{IP: st.HostIP}}
	}
	if st.PodIP != "" {
		ks.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	}
	if !st.StartTime.IsZero() {
		ks.StartTime = ptr(metav1.NewTime(st.StartTime))
	}
	for _, cs := range st.Containers {
		if cs.Role == pod.RoleMain {
			ks.ContainerStatuses = append(ks.ContainerStatuses, containerStatus(cs))
		} else {
			ks.InitContainerStatuses = append(ks.InitContainerStatuses, containerStatus(cs))
		}
	}
	ks.Conditions = conditions(st, ks)
	return ks
}

// PodWithStatus returns the Pod object a Kubernetes API server would hold
// for a pod named name with status st: a copy of manifest (nil when the pod
// was not made from one, which leaves metadata.name and an empty spec) with
// PodStatus(st) as its status, apiVersion v1 and kind Pod set. Like the API
// server, it sets metadata.creationTimestamp when the manifest has none: to
// st.StartTime, when podkit created the pod's namespaces. What podkit knows
// and Kubernetes has no field for goes into annotations: the infra's PID
// (InfraPIDAnnotation) and the running containers' PIDs
// (ContainerPIDsAnnotation), each only while there is one.
//
// manifest is not modified. PodWithStatus does not block, and is safe to
// call concurrently.
func PodWithStatus(name string, manifest *corev1.Pod, st pod.Status) *corev1.Pod {
	kp := &corev1.Pod{}
	if manifest != nil {
		kp = manifest.DeepCopy()
	}
	kp.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	if kp.Name == "" {
		kp.Name = name
	}
	if kp.CreationTimestamp.IsZero() && !st.StartTime.IsZero() {
		kp.CreationTimestamp = metav1.NewTime(st.StartTime)
	}
	set := func(key, value string) {
		if kp.Annotations == nil {
			kp.Annotations = make(map[string]string)
		}
		kp.Annotations[key] = value
	}
	if st.InfraPID != 0 {
		set(InfraPIDAnnotation, strconv.Itoa(st.InfraPID))
	}
	pids := make(map[string]int)
	for _, cs := range st.Containers {
		if cs.PID != 0 {
			pids[cs.Name] = cs.PID
		}
	}
	if len(pids) > 0 {
		j, _ := json.Marshal(pids) // a map of strings to ints always marshals
		set(ContainerPIDsAnnotation, string(j))
	}
	kp.Status = PodStatus(st)
	return kp
}

func containerStatus(cs pod.ContainerStatus) corev1.ContainerStatus {
	kcs := corev1.ContainerStatus{
		Name:                 cs.Name,
		State:                containerState(cs.State),
		LastTerminationState: containerState(cs.LastTerminationState),
		Ready:                cs.Ready,
		RestartCount:         int32(cs.RestartCount),
		Image:                cs.Image,
		ImageID:              cs.ImageID,
		// Only a running container has started, for the kubelet.
		Started: ptr(cs.Started && cs.State.Running != nil),
	}
	if cs.Role == pod.RoleInit {
		// An init container is ready once it has completed.
		t := cs.State.Terminated
		kcs.Ready = t != nil && t.ExitCode == 0
	}
	return kcs
}

func containerState(s pod.ContainerState) corev1.ContainerState {
	var ks corev1.ContainerState
	switch {
	case s.Running != nil:
		ks.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(s.Running.StartedAt)}
	case s.Terminated != nil:
		t := s.Terminated
		ks.Terminated = &corev1.ContainerStateTerminated{
			ExitCode:   int32(t.ExitCode),
			Signal:     int32(t.Signal),
			Reason:     t.Reason,
			Message:    t.Message,
			StartedAt:  metav1.NewTime(t.StartedAt),
			FinishedAt: metav1.NewTime(t.FinishedAt),
		}
	case s.Waiting != nil:
		ks.Waiting = &corev1.ContainerStateWaiting{Reason: s.Waiting.Reason, Message: s.Waiting.Message}
	}
	return ks
}

// conditions derives the pod's conditions from its container statuses,
// with the rules of the kubelet's status generation.
func conditions(st pod.Status, ks corev1.PodStatus) []corev1.PodCondition {
	phase := ks.Phase
	roles := make(map[string]pod.Role, len(st.Containers))
	for _, cs := range st.Containers {
		roles[cs.Name] = cs.Role
	}

	sandbox, _ := st.Condition(pod.PodReadyToStartContainers)
	sandboxCond := corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: conditionStatus(sandbox.Status)}

	// Initialized: every init container has completed and every sidecar
	// has started, or a main container has run already.
	initialized := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	var incomplete []string
	for _, cs := range ks.InitContainerStatuses {
		done := cs.Ready
		if roles[cs.Name] == pod.RoleSidecar {
			done = cs.Started != nil && *cs.Started
		}
		if !done {
			incomplete = append(incomplete, cs.Name)
		}
	}
	mainRan := false
	for _, cs := range ks.ContainerStatuses {
		mainRan = mainRan || cs.State.Running != nil || cs.State.Terminated != nil
	}
	switch {
	case phase == corev1.PodSucceeded:
		initialized.Reason = reasonPodCompleted
	case mainRan:
	case len(incomplete) > 0:
		initialized.Status, initialized.Reason = corev1.ConditionFalse, reasonContainersNotInitialized
		initialized.Message = fmt.Sprintf("containers with incomplete status: %s", incomplete)
	}

	// ContainersReady: every sidecar and main container is ready.
	ready := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
	var unready []string
	for _, list := range [][]corev1.ContainerStatus{ks.InitContainerStatuses, ks.ContainerStatuses} {
		for _, cs := range list {
			if roles[cs.Name] != pod.RoleInit && !cs.Ready {
				unready = append(unready, cs.Name)
			}
		}
	}
	switch {
	case phase == corev1.PodSucceeded:
		ready.Status, ready.Reason = corev1.ConditionFalse, reasonPodCompleted
	case phase == corev1.PodFailed:
		ready.Status, ready.Reason = corev1.ConditionFalse, reasonPodFailed
	case len(unready) > 0:
		ready.Status, ready.Reason = corev1.ConditionFalse, reasonContainersNotReady
		ready.Message = fmt.Sprintf("containers with unready status: %s", unready)
	}
	// Ready is ContainersReady: podkit has no readiness gates.
	podReady := ready
	podReady.Type = corev1.PodReady

	scheduled := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}
	out := []corev1.PodCondition{sandboxCond, initialized, podReady, ready, scheduled}

	latest := latestTime(st)
	tracked := map[corev1.PodConditionType]pod.ConditionType{
		corev1.PodReadyToStartContainers: pod.PodReadyToStartContainers,
		corev1.PodInitialized:            pod.Initialized,
		corev1.PodReady:                  pod.Ready,
		corev1.ContainersReady:           pod.ContainersReady,
	}
	for i := range out {
		c := &out[i]
		at := latest
		if c.Type == corev1.PodScheduled {
			at = st.StartTime
		} else if pc, ok := st.Condition(tracked[c.Type]); ok && conditionStatus(pc.Status) == c.Status {
			at = pc.LastTransitionTime
		}
		if !at.IsZero() {
			c.LastTransitionTime = metav1.NewTime(at)
		}
	}
	return out
}

// latestTime is the latest time st records: of a condition's change, a
// container's start or end, or the pod's start.
func latestTime(st pod.Status) time.Time {
	latest := st.StartTime
	later := func(t time.Time) {
		if t.After(latest) {
			latest = t
		}
	}
	for _, c := range st.Conditions {
		later(c.LastTransitionTime)
	}
	for _, cs := range st.Containers {
		for _, s := range []pod.ContainerState{cs.State, cs.LastTerminationState} {
			if s.Running != nil {
				later(s.Running.StartedAt)
			}
			if s.Terminated != nil {
				later(s.Terminated.FinishedAt)
			}
		}
	}
	return latest
}

func conditionStatus(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}
