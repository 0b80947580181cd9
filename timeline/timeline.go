// Package timeline draws a pod's life as an SVG timeline: one row per
// container, coloured spans for Waiting, Running, Ready and Terminated, marks
// for restarts, probe failures and signals, and the pod's grace period
// shaded. Learners see init order, sidecar gating and reverse termination at
// a glance.
//
// Record the events of a pod with Recorder (subscribed before Start), or
// collect them yourself, and give them to Render.
package timeline

import (
	"context"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/pod"
)

// Recorder collects the events of a pod.
type Recorder struct {
	mu     sync.Mutex
	events []pod.Event
	done   chan struct{}
}

// Record subscribes to p's events and collects them until the pod has
// finished or ctx is done. Call it before p.Start to see the whole life.
// It does not block; Events waits for the end.
func Record(ctx context.Context, p *pod.Pod) *Recorder {
	r := &Recorder{done: make(chan struct{})}
	ch := p.Subscribe(ctx)
	go func() {
		defer close(r.done)
		for ev := range ch {
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
		}
	}()
	return r
}

// Events waits until the recording has ended (the pod has finished, or the
// ctx given to Record is done) and returns the events.
func (r *Recorder) Events() []pod.Event {
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]pod.Event(nil), r.events...)
}

// State is what a span of a row shows.
type State string

// The states of a container's row.
const (
	Waiting    State = "Waiting"
	Running    State = "Running"
	Ready      State = "Ready"
	Terminated State = "Terminated"
)

// colours of the states, and of the marks.
var colours = map[State]string{
	Waiting:    "#f2c94c",
	Running:    "#6fcf97",
	Ready:      "#219653",
	Terminated: "#bdbdbd",
}

// Span is a stretch of time a container spent in one state.
type Span struct {
	State      State
	Start, End time.Time
}

// Mark is an instant on a row: a restart, a probe failure, a signal, an
// exit.
type Mark struct {
	Time  time.Time
	Kind  string // "start", "exit", "signal", "unhealthy", "backoff"
	Label string
}

// Row is one container's life.
type Row struct {
	Name  string
	Role  pod.Role
	Spans []Span
	Marks []Mark
}

// Timeline is a pod's life, ready to draw.
type Timeline struct {
	Pod        string
	Start, End time.Time
	Rows       []Row
	// Grace is when the pod began to stop; zero if it ended by itself
	// without stopping anything.
	Grace time.Time
}

// Build turns a pod's events into a timeline.
func Build(events []pod.Event) Timeline {
	var t Timeline
	if len(events) == 0 {
		return t
	}
	t.Pod = events[0].Pod
	t.Start, t.End = events[0].Time, events[len(events)-1].Time
	type rowState struct {
		row   *Row
		state State
		since time.Time
	}
	var order []string
	rows := map[string]*rowState{}
	row := func(ev pod.Event) *rowState {
		name := ev.Container
		if ev.Role == pod.RoleInfra {
			name = "infra"
		}
		if rs, ok := rows[name]; ok {
			return rs
		}
		rs := &rowState{row: &Row{Name: name, Role: ev.Role}, state: Waiting, since: t.Start}
		rows[name] = rs
		order = append(order, name)
		return rs
	}
	to := func(rs *rowState, s State, at time.Time) {
		if rs.state == s {
			return
		}
		if at.After(rs.since) {
			rs.row.Spans = append(rs.row.Spans, Span{State: rs.state, Start: rs.since, End: at})
		}
		rs.state, rs.since = s, at
	}
	for _, ev := range events {
		if ev.Container == "" && ev.Role != pod.RoleInfra {
			if ev.Reason == pod.EventKilling && t.Grace.IsZero() {
				t.Grace = ev.Time
			}
			continue
		}
		rs := row(ev)
		switch ev.Reason {
		case pod.EventStarted:
			to(rs, Running, ev.Time)
			rs.row.Marks = append(rs.row.Marks, Mark{Time: ev.Time, Kind: "start", Label: "started"})
		case pod.EventReady:
			if rs.state == Running && ev.Ready {
				to(rs, Ready, ev.Time)
			} else if rs.state == Ready && !ev.Ready {
				to(rs, Running, ev.Time)
			}
		case pod.EventExited:
			to(rs, Terminated, ev.Time)
			rs.row.Marks = append(rs.row.Marks, Mark{Time: ev.Time, Kind: "exit", Label: fmt.Sprintf("exit %d", ev.ExitCode)})
		case pod.EventBackOff:
			to(rs, Waiting, ev.Time)
			rs.row.Marks = append(rs.row.Marks, Mark{Time: ev.Time, Kind: "backoff", Label: "back-off " + ev.Delay.String()})
		case pod.EventUnhealthy:
			rs.row.Marks = append(rs.row.Marks, Mark{Time: ev.Time, Kind: "unhealthy", Label: "probe failed"})
		case pod.EventKilling:
			rs.row.Marks = append(rs.row.Marks, Mark{Time: ev.Time, Kind: "signal", Label: signalLabel(ev)})
			if t.Grace.IsZero() && !strings.Contains(ev.Message, "probe") && !strings.Contains(ev.Message, "PostStartHook") {
				t.Grace = ev.Time
			}
		}
	}
	for _, name := range order {
		rs := rows[name]
		if t.End.After(rs.since) {
			rs.row.Spans = append(rs.row.Spans, Span{State: rs.state, Start: rs.since, End: t.End})
		}
		t.Rows = append(t.Rows, *rs.row)
	}
	return t
}

