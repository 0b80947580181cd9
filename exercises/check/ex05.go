package main

import (
	"regexp"
	"strconv"
	"time"
)

// check05 checks exercise 5: the app, in its own network namespace, sends
// every request to 127.0.0.1:9000, gets answers from both backends through
// the ambassador, a sidecar started before it, and never fails.
func check05(s *session) {
	if ev, ok := s.awaitEvent(10*time.Second, func(ev event) bool { return ev.is("Started", "app") }); ok {
		pid, _ := strconv.Atoi(ev.fields["pid"])
		if ns, err := nsOf(pid, "net"); err == nil && ns == hostNS("net") {
			s.fail("the app runs in the host's network namespace (%s): keep the pod isolated; the ambassador is its way out", ns)
		} else if err == nil {
			s.ok("the app runs in the pod's own network namespace (%s), not the host's (%s)", ns, hostNS("net"))
		}
	}
	s.finish()
	evs := s.events()

	ambStart, ambOK := evs.first("Started", "ambassador")
	appStart, appOK := evs.first("Started", "app")
	switch {
	case !ambOK:
		s.fail(`no container named "ambassador" ran: make it with ambassador.TCP{...}.Container("ambassador") (TODO 1) and declare it (TODO 2)`)
	case ambStart.fields["role"] != "sidecar":
		s.fail("the ambassador ran as a %s container: declare it with the spec's InitContainers, before the app (TODO 2)", ambStart.fields["role"])
	case !appOK || appStart.line < ambStart.line:
		s.fail("the app started before the ambassador: declare the ambassador with the spec's InitContainers (TODO 2)")
	default:
		s.ok("the ambassador ran as a sidecar, started before the app")
	}

	get := regexp.MustCompile(`^app \| GET (\S+): (.*)$`)
	hello := regexp.MustCompile(`^hello from (backend-\d)$`)
	var gets, failed int
	direct := ""
	answered := map[string]bool{}
	for _, l := range s.all() {
		m := get.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		gets++
		if m[1] != "http://127.0.0.1:9000/" && direct == "" {
			direct = m[1]
		}
		if h := hello.FindStringSubmatch(m[2]); h != nil {
			answered[h[1]] = true
		} else {
			failed++
		}
	}
	switch {
	case gets == 0:
		s.fail("the app made no request: keep the app as given")
		return
	case direct != "":
		s.fail("the app sent requests to %s, a backend's address on the host: inside the pod 127.0.0.1 is the pod's own loopback; point BACKEND at the ambassador, http://127.0.0.1:9000/ (TODO 3)", direct)
	default:
		s.ok("the app sent every request to its ambassador, http://127.0.0.1:9000/, and knows no backend's address")
	}
	switch {
	case len(answered) == 0:
		s.fail("no backend ever answered the app: the ambassador must forward 127.0.0.1:9000 to the backends' addresses (TODO 1)")
	case len(answered) == 1:
		s.fail("only one backend answered the app: give the ambassador both backends as Upstreams (TODO 1)")
	default:
		s.ok("both backends answered the app, in turn: the ambassador balances its connections")
	}
	if failed > 0 {
		s.fail("%d of the app's %d requests failed: run the checker with -v and read the app's errors", failed, gets)
	} else {
		s.ok("all %d of the app's requests succeeded", gets)
	}
}
