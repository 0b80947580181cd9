package kube_test

import (
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

// t0 and the times after it are whole seconds: Kubernetes' times are.
var t0 = time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func mt(s int) metav1.Time { return metav1.NewTime(at(s)) }

// cond is a pod condition as the tests expect it.
type cond struct {
	status  corev1.ConditionStatus
	reason  string
	message string
	at      int
}

func conditionsOf(ks corev1.PodStatus) map[corev1.PodConditionType]cond {
	out := make(map[corev1.PodConditionType]cond)
	for _, c := range ks.Conditions {
		out[c.Type] = cond{c.Status, c.Reason, c.Message, int(c.LastTransitionTime.Sub(t0) / time.Second)}
	}
	return out
}

func podConditions(status map[pod.ConditionType]int) []pod.Condition {
	var out []pod.Condition
	for _, t := range []pod.ConditionType{pod.PodReadyToStartContainers, pod.Initialized, pod.ContainersReady, pod.Ready} {
		s, ok := status[t]
		if !ok {
			continue
		}
		// A positive time is a change to true, a negative one to false.
		out = append(out, pod.Condition{Type: t, Status: s > 0, LastTransitionTime: at(max(s, -s))})
	}
	return out
}

func TestPodStatusRunning(t *testing.T) {
	st := pod.Status{
		Phase: pod.PhaseRunning, StartTime: at(0), InfraPID: 100,
		PodIP: "10.88.0.2", HostIP: "10.88.0.1",
		Conditions: podConditions(map[pod.ConditionType]int{
			pod.PodReadyToStartContainers: 1, pod.Initialized: 4, pod.ContainersReady: -1, pod.Ready: -1}),
		Containers: []pod.ContainerStatus{
			{Name: "setup", Role: pod.RoleInit, State: pod.ContainerState{Terminated: &pod.StateTerminated{
				ExitCode: 0, Reason: pod.ReasonCompleted, StartedAt: at(1), FinishedAt: at(2)}}},
			{Name: "proxy", Role: pod.RoleSidecar, Ready: true, Started: true, PID: 101,
				State: pod.ContainerState{Running: &pod.StateRunning{StartedAt: at(3)}},
				Image: "docker.io/library/envoy:1", ImageID: "sha256:abc"},
			{Name: "web", Role: pod.RoleMain, Started: true, PID: 102, RestartCount: 1,
				State: pod.ContainerState{Running: &pod.StateRunning{StartedAt: at(9)}},
				LastTerminationState: pod.ContainerState{Terminated: &pod.StateTerminated{
					ExitCode: 137, Signal: syscall.SIGKILL, Reason: pod.ReasonError, StartedAt: at(4), FinishedAt: at(7)}}},
		},
	}
	ks := kube.PodStatus(st)
	assert.Equal(t, corev1.PodRunning, ks.Phase)
	assert.Equal(t, "10.88.0.2", ks.PodIP)
	assert.Equal(t, []corev1.PodIP{{IP: "10.88.0.2"}}, ks.PodIPs)
	assert.Equal(t, []corev1.HostIP{{IP: "10.88.0.1"}}, ks.HostIPs)
	assert.Equal(t, ptrTo(mt(0)), ks.StartTime)

	var types []corev1.PodConditionType
	for _, c := range ks.Conditions {
		types = append(types, c.Type)
	}
	assert.Equal(t, []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized,
		corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled}, types, "the kubelet's order")
	assert.Equal(t, map[corev1.PodConditionType]cond{
		corev1.PodReadyToStartContainers: {corev1.ConditionTrue, "", "", 1},
		corev1.PodInitialized:            {corev1.ConditionTrue, "", "", 4},
		corev1.PodReady:                  {corev1.ConditionFalse, "ContainersNotReady", "containers with unready status: [web]", 1},
		corev1.ContainersReady:           {corev1.ConditionFalse, "ContainersNotReady", "containers with unready status: [web]", 1},
		corev1.PodScheduled:              {corev1.ConditionTrue, "", "", 0},
	}, conditionsOf(ks))

	require.Len(t, ks.InitContainerStatuses, 2)
	setup, proxy := ks.InitContainerStatuses[0], ks.InitContainerStatuses[1]
	assert.Equal(t, corev1.ContainerStatus{
		Name: "setup", Ready: true, Started: ptrTo(false),
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: "Completed", StartedAt: mt(1), FinishedAt: mt(2)}},
	}, setup, "a completed init container is ready, and not started")
	assert.Equal(t, corev1.ContainerStatus{
		Name: "proxy", Ready: true, Started: ptrTo(true), Image: "docker.io/library/envoy:1", ImageID: "sha256:abc",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt(3)}},
	}, proxy, "a sidecar")
	require.Len(t, ks.ContainerStatuses, 1)
	assert.Equal(t, corev1.ContainerStatus{
		Name: "web", Started: ptrTo(true), RestartCount: 1,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt(9)}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 137, Signal: 9, Reason: "Error", StartedAt: mt(4), FinishedAt: mt(7)}},
	}, ks.ContainerStatuses[0])
}

