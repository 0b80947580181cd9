package main

import (
	"regexp"
)

// check04 checks exercise 4 from the events and the shipped lines, once the
// program has ended: the shipper is a sidecar, started before the app and
// listening before the app starts (its startup probe), and stopped after
// the app, so that the app's first and last lines are both shipped.
func check04(s *session) {
	s.finish()
	evs := s.events()

	shipperStarts := evs.of("Started", "shipper")
	appStart, appOK := evs.first("Started", "app")
	sidecar := len(shipperStarts) > 0 && shipperStarts[0].fields["role"] == "sidecar"
	switch {
	case len(shipperStarts) == 0:
		s.fail("the shipper never started: keep the container as given")
		return
	case !sidecar:
		s.fail("the shipper ran as a %s container: make it a sidecar, RestartPolicy pod.RestartAlways in the spec's InitContainers (TODO 1)", shipperStarts[0].fields["role"])
	default:
		s.ok("the shipper ran as a sidecar")
	}
	switch {
	case !appOK:
		s.fail("the app never started: did the shipper's startup probe ever pass? (TODO 2)")
	case !sidecar:
		s.fail("the shipper and the app started at the same time, as main containers do: make the shipper a sidecar (TODO 1)")
	case appStart.line < shipperStarts[0].line:
		s.fail("the app started before the shipper: declare the shipper among the init containers (TODO 1)")
	default:
		s.ok("the shipper started (at +%.3fs) before the app (at +%.3fs)", shipperStarts[0].at, appStart.at)
	}

	crashes := s.count(regexp.MustCompile(`^app \| cannot reach the log shipper`))
	switch {
	case crashes > 0 && !sidecar:
		s.fail("the app crashed %d time(s): it started before the shipper listened; make the shipper a sidecar with a startup probe (TODO 1 and 2)", crashes)
	case crashes > 0:
		s.fail("the app crashed %d time(s): it started before the shipper listened; give the shipper a startup probe on port 5170, so the app starts only once it passes (TODO 2)", crashes)
	case appOK:
		s.ok("the app found the shipper listening from its first instruction on: it never crashed")
	}
	if n := len(shipperStarts); n > 1 {
		s.fail("the shipper was started %d times: its startup probe gave up before it listened, and it was killed; allow 30 failures of 100ms (TODO 2)", n)
	} else {
		s.ok("the shipper ran once, and was never restarted")
	}
	if s.lineIndex(regexp.MustCompile(`^shipper \| shipped: line 1$`)) >= 0 {
		s.ok("the app's first log line was shipped")
	} else {
		s.fail("the app's first log line (line 1) was never shipped")
	}

	appKilling, appKilled := evs.first("Killing", "app")
	appExits := evs.of("Exited", "app")
	shipperKilling, shipperKilled := evs.first("Killing", "shipper")
	switch {
	case !appOK:
		s.fail("the app never ran, so the stop order cannot be checked: fix the start order first")
	case !appKilled:
		s.fail("the app was not running when the pod stopped (it had crashed), so the stop order cannot be checked: fix the start order first")
	case !shipperKilled:
		s.fail("the shipper got no stop signal: was it running when the pod stopped?")
	case shipperKilling.line < appKilling.line || len(appExits) == 0 || shipperKilling.line < appExits[len(appExits)-1].line:
		s.fail("the shipper got its stop signal (at +%.3fs) before the app had exited: the main containers are stopped first, and a sidecar only once they have exited (TODO 1)", shipperKilling.at)
	default:
		s.ok("the shipper got its stop signal (at +%.3fs) only after the app had exited (at +%.3fs)", shipperKilling.at, appExits[len(appExits)-1].at)
	}
	if s.lineIndex(regexp.MustCompile(`^shipper \| shipped: goodbye$`)) >= 0 {
		s.ok("the app's last log line, goodbye, was shipped")
	} else if appKilled {
		s.fail("the app's last log line, goodbye, was lost: the shipper had stopped before the app sent it; a sidecar stops after the main containers (TODO 1)")
	} else {
		s.fail("the app's last log line, goodbye, was never sent: the app was not running when the pod stopped")
	}
}
