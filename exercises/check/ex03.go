package main

import (
	"regexp"
)

// check03 checks exercise 3 from the events, once the program has ended:
// fetch-config and wait-for-db ran as init containers, in that order, each
// to success (fetch-config after a retry), wait-for-db until the database
// was up, and the app started after both, once, with its configuration.
func check03(s *session) {
	s.finish()
	evs := s.events()

	fetchStarts := evs.of("Started", "fetch-config")
	fetchDone, fetchOK := evs.where(func(ev event) bool { return ev.is("Exited", "fetch-config") && ev.fields["exit"] == "0" }).firstOK()
	appStart, appOK := evs.first("Started", "app")
	switch {
	case len(fetchStarts) == 0:
		s.fail("fetch-config never started: keep the container as given")
	case fetchStarts[0].fields["role"] != "init":
		s.fail("fetch-config ran as a %s container, beside the app: declare it with the spec's InitContainers (TODO 1)", fetchStarts[0].fields["role"])
	default:
		s.ok("fetch-config ran as an init container")
	}
	if len(evs.where(func(ev event) bool { return ev.is("Exited", "fetch-config") && ev.fields["exit"] == "1" })) > 0 && fetchOK {
		s.ok("fetch-config failed once and was run again until it succeeded")
	} else {
		s.fail("fetch-config did not fail once and then succeed, as its script does: keep the script and the pod's restart policy")
	}
	switch {
	case !appOK:
		s.fail("the app never started: an init container before it never completed (see below)")
	case !fetchOK || appStart.line < fetchDone.line:
		s.fail("the app started (at +%.3fs) before fetch-config had completed: an init container must complete before the main containers start (TODO 1)", appStart.at)
	default:
		s.ok("the app started (at +%.3fs) only after fetch-config had completed (at +%.3fs)", appStart.at, fetchDone.at)
	}

	waitStart, waitOK := evs.first("Started", "wait-for-db")
	// A function's exit code is 0 also when the pod's stop cancelled it:
	// only an exit before any Killing is a completion.
	waitKilled, stopped := evs.first("Killing", "wait-for-db")
	waitDone, waitDoneOK := evs.where(func(ev event) bool {
		return ev.is("Exited", "wait-for-db") && ev.fields["exit"] == "0" && (!stopped || ev.line < waitKilled.line)
	}).firstOK()
	dbUp := s.lineIndex(regexp.MustCompile(`^database \| up on `))
	switch {
	case !waitOK:
		s.fail(`no container named "wait-for-db" ran: add it with initcontainer.WaitForTCP (TODO 2)`)
	case waitStart.fields["role"] != "init":
		s.fail("wait-for-db ran as a %s container: declare it with the spec's InitContainers, after fetch-config (TODO 2)", waitStart.fields["role"])
	case !fetchOK || waitStart.line < fetchDone.line:
		s.fail("wait-for-db started before fetch-config had completed: init containers run in the order declared; declare it after fetch-config (TODO 2)")
	case !waitDoneOK:
		s.fail("wait-for-db never completed: give WaitForTCP the database's address (db) and FromHost: true, since from inside the isolated pod 127.0.0.1 is the pod's own loopback (TODO 2)")
	case dbUp < 0 || waitDone.line < dbUp:
		s.fail("wait-for-db completed before the database was up: it must wait until db accepts connections (TODO 2)")
	default:
		s.ok("wait-for-db ran as an init container after fetch-config, and completed once the database was up (at +%.3fs)", waitDone.at)
	}
	switch {
	case !appOK || !waitDoneOK:
	case appStart.line < waitDone.line:
		s.fail("the app started before wait-for-db had completed: declare wait-for-db among the init containers (TODO 2)")
	default:
		s.ok("the app started only after every init container had completed")
	}

	crashes := evs.where(func(ev event) bool {
		return ev.is("Exited", "app") && ev.fields["exit"] != "0" && ev.fields["signal"] == ""
	})
	configured := s.lineIndex(regexp.MustCompile(`^app \| config: greeting=`))
	switch {
	case len(crashes) > 0:
		s.fail(`the app crashed %d time(s) ("no configuration"): it started before its configuration was there (TODO 1)`, len(crashes))
	case configured < 0:
		s.fail("the app never printed its configuration")
	default:
		s.ok("the app found its configuration on its first start, and never crashed")
	}
}
