package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The STATUS column follows kubectl's rules.
func TestSummarize(t *testing.T) {
	now := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	waiting := func(reason string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	terminated := func(code int32, reason string) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}
	}
	started := true
	for _, tc := range []struct {
		name                  string
		phase                 corev1.PodPhase
		init, main            []corev1.ContainerStatus
		initialized, ready    bool
		want                  string
		wantReady, wantTotal  int
		wantRestarts          int
		wantLastRestartOffset time.Duration
	}{
		{name: "first init running", phase: corev1.PodPending,
			init: []corev1.ContainerStatus{{Name: "a", State: running}, {Name: "b", State: waiting("PodInitializing")}},
			main: []corev1.ContainerStatus{{Name: "web", State: waiting("PodInitializing")}},
			want: "Init:0/2", wantTotal: 1},
		{name: "init failed", phase: corev1.PodPending,
			init: []corev1.ContainerStatus{{Name: "a", State: terminated(0, "Completed")}, {Name: "b", State: terminated(1, "Error"), RestartCount: 2}},
			main: []corev1.ContainerStatus{{Name: "web", State: waiting("PodInitializing")}},
			want: "Init:Error", wantTotal: 1, wantRestarts: 2},
		{name: "crash loop beside a sidecar", phase: corev1.PodRunning, initialized: true,
			init: []corev1.ContainerStatus{{Name: "proxy", State: running, Started: &started, Ready: true}},
			main: []corev1.ContainerStatus{{Name: "web", State: waiting("CrashLoopBackOff"), RestartCount: 3,
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 1, Reason: "Error", FinishedAt: metav1.NewTime(now.Add(-5 * time.Second))}}}},
			want: "CrashLoopBackOff", wantReady: 1, wantTotal: 2, wantRestarts: 3, wantLastRestartOffset: -5 * time.Second},
		{name: "one completed, one running", phase: corev1.PodRunning, initialized: true, ready: true,
			main: []corev1.ContainerStatus{{Name: "job", State: terminated(0, "Completed")}, {Name: "web", State: running, Ready: true}},
			want: "Running", wantReady: 1, wantTotal: 2},
		{name: "succeeded", phase: corev1.PodSucceeded, initialized: true,
			main: []corev1.ContainerStatus{{Name: "job", State: terminated(0, "Completed")}},
			want: "Completed", wantTotal: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kp := &corev1.Pod{Status: corev1.PodStatus{Phase: tc.phase, InitContainerStatuses: tc.init, ContainerStatuses: tc.main}}
			for _, c := range []struct {
				t  corev1.PodConditionType
				ok bool
			}{{corev1.PodInitialized, tc.initialized}, {corev1.PodReady, tc.ready}} {
				st := corev1.ConditionFalse
				if c.ok {
					st = corev1.ConditionTrue
				}
				kp.Status.Conditions = append(kp.Status.Conditions, corev1.PodCondition{Type: c.t, Status: st})
			}
			s := summarize(kp, map[string]bool{"proxy": true})
			assert.Equal(t, tc.want, s.status)
			assert.Equal(t, tc.wantReady, s.ready, "ready")
			assert.Equal(t, tc.wantTotal, s.total, "total")
			assert.Equal(t, tc.wantRestarts, s.restarts, "restarts")
			if tc.wantLastRestartOffset != 0 {
				assert.Equal(t, now.Add(tc.wantLastRestartOffset), s.lastRestart)
			}
		})
	}
}
