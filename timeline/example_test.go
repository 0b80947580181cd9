package timeline_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/timeline"
)

// Build turns a pod's events into rows of spans and marks; Render draws
// them. Events come from Record, subscribed before the pod starts; here
// they are written out by hand.
func ExampleBuild() {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	events := []pod.Event{
		{Time: at(0), Pod: "web", Reason: pod.EventPodPhase, Phase: pod.PhasePending},
		{Time: at(10), Pod: "web", Container: "migrate", Role: pod.RoleInit, Reason: pod.EventStarted},
		{Time: at(300), Pod: "web", Container: "migrate", Role: pod.RoleInit, Reason: pod.EventExited},
		{Time: at(310), Pod: "web", Container: "app", Role: pod.RoleMain, Reason: pod.EventStarted},
		{Time: at(320), Pod: "web", Container: "app", Role: pod.RoleMain, Reason: pod.EventReady, Ready: true},
		{Time: at(900), Pod: "web", Container: "app", Role: pod.RoleMain, Reason: pod.EventKilling, Signal: 15, Message: "pod stopped"},
		{Time: at(950), Pod: "web", Container: "app", Role: pod.RoleMain, Reason: pod.EventExited, ExitCode: 143},
	}
	tl := timeline.Build(events)
	for _, r := range tl.Rows {
		fmt.Printf("%s (%s):", r.Name, r.Role)
		for _, s := range r.Spans {
			fmt.Printf(" %s %s", s.State, s.End.Sub(s.Start))
		}
		fmt.Println()
	}
	fmt.Println("grace period from", tl.Grace.Sub(t0))
	var svg strings.Builder
	if err := tl.Render(&svg); err != nil {
		fmt.Println(err)
	}
	fmt.Println(strings.HasPrefix(svg.String(), "<svg"))
	// Output:
	// migrate (init): Waiting 10ms Running 290ms Terminated 650ms
	// app (main): Waiting 310ms Running 10ms Ready 630ms
	// grace period from 900ms
	// true
}
