package main

import (
	"regexp"
	"strings"
)

// check08 checks exercise 8 from the events, once the program has ended:
// the app became Ready only after warming up, was not killed before it
// hung, became unready when it hung, was killed by its liveness probe and
// restarted soon after, and became Ready again after its restart.
func check08(s *session) {
	s.finish()
	evs := s.events()
	starts := evs.of("Started", "app")
	warmed := s.lineIndex(regexp.MustCompile(`^app \| warmed up$`))
	hung := s.lineIndex(regexp.MustCompile(`^app \| hanging`))
	if len(starts) == 0 {
		s.fail("the app never started: keep its container as given")
		return
	}
	// A kill before the hang (or with no hang at all) is a wrong probe.
	for _, ev := range evs.of("Killing", "app") {
		if (hung >= 0 && ev.line > hung) || !strings.Contains(ev.fields["msg"], "Liveness") {
			continue
		}
		why := ""
		for _, u := range evs.of("Unhealthy", "app") {
			if u.line < ev.line && strings.HasPrefix(u.fields["msg"], "Liveness") {
				why = ` ("` + u.fields["msg"] + `")`
			}
		}
		s.fail("the app was killed by its liveness probe at +%.3fs, before it hung%s: the liveness probe must check /healthz, which answers while the app warms up (/ready does not), and wait 500ms before its first check (TODO 2)",
			ev.at, why)
		return
	}
	if warmed < 0 || hung < 0 {
		s.fail("the app did not run long enough to warm up and hang (it needs 2.5s): keep the app as given, and look at its output with -v")
		return
	}
	hungAt := s.at(hung)

	readies := evs.where(func(ev event) bool { return ev.is("Ready", "app") && ev.fields["ready"] == "true" })
	switch {
	case len(readies) == 0:
		s.fail("the app never became Ready: the readiness probe must GET /ready on port 8080 (TODO 1)")
	case readies[0].line < warmed:
		s.fail("the app was Ready %.0fms after it started, while it was still warming up (/ready answered 503): add a readiness probe on /ready (TODO 1)",
			(readies[0].at-starts[0].at)*1000)
	default:
		s.ok("the app became Ready only once it had warmed up, %.1fs after it started", readies[0].at-starts[0].at)
	}

	s.ok("the app was not killed before it hung")

	var kill, stop, unready event
	var livenessKill, stopped, unreadied bool
	for _, ev := range evs {
		switch {
		case ev.line < hung:
		case !stopped && ev.is("Killing", "app"):
			stop, stopped = ev, true
			if strings.Contains(ev.fields["msg"], "Liveness") {
				kill, livenessKill = ev, true
			}
		case !unreadied && ev.is("Ready", "app") && ev.fields["ready"] == "false":
			unready, unreadied = ev, true
		}
	}
	switch {
	case !livenessKill:
		s.fail("the app hung at +%.1fs and nothing noticed: add a liveness probe on /healthz (TODO 2)", hungAt)
	case kill.at-hungAt > 2:
		s.fail("the app hung at +%.1fs but was killed only %.1fs later: check every 200ms, with a timeout of 250ms and FailureThreshold 3 (TODO 2)", hungAt, kill.at-hungAt)
	default:
		s.ok("the app hung at +%.1fs; its liveness probe failed and had it killed %.0fms later", hungAt, (kill.at-hungAt)*1000)
	}
	readinessProbed := len(evs.where(func(ev event) bool {
		return ev.is("Unhealthy", "app") && strings.HasPrefix(ev.fields["msg"], "Readiness")
	})) > 0
	switch {
	case !readinessProbed:
		s.fail("the app stayed Ready while it hung: it has no readiness probe (TODO 1)")
	case !unreadied || (stopped && unready.line > stop.line):
		s.fail("the app stayed Ready while it hung, until it was stopped: give the readiness probe a Timeout of 250ms and FailureThreshold 1 (TODO 1)")
	default:
		s.ok("the app became unready as soon as it hung (%.0fms later), before it was killed", (unready.at-hungAt)*1000)
	}
	if !livenessKill {
		return
	}
	restart, ok := startAfter(starts, kill.line)
	if !ok {
		s.fail("the app was not restarted after its liveness probe killed it: keep the pod's restart policy Always")
		return
	}
	s.ok("the app was restarted at +%.3fs", restart.at)
	if again := readies.where(func(ev event) bool { return ev.line > restart.line }); len(again) > 0 {
		s.ok("after its restart the app warmed up again and became Ready at +%.3fs", again[0].at)
	} else {
		s.fail("the app did not become Ready again within a second of its warm-up after its restart")
	}
}
