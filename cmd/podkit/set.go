package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

// setRun keeps the replicas of a Deployment, ReplicaSet, DaemonSet or
// StatefulSet running on this machine, as their controllers do on a
// cluster: a pod that ends is replaced (after a back-off when it ends
// again), until ctx is done, which stops them all gracefully.
type setRun struct {
	kind, name string
	replicas   int32
	// podName returns the function naming the pods of slot i.
	podName func(i int) func() string
	// ordered starts slot i once slot i-1 is Running and Ready, and
	// stops the slots in reverse order (a StatefulSet's OrderedReady).
	ordered bool
	backoff pod.Backoff
	// start starts a pod named name, recording SuccessfulCreate; ctx
	// being done stops it gracefully.
	start func(ctx context.Context, name string) (*pod.Pod, error)
}

// slot is one replica: its current pod and the pods that replaced it.
type slot struct {
	stop  context.CancelCauseFunc
	ended chan struct{} // closed when the slot's goroutine is gone
	ready chan struct{} // closed once the slot's first pod is Ready, if ordered
}

// run keeps the replicas running until ctx is done, and returns its cause
// once every pod has ended; or, when a pod fails to start, that error
// once the others have stopped.
func (s *setRun) run(ctx context.Context) error {
	failed := make(chan error, s.replicas)
	var slots []*slot
	// stopAll stops the slots, saying why (ctx's cause, or a failure),
	// and waits until their pods have ended.
	stopAll := func(why error) {
		if s.ordered {
			for i := len(slots) - 1; i >= 0; i-- {
				slots[i].stop(why)
				<-slots[i].ended
			}
			return
		}
		for _, sl := range slots {
			sl.stop(why)
		}
		for _, sl := range slots {
			<-sl.ended
		}
	}
	for i := range int(s.replicas) {
		slotCtx, stop := context.WithCancelCause(context.WithoutCancel(ctx))
		sl := &slot{stop: stop, ended: make(chan struct{})}
		if s.ordered {
			sl.ready = make(chan struct{})
		}
		slots = append(slots, sl)
		go func() {
			defer close(sl.ended)
			if err := s.keep(slotCtx, s.podName(i), sl.ready); err != nil {
				failed <- err
			}
		}()
		if s.ordered {
			select {
			case <-sl.ready:
			case err := <-failed:
				stopAll(err)
				return err
			case <-ctx.Done():
				stopAll(context.Cause(ctx))
				return context.Cause(ctx)
			}
		}
	}
	select {
	case err := <-failed:
		stopAll(err)
		return err
	case <-ctx.Done():
		stopAll(context.Cause(ctx))
		return context.Cause(ctx)
	}
}

// keep runs pods named by name, one at a time, replacing each that ends,
// until ctx is done; it closes ready, if not nil, once the first is
// Running and Ready.
func (s *setRun) keep(ctx context.Context, name func() string, ready chan struct{}) error {
	ends := 0
	for {
		n := name()
		p, err := s.start(ctx, n)
		if err != nil {
			if p != nil {
				_ = p.Wait()
			}
			return fmt.Errorf("%s %q: pod %q: %w", s.kind, s.name, n, err)
		}
		if ready != nil {
			go signalReady(p, ready)
			ready = nil
		}
		_ = p.Wait()
		if ctx.Err() != nil {
			return nil
		}
		// The pod ended by itself: the controller replaces it, after a
		// back-off when it keeps ending.
		ends++
		d := time.Duration(0)
		if ends > 1 {
			d = backoffDelay(s.backoff, int32(ends-1))
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// signalReady closes ready once p is Running and Ready, or never when it
// ends first.
func signalReady(p *pod.Pod, ready chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs := p.Subscribe(ctx)
	isReady := func() bool {
		st := p.Status()
		c, _ := st.Condition(pod.Ready)
		return st.Phase == pod.PhaseRunning && c.Status
	}
	if isReady() {
		close(ready)
		return
	}
	for range evs {
		if isReady() {
			close(ready)
			return
		}
	}
}

// setRunFor returns the controller of a Deployment, ReplicaSet, DaemonSet
// or StatefulSet w.
func setRunFor(w *kube.Workload) *setRun {
	s := &setRun{kind: w.Kind, name: w.Name, replicas: w.Replicas}
	switch w.Kind {
	case "Deployment":
		// The Deployment's ReplicaSet is named after a hash of the pod
		// template, and names its pods after itself.
		rs := w.Name + "-" + templateHash(w.Template)
		s.podName = func(int) func() string { return func() string { return generateName(rs) } }
	case "StatefulSet":
		s.ordered = w.StatefulSet.PodManagementPolicy != appsv1.ParallelPodManagement
		start := int(w.StatefulSet.OrdinalStart)
		s.podName = func(i int) func() string {
			name := w.Name + "-" + strconv.Itoa(start+i)
			return func() string { return name }
		}
	default: // ReplicaSet, DaemonSet
		s.podName = func(int) func() string { return func() string { return generateName(w.Name) } }
	}
	return s
}

// templateHash returns the pod-template-hash of m's template: the FNV-32a
// hash of the template, in the alphabet of generated names, as the
// Deployment controller computes it (over its own encoding, so the value
// differs from a cluster's).
func templateHash(m *kube.Manifest) string {
	h := fnv.New32a()
	data, _ := json.Marshal(m.Pod)
	h.Write(data)
	b := []byte(strconv.FormatUint(uint64(h.Sum32()), 10))
	for i, c := range b {
		b[i] = nameAlphabet[int(c)%len(nameAlphabet)]
	}
	return string(b)
}
