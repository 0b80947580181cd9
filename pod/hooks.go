package pod

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// Lifecycle holds a container's hooks, like Kubernetes' lifecycle.
type Lifecycle struct {
	// PostStart runs right after the container's process starts; the
	// container is Running only once it has finished. If it fails, the
	// container is stopped (a FailedPostStartHook event) and restarted per
	// the restart policy.
	PostStart *LifecycleHandler
	// PreStop runs before the container's stop signal when the pod stops,
	// within the pod's grace period; a failure (a FailedPreStopHook event)
	// does not hold the stop up.
	PreStop *LifecycleHandler
}

// LifecycleHandler is one hook action. Exactly one is set.
type LifecycleHandler struct {
	Exec    *ExecAction
	HTTPGet *HTTPGetAction
	Sleep   *SleepAction
}

// SleepAction waits.
type SleepAction struct {
	Duration time.Duration
}

// Hook failure event reasons, as the kubelet reports them.
const (
	EventFailedPostStartHook = "FailedPostStartHook"
	EventFailedPreStopHook   = "FailedPreStopHook"
)

// runHook runs h for container m until it finishes or ctx is done.
func (p *Pod) runHook(ctx context.Context, m *member, h *LifecycleHandler) error {
	switch {
	case h.Exec != nil:
		return p.Exec(ctx, m.spec.Name, exec.Command(h.Exec.Command[0], h.Exec.Command[1:]...))
	case h.HTTPGet != nil:
		return httpGet(ctx, p.httpDial, h.HTTPGet, httpHookKind)
	case h.Sleep != nil:
		t := p.clock.NewTimer(h.Sleep.Duration)
		defer t.Stop()
		select {
		case <-t.C():
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return errors.New("hook has no action")
}

func (l *Lifecycle) validate(errs *fieldErrors, field string) {
	if l == nil {
		return
	}
	for _, h := range []struct {
		name string
		h    *LifecycleHandler
	}{{"postStart", l.PostStart}, {"preStop", l.PreStop}} {
		if h.h == nil {
			continue
		}
		f := field + ".lifecycle." + h.name
		n := 0
		if h.h.Exec != nil {
			n++
			if len(h.h.Exec.Command) == 0 || h.h.Exec.Command[0] == "" {
				errs.add(f+".exec.command", fmt.Sprintf("%q", h.h.Exec.Command), "required")
			}
		}
		if h.h.HTTPGet != nil {
			n++
			if h.h.HTTPGet.Port < 1 || h.h.HTTPGet.Port > 65535 {
				errs.add(f+".httpGet.port", fmt.Sprint(h.h.HTTPGet.Port), "must be a port number (1-65535)")
			}
		}
		if h.h.Sleep != nil {
			n++
			errs.duration(f+".sleep.duration", h.h.Sleep.Duration)
		}
		if n != 1 {
			errs.add(f, fmt.Sprintf("%d actions", n), "exactly one of exec, httpGet and sleep must be set")
		}
	}
}