func signalLabel(ev pod.Event) string {
	if name := unix.SignalName(ev.Signal); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", int(ev.Signal))
}

// Layout of the drawing, in pixels.
const (
	labelWidth = 150
	plotWidth  = 800
	rowHeight  = 34
	barHeight  = 18
	top        = 50
	bottom     = 60
)

// Render draws events as an SVG document on w.
func Render(w io.Writer, events []pod.Event) error {
	return Build(events).Render(w)
}

// Render draws t as an SVG document on w.
func (t Timeline) Render(w io.Writer) error {
	var b strings.Builder
	width := labelWidth + plotWidth + 20
	height := top + len(t.Rows)*rowHeight + bottom
	total := t.End.Sub(t.Start)
	if total <= 0 {
		total = time.Millisecond
	}
	x := func(at time.Time) float64 {
		return labelWidth + float64(at.Sub(t.Start))/float64(total)*plotWidth
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15" font-weight="bold">pod %s</text>`+"\n", html.EscapeString(t.Pod))
	if !t.Grace.IsZero() {
		gx := x(t.Grace)
		fmt.Fprintf(&b, `<rect class="grace" x="%.1f" y="%d" width="%.1f" height="%d" fill="#eb5757" fill-opacity="0.12"/>`+"\n",
			gx, top-10, labelWidth+plotWidth-gx, len(t.Rows)*rowHeight+10)
		anchor, tx := "start", gx+3
		if gx > labelWidth+plotWidth-100 {
			anchor, tx = "end", labelWidth+plotWidth // keep the label inside
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#eb5757" text-anchor="%s">grace period</text>`+"\n", tx, top-14, anchor)
	}
	for i, r := range t.Rows {
		y := top + i*rowHeight
		fmt.Fprintf(&b, `<text x="10" y="%d">%s <tspan fill="#828282">(%s)</tspan></text>`+"\n",
			y+barHeight-4, html.EscapeString(r.Name), html.EscapeString(string(r.Role)))
		for _, s := range r.Spans {
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s</title></rect>`+"\n",
				strings.ToLower(string(s.State)), x(s.Start), y, math.Max(x(s.End)-x(s.Start), 0.5), barHeight, colours[s.State],
				s.State, s.End.Sub(s.Start).Round(time.Millisecond))
		}
		for _, m := range r.Marks {
			mx := x(m.Time)
			switch m.Kind {
			case "start":
				fmt.Fprintf(&b, `<line class="start" x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#2f80ed" stroke-width="2"/>`+"\n", mx, mx, y-3, y+barHeight+3)
			case "exit":
				fmt.Fprintf(&b, `<text class="exit" x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`+"\n", mx, y+barHeight+11, html.EscapeString(m.Label))
			case "signal":
				fmt.Fprintf(&b, `<path class="signal" d="M%.1f %d l-5 -8 h10 z" fill="#eb5757"><title>%s</title></path>`+"\n", mx, y, html.EscapeString(m.Label))
			case "unhealthy":
				fmt.Fprintf(&b, `<circle class="unhealthy" cx="%.1f" cy="%d" r="3" fill="#9b51e0"><title>%s</title></circle>`+"\n", mx, y+barHeight/2, html.EscapeString(m.Label))
			case "backoff":
				fmt.Fprintf(&b, `<text class="backoff" x="%.1f" y="%d" font-size="10">%s</text>`+"\n", mx+2, y-2, html.EscapeString(m.Label))
			}
		}
	}
	// The time axis.
	axisY := top + len(t.Rows)*rowHeight + 5
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>`+"\n", labelWidth, labelWidth+plotWidth, axisY, axisY)
	step := tickStep(total)
	for d := time.Duration(0); d <= total; d += step {
		tx := labelWidth + float64(d)/float64(total)*plotWidth
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="black"/><text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`+"\n",
			tx, tx, axisY, axisY+5, tx, axisY+17, d)
	}
	// The legend.
	ly := height - 15
	lx := labelWidth
	for _, s := range []State{Waiting, Running, Ready, Terminated} {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", lx, ly-10, colours[s], lx+16, ly, s)
		lx += 100
	}
	fmt.Fprintf(&b, `<path d="M%d %d l-5 -8 h10 z" fill="#eb5757"/><text x="%d" y="%d">signal</text>`+"\n", lx+5, ly, lx+14, ly)
	lx += 70
	fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="3" fill="#9b51e0"/><text x="%d" y="%d">probe failed</text>`+"\n", lx+4, ly-4, lx+12, ly)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// tickStep picks a round step giving about ten ticks.
func tickStep(total time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
		20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute} {
		if total/s <= 10 {
			return s
		}
	}
	return 10 * time.Minute
}
