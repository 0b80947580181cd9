package pod

import (
	"context"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Event reasons. Kubernetes' own reasons are reused where one exists.
const (
	EventStarted   = "Started"   // a process of the container was started
	EventExited    = "Exited"    // a process of the container ended
	EventFailed    = "Failed"    // a container could not be started
	EventBackOff   = "BackOff"   // a restart is delayed by the crash-loop back-off
	EventKilling   = "Killing"   // the container is being sent a stop signal
	EventUnhealthy = "Unhealthy" // a probe failed
	EventReady     = "Ready"     // a container or the pod became ready or unready
	EventPodPhase  = "PodPhase"  // the pod's phase changed

	EventPulling           = "Pulling"           // a container's image is being pulled
	EventPulled            = "Pulled"            // a container's image was pulled, or was present
	EventErrImageNeverPull = "ErrImageNeverPull" // the image is missing and the pull policy is Never
	EventInspectFailed     = "InspectFailed"     // the image's name is invalid

	// EventDNSConfigForming says that the pod's resolver configuration
	// went past the kubelet's limits (3 nameservers, 32 search domains,
	// 2048 characters of them) once merged, and what was cut.
	EventDNSConfigForming = "DNSConfigForming"
)

// EventType is Normal or Warning, as in Kubernetes.
type EventType string

const (
	EventNormal  EventType = "Normal"
	EventWarning EventType = "Warning"
)

// Event is something that happened to a pod or one of its containers.
type Event struct {
	Time time.Time
	Type EventType
	// Reason is one of the Event* constants.
	Reason string
	Pod    string
	// Container is empty for events of the pod as a whole.
	Container string
	Role      Role
	Message   string

	// ExitCode and Signal are set on Exited events.
	ExitCode int
	Signal   syscall.Signal
	// ExitReason is set on Exited events: the reason of the container's
	// terminated state (ReasonCompleted, ReasonError, ReasonOOMKilled).
	ExitReason string
	// Phase is set on PodPhase events.
	Phase Phase
	// Delay is set on BackOff events.
	Delay time.Duration
	// Ready is set on Ready events: whether the container (or the pod)
	// became ready or unready.
	Ready bool
}

// Subscribe returns a channel that receives every event of the pod from now
// on, in order. It can be called at any time, also before Start, which is the
// way to see every event.
//
// Delivery never blocks the pod: events are queued for each subscriber
// without bound until it reads them. The channel is closed once the pod has
// finished (after its last event) or ctx is done, whichever comes first; the
// goroutine delivering to it is gone then too. A subscriber that stops reading
// must cancel ctx.
//
// Each call starts one goroutine, which delivers the subscription's events
// to the channel; it exits when it has closed the channel: once ctx is done,
// or once the pod has finished and every queued event has been read. It can
// outlive Wait only while its last events wait to be read.
func (p *Pod) Subscribe(ctx context.Context) <-chan Event {
	return p.events.subscribe(ctx)
}

// broker fans events out to subscribers.
type broker struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	mu     sync.Mutex
	queue  []Event
	closed bool          // no more events will be queued
	wake   chan struct{} // capacity 1
}

func (b *broker) subscribe(ctx context.Context) <-chan Event {
	out := make(chan Event)
	s := &subscriber{wake: make(chan struct{}, 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(out)
		return out
	}
	if b.subs == nil {
		b.subs = make(map[*subscriber]struct{})
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go func() {
		defer close(out)
		defer b.remove(s)
		for {
			s.mu.Lock()
			q, closed := s.queue, s.closed
			s.queue = nil
			s.mu.Unlock()
			for _, ev := range q {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
			if closed && len(q) == 0 {
				return
			}
			if len(q) > 0 {
				continue
			}
			select {
			case <-s.wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func (b *broker) remove(s *subscriber) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

func (b *broker) publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.mu.Lock()
		s.queue = append(s.queue, ev)
		s.mu.Unlock()
		s.notify()
	}
}

// close ends every subscription once what is queued for it is delivered.
func (b *broker) close() {
	b.mu.Lock()
	b.closed = true
	for s := range b.subs {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.notify()
	}
	b.mu.Unlock()
}

func (s *subscriber) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// emitLocked stamps, logs and publishes an event. It is called with Pod.mu
// held, so events come out in the order of the changes they report.
func (p *Pod) emitLocked(ev Event) {
	ev.Time = p.clock.Now()
	ev.Pod = p.name
	if ev.Type == "" {
		ev.Type = EventNormal
	}
	fields := []zap.Field{zap.String("reason", ev.Reason), zap.String("type", string(ev.Type))}
	if ev.Container != "" {
		fields = append(fields, zap.String("container", ev.Container))
	}
	if ev.Role != "" {
		fields = append(fields, zap.String("role", string(ev.Role)))
	}
	switch ev.Reason {
	case EventExited:
		fields = append(fields, zap.Int("exitCode", ev.ExitCode))
		if ev.Signal != 0 {
			fields = append(fields, zap.Int("signal", int(ev.Signal)))
		}
	case EventPodPhase:
		fields = append(fields, zap.String("phase", string(ev.Phase)))
	case EventBackOff:
		fields = append(fields, zap.Duration("delay", ev.Delay))
	case EventReady:
		fields = append(fields, zap.Bool("ready", ev.Ready))
	}
	if ev.Type == EventWarning {
		p.log.Warn(ev.Message, fields...)
	} else {
		p.log.Info(ev.Message, fields...)
	}
	p.events.publish(ev)
}
