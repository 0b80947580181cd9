package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/podapi"
)

// podRunner starts the pods of podkit run: each is served on its own podapi
// socket under its name, so that podkit ps, status, logs and stop reach it,
// and its events are printed as they happen.
type podRunner struct {
	e      *env
	events string // text, json or none
	runDir string
	opts   []pod.Option
	// stop, if not nil, is what podkit stop of a pod does: stop the run
	// of a lone Pod. Otherwise podkit stop stops that pod only, as
	// kubectl delete pod does, and its controller replaces it.
	stop func()
	// qualify names containers POD/CONTAINER in text events, where
	// several pods run.
	qualify bool

	mu   sync.Mutex
	live map[*pod.Pod]struct{}
	out  sync.Mutex // one event line at a time
	wg   sync.WaitGroup
}

// start creates the pod name of m's spec, serves it (its manifest with
// labels added, as a controller labels its pods), prints its events and
// starts it; ctx being done stops it gracefully. before, if not nil, sees
// the pod before it starts. start returns a nil pod when nothing was
// started, and the pod with Start's error when it failed to start. Its
// server and event printer are gone once the pod has ended and wait
// returned.
func (r *podRunner) start(ctx context.Context, name string, m *kube.Manifest, labels map[string]string, before func(*pod.Pod)) (*pod.Pod, error) {
	p, err := pod.New(name, m.Spec, r.opts...)
	if err != nil {
		return nil, err
	}
	// podkit status and get show the manifest's metadata and spec, under
	// the pod's own name.
	k := m.Pod.DeepCopy()
	k.Name = name
	for key, v := range labels {
		if k.Labels == nil {
			k.Labels = make(map[string]string)
		}
		k.Labels[key] = v
	}
	manifest, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	ln, err := podapi.Listen(r.runDir, name)
	if err != nil {
		return nil, err
	}
	podCtx, stopPod := context.WithCancel(ctx)
	stop := r.stop
	if stop == nil {
		stop = stopPod
	}
	srvCtx, endServer := context.WithCancel(context.Background())
	srv := &podapi.Server{Pod: p, Stop: stop, Manifest: manifest}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(srvCtx, ln)
	}()
	r.mu.Lock()
	if r.live == nil {
		r.live = make(map[*pod.Pod]struct{})
	}
	r.live[p] = struct{}{}
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		<-p.Done()
		stopPod()
		endServer()
		<-served
		r.mu.Lock()
		delete(r.live, p)
		r.mu.Unlock()
	}()
	if r.events != "none" {
		evs := p.Subscribe(context.Background())
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for ev := range evs {
				r.out.Lock()
				if r.events == "json" {
					_ = writeEventJSON(r.e.stdout, ev)
				} else {
					if r.qualify && ev.Container != "" {
						ev.Container = ev.Pod + "/" + ev.Container
					}
					_ = writeEventText(r.e.stderr, ev)
				}
				r.out.Unlock()
			}
		}()
	}
	if before != nil {
		before(p)
	}
	if err := p.Start(podCtx); err != nil {
		return p, err
	}
	return p, nil
}

// killAll kills every pod still running at once.
func (r *podRunner) killAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p := range r.live {
		p.Kill()
	}
}

// wait waits until the servers and event printers of the pods are gone,
// which is once every pod started has ended.
func (r *podRunner) wait() { r.wg.Wait() }

// workloadEvent returns a function that prints an event of the workload
// kind/name, as a controller of Kubernetes records it, among the pods'.
func (r *podRunner) workloadEvent(kind, name string) func(typ pod.EventType, reason, msg string) {
	return func(typ pod.EventType, reason, msg string) {
		if r.events == "none" {
			return
		}
		now := time.Now()
		r.out.Lock()
		defer r.out.Unlock()
		if r.events == "json" {
			_ = writeJSONLine(r.e.stdout, eventJSON{Time: now.UTC().Format(time.RFC3339Nano), Workload: kind + "/" + name,
				Type: string(typ), Reason: reason, Message: msg})
			return
		}
		fmt.Fprintf(r.e.stderr, "%s %-9s %s %s: %s\n", now.Format("15:04:05.000"), reason, lowerKind(kind), name, msg)
	}
}

// lowerKind returns kind as kubectl names it in text: job, deployment.
func lowerKind(kind string) string {
	b := []byte(kind)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