func TestPodStatusInitializing(t *testing.T) {
	st := pod.Status{
		Phase: pod.PhasePending, StartTime: at(0),
		Conditions: podConditions(map[pod.ConditionType]int{
			pod.PodReadyToStartContainers: 1, pod.Initialized: -0, pod.ContainersReady: -0, pod.Ready: -0}),
		Containers: []pod.ContainerStatus{
			{Name: "migrate", Role: pod.RoleInit, State: pod.ContainerState{Running: &pod.StateRunning{StartedAt: at(2)}}, Started: true},
			{Name: "proxy", Role: pod.RoleSidecar, State: pod.ContainerState{Waiting: &pod.StateWaiting{Reason: pod.ReasonPodInitializing}}},
			{Name: "web", Role: pod.RoleMain, State: pod.ContainerState{Waiting: &pod.StateWaiting{Reason: pod.ReasonPodInitializing}}},
		},
	}
	ks := kube.PodStatus(st)
	assert.Equal(t, corev1.PodPending, ks.Phase)
	assert.Nil(t, ks.PodIPs, "an isolated pod has no address")
	assert.Equal(t, map[corev1.PodConditionType]cond{
		corev1.PodReadyToStartContainers: {corev1.ConditionTrue, "", "", 1},
		corev1.PodInitialized:            {corev1.ConditionFalse, "ContainersNotInitialized", "containers with incomplete status: [migrate proxy]", 0},
		corev1.PodReady:                  {corev1.ConditionFalse, "ContainersNotReady", "containers with unready status: [proxy web]", 0},
		corev1.ContainersReady:           {corev1.ConditionFalse, "ContainersNotReady", "containers with unready status: [proxy web]", 0},
		corev1.PodScheduled:              {corev1.ConditionTrue, "", "", 0},
	}, conditionsOf(ks))
	assert.Equal(t, ptrTo(true), ks.InitContainerStatuses[0].Started)
	assert.False(t, ks.InitContainerStatuses[0].Ready, "a running init container is not ready")
	assert.Equal(t, &corev1.ContainerStateWaiting{Reason: "PodInitializing"}, ks.ContainerStatuses[0].State.Waiting)
}

