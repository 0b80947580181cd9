package pod

import (
	"fmt"
	"strings"
)

// The helpers in this file keep Status consistent and emit the events of its
// changes. All are called with Pod.mu held, so events come out in the order
// the changes were made.

// setPhaseLocked moves the pod to phase ph, unless its phase is terminal.
func (p *Pod) setPhaseLocked(ph Phase) {
	if p.status.Phase == ph || p.status.Phase.Terminal() {
		return
	}
	p.status.Phase = ph
	msg := "pod is " + string(ph)
	if p.status.Message != "" {
		msg += ": " + p.status.Message
	}
	typ := EventNormal
	if ph == PhaseFailed {
		typ = EventWarning
	}
	p.emitLocked(Event{Reason: EventPodPhase, Type: typ, Phase: ph, Message: msg})
}

// updatePhaseLocked computes the phase of a running pod: Pending until every
// main container has been started (or failed to start) once, then Running.
// The terminal phases are set by finish.
func (p *Pod) updatePhaseLocked() {
	for _, m := range p.members {
		if m.role == RoleMain && m.task == nil && m.lastExit == nil {
			p.setPhaseLocked(PhasePending)
			return
		}
	}
	p.setPhaseLocked(PhaseRunning)
}

// setReadyLocked sets the readiness of m and of the pod.
func (p *Pod) setReadyLocked(m *member, ready bool) {
	cs := &p.status.Containers[m.index]
	if cs.Ready == ready {
		return
	}
	cs.Ready = ready
	msg := "Container " + m.spec.Name + " is ready"
	if !ready {
		msg = "Container " + m.spec.Name + " is not ready"
	}
	p.emitLocked(Event{Reason: EventReady, Container: m.spec.Name, Role: m.role, Ready: ready, Message: msg})
	p.updateReadinessLocked()
}

// updateReadinessLocked derives ContainersReady and Ready from the
// containers.
func (p *Pod) updateReadinessLocked() {
	var unready []string
	for _, cs := range p.status.Containers {
		// Init containers have completed, not become ready.
		if cs.Role != RoleInit && !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	reason, msg := "", ""
	if len(unready) > 0 {
		reason = "ContainersNotReady"
		msg = fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	}
	ready := len(unready) == 0
	p.setConditionLocked(ContainersReady, ready, reason, msg)
	if p.setConditionLocked(Ready, ready, reason, msg) {
		evMsg := "Pod is ready"
		if !ready {
			evMsg = "Pod is not ready: " + msg
		}
		p.emitLocked(Event{Reason: EventReady, Ready: ready, Message: evMsg})
	}
}

// setConditionLocked sets a condition and reports whether its status changed.
func (p *Pod) setConditionLocked(t ConditionType, status bool, reason, msg string) bool {
	for i := range p.status.Conditions {
		c := &p.status.Conditions[i]
		if c.Type != t {
			continue
		}
		changed := c.Status != status
		if changed {
			c.LastTransitionTime = p.clock.Now()
		}
		c.Status, c.Reason, c.Message = status, reason, msg
		return changed
	}
	p.status.Conditions = append(p.status.Conditions, Condition{
		Type: t, Status: status, Reason: reason, Message: msg, LastTransitionTime: p.clock.Now(),
	})
	return status
}

// conditionLocked reports the status of a condition.
func (p *Pod) conditionLocked(t ConditionType) bool {
	c, _ := p.status.Condition(t)
	return c.Status
}
