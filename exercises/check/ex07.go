package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// check07 checks exercise 7 from the events, once the program has ended:
// the job was restarted after each crash, the first time at once, then
// after back-offs of 200ms, 400ms, 800ms, 800ms, measured as well as
// announced; it was not restarted after it succeeded, the pod Succeeded,
// and the program printed the restart count and phase from the status.
func check07(s *session) {
	s.finish()
	evs := s.events()
	starts := evs.of("Started", "job")
	exits := evs.of("Exited", "job")
	var delays []string
	for _, ev := range evs.of("BackOff", "job") {
		delays = append(delays, ev.fields["delay"])
	}
	want := []string{"200ms", "400ms", "800ms", "800ms"}

	switch {
	case len(starts) == 0:
		s.fail("the job never started: keep its container as given")
		return
	case len(starts) < 6:
		s.fail("the job ran only %d times in %s, crashing each time: the back-off between restarts (%s) is too long; pod.WithBackoff (TODO 2)",
			len(starts), s.ex.duration, strings.Join(delays, ", "))
	default:
		s.ok("the job was restarted after each of its 5 crashes, and ran a 6th time")
	}

	if len(exits) > 0 && len(starts) > 1 {
		// Immediate means no back-off before it, whatever the machine's
		// speed: no BackOff event between the first crash and the restart.
		waited := slices.ContainsFunc(evs.of("BackOff", "job"), func(ev event) bool {
			return ev.line > exits[0].line && ev.line < starts[1].line
		})
		if gap := starts[1].at - exits[0].at; !waited {
			s.ok("the first restart was immediate (%.0fms after the crash, with no back-off), as the kubelet's is", gap*1000)
		} else {
			s.fail("the first restart waited a back-off (%.0fms after the crash); the kubelet restarts a crashed container at once the first time", gap*1000)
		}
	}
	switch {
	case len(delays) >= len(want) && slices.Equal(delays[:len(want)], want):
		s.ok("the back-off started at 200ms, doubled, and stopped at 800ms: %s", strings.Join(want, ", "))
	case len(delays) > 0 && delays[0] == "10s":
		s.fail("the back-off is the kubelet's default, 10s doubling up to 5m: set Initial 200ms and Max 800ms with pod.WithBackoff (TODO 2)")
	default:
		s.fail("the back-off delays were [%s], not [%s]: Initial 200ms, Max 800ms (TODO 2)", strings.Join(delays, " "), strings.Join(want, " "))
	}
	var measured []string
	early := ""
	for i, ev := range evs.of("BackOff", "job") {
		next, ok := startAfter(starts, ev.line)
		if !ok {
			break
		}
		d, _ := time.ParseDuration(ev.fields["delay"])
		gap := time.Duration((next.at - ev.at) * float64(time.Second))
		measured = append(measured, gap.Round(10*time.Millisecond).String())
		if gap < d-20*time.Millisecond && early == "" {
			early = fmt.Sprintf("restart %d came after %s, before its back-off of %s", i+2, gap.Round(time.Millisecond), d)
		}
	}
	if early != "" {
		s.fail("%s", early)
	} else if len(measured) > 0 {
		s.ok("each restart waited its back-off: %s measured", strings.Join(measured, ", "))
	}

	succeeded := -1
	for i, ev := range exits {
		if ev.fields["exit"] == "0" {
			succeeded = i
			break
		}
	}
	switch {
	case succeeded < 0:
		s.fail("the job never succeeded (it needs 6 runs)")
	case len(starts) > succeeded+1:
		s.fail("the job was run again after it had succeeded (exit 0): a job is restarted on failure only; RestartPolicy: pod.RestartOnFailure in the spec (TODO 1)")
	default:
		s.ok("the job was not restarted after it succeeded (exit 0 at +%.3fs)", exits[succeeded].at)
	}
	phases := evs.of("PodPhase", "-")
	if len(phases) > 0 && phases[len(phases)-1].fields["phase"] == "Succeeded" && succeeded >= 0 && len(starts) == succeeded+1 &&
		phases[len(phases)-1].at < s.ex.duration.Seconds()-0.1 {
		s.ok("the pod Succeeded and the program ended by itself, before its -duration")
	} else if succeeded >= 0 {
		s.fail("the pod did not end Succeeded when the job succeeded: with the restart policy OnFailure it does (TODO 1)")
	}

	m, _, ok := s.await(regexp.MustCompile(`^restarts=(\d+) phase=(\w+)$`), 0)
	switch {
	case !ok:
		s.fail(`the program did not print "restarts=N phase=P" from p.Status() after the pod ended (TODO 3)`)
	case m[1] != strconv.Itoa(len(starts)-1):
		s.fail("the program printed restarts=%s, but the job was restarted %d times: use the job's RestartCount (TODO 3)", m[1], len(starts)-1)
	case len(phases) > 0 && m[2] != phases[len(phases)-1].fields["phase"]:
		s.fail("the program printed phase=%s, but the pod ended %s: use p.Status().Phase (TODO 3)", m[2], phases[len(phases)-1].fields["phase"])
	default:
		s.ok("the program printed the job's restart count and the pod's phase from its status: %s", m[0])
	}
}

// startAfter returns the first start after line.
func startAfter(starts events, line int) (event, bool) {
	for _, ev := range starts {
		if ev.line > line {
			return ev, true
		}
	}
	return event{}, false
}