func TestPodStatusTerminal(t *testing.T) {
	for _, tc := range []struct {
		phase  pod.Phase
		exit   int
		reason string
		want   map[corev1.PodConditionType]cond
	}{
		{pod.PhaseSucceeded, 0, pod.ReasonCompleted, map[corev1.PodConditionType]cond{
			corev1.PodReadyToStartContainers: {corev1.ConditionFalse, "", "", 8},
			corev1.PodInitialized:            {corev1.ConditionTrue, "PodCompleted", "", 1},
			corev1.PodReady:                  {corev1.ConditionFalse, "PodCompleted", "", 6},
			corev1.ContainersReady:           {corev1.ConditionFalse, "PodCompleted", "", 6},
			corev1.PodScheduled:              {corev1.ConditionTrue, "", "", 0},
		}},
		{pod.PhaseFailed, 3, pod.ReasonError, map[corev1.PodConditionType]cond{
			corev1.PodReadyToStartContainers: {corev1.ConditionFalse, "", "", 8},
			corev1.PodInitialized:            {corev1.ConditionTrue, "", "", 1},
			corev1.PodReady:                  {corev1.ConditionFalse, "PodFailed", "", 6},
			corev1.ContainersReady:           {corev1.ConditionFalse, "PodFailed", "", 6},
			corev1.PodScheduled:              {corev1.ConditionTrue, "", "", 0},
		}},
	} {
		t.Run(string(tc.phase), func(t *testing.T) {
			st := pod.Status{
				Phase: tc.phase, StartTime: at(0),
				Conditions: podConditions(map[pod.ConditionType]int{
					pod.PodReadyToStartContainers: -8, pod.Initialized: 1, pod.ContainersReady: -6, pod.Ready: -6}),
				Containers: []pod.ContainerStatus{{Name: "job", Role: pod.RoleMain,
					State: pod.ContainerState{Terminated: &pod.StateTerminated{
						ExitCode: tc.exit, Reason: tc.reason, StartedAt: at(2), FinishedAt: at(6)}}}},
			}
			ks := kube.PodStatus(st)
			assert.Equal(t, corev1.PodPhase(tc.phase), ks.Phase)
			assert.Equal(t, tc.want, conditionsOf(ks))
			term := ks.ContainerStatuses[0].State.Terminated
			require.NotNil(t, term)
			assert.Equal(t, tc.reason, term.Reason)
			assert.Equal(t, int32(tc.exit), term.ExitCode)
			assert.Equal(t, ptrTo(false), ks.ContainerStatuses[0].Started)
		})
	}
}

// A condition whose status the pod does not track as the kubelet derives
// it takes the latest time the status knows of.
func TestPodStatusUntrackedTransition(t *testing.T) {
	st := pod.Status{
		Phase: pod.PhaseSucceeded, StartTime: at(0),
		// The pod never recorded Initialized.
		Conditions: podConditions(map[pod.ConditionType]int{pod.PodReadyToStartContainers: -9}),
		Containers: []pod.ContainerStatus{{Name: "job", Role: pod.RoleMain,
			State: pod.ContainerState{Terminated: &pod.StateTerminated{Reason: pod.ReasonCompleted, StartedAt: at(2), FinishedAt: at(7)}}}},
	}
	got := conditionsOf(kube.PodStatus(st))
	assert.Equal(t, 9, got[corev1.PodInitialized].at)
}

func TestPodWithStatus(t *testing.T) {
	m, err := kube.Load([]byte(`
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: web
    image: nginx:1.27
`))
	require.NoError(t, err)
	st := pod.Status{Phase: pod.PhaseRunning, StartTime: at(0), InfraPID: 100,
		Containers: []pod.ContainerStatus{{Name: "web", Role: pod.RoleMain, PID: 4242, Started: true, Ready: true,
			State: pod.ContainerState{Running: &pod.StateRunning{StartedAt: at(1)}}}}}

	kp := kube.PodWithStatus("web", m.Pod, st)
	assert.Empty(t, m.Pod.Annotations, "the manifest is not modified")
	assert.Equal(t, "v1", kp.APIVersion)
	assert.Equal(t, "Pod", kp.Kind)
	assert.Equal(t, map[string]string{"app": "web"}, kp.Labels)
	assert.Equal(t, "nginx:1.27", kp.Spec.Containers[0].Image)
	assert.Equal(t, mt(0), kp.CreationTimestamp)
	assert.Equal(t, map[string]string{
		kube.InfraPIDAnnotation:      "100",
		kube.ContainerPIDsAnnotation: `{"web":4242}`,
	}, kp.Annotations)

	// What it prints decodes strictly into a v1 Pod, field for field.
	data, err := json.Marshal(kp)
	require.NoError(t, err)
	var back corev1.Pod
	strict, err := kjson.UnmarshalStrict(data, &back)
	require.NoError(t, err)
	require.Empty(t, strict)
	again, err := json.Marshal(&back)
	require.NoError(t, err)
	assert.JSONEq(t, string(data), string(again))

	bare := kube.PodWithStatus("solo", nil, pod.Status{Phase: pod.PhasePending})
	assert.Equal(t, "solo", bare.Name)
	assert.Empty(t, bare.Annotations)
	assert.True(t, bare.CreationTimestamp.IsZero(), "not started: not created")
}

func ptrTo[T any](v T) *T { return &v }
