package main

import (
	"regexp"
	"strconv"
	"time"
)

// check02 checks exercise 2 while both containers run: that their
// processes share one network and one UTS namespace, not the host's, that
// the client reaches the server on 127.0.0.1, and where the server listens.
func check02(s *session) {
	pids := map[string]int{}
	for _, name := range []string{"server", "client"} {
		ev, ok := s.awaitEvent(10*time.Second, func(ev event) bool { return ev.is("Started", name) })
		if !ok {
			s.fail("the container %q never started: keep both containers, named server and client", name)
			s.finish()
			return
		}
		pids[name], _ = strconv.Atoi(ev.fields["pid"])
	}
	server, client := pids["server"], pids["client"]
	serverNet, err1 := nsOf(server, "net")
	clientNet, err2 := nsOf(client, "net")
	switch {
	case err1 != nil || err2 != nil:
		s.fail("cannot read the containers' network namespaces (server PID %d, client PID %d): did they stop?", server, client)
	case serverNet != clientNet:
		s.fail("the server (PID %d, %s) and the client (PID %d, %s) are in different network namespaces: put both containers in one pod (TODO 1)",
			server, serverNet, client, clientNet)
	case serverNet == hostNS("net"):
		s.fail("the containers are in the host's network namespace (%s): do not use pod.NetworkHost here", serverNet)
	default:
		s.ok("the server (PID %d) and the client (PID %d) share one network namespace, %s, which is not the host's (%s)",
			server, client, serverNet, hostNS("net"))
	}
	serverUTS, _ := nsOf(server, "uts")
	clientUTS, _ := nsOf(client, "uts")
	serverName, _ := hostnameOf(server)
	clientName, _ := hostnameOf(client)
	switch {
	case serverUTS != clientUTS:
		s.fail("the server (hostname %q) and the client (hostname %q) are in different UTS namespaces: put both containers in one pod (TODO 1)",
			serverName, clientName)
	case serverName != "shared":
		s.fail(`both containers see the hostname %q, not "shared": Hostname: "shared" in the spec (TODO 2)`, serverName)
	default:
		s.ok(`both containers see the hostname "shared": they share one UTS namespace too (%s)`, serverUTS)
	}
	if _, _, ok := s.await(regexp.MustCompile(`^client \| got: hello from`), 5*time.Second); ok {
		s.ok("the client reached the server on 127.0.0.1:8080")
	} else if serverNet != clientNet {
		s.fail("the client never reached the server on 127.0.0.1:8080 (connection refused): its 127.0.0.1 is the loopback of its own network namespace, where nobody listens; put both containers in one pod (TODO 1)")
	} else {
		s.fail("the client never reached the server on 127.0.0.1:8080: run the checker with -v and read the client's errors")
	}
	if up, err := listensOn(server, 8080); err == nil && up {
		s.ok("the server listens on 127.0.0.1:8080 inside the pod's network namespace (/proc/%d/net/tcp)", server)
	} else if err == nil {
		s.fail("nothing listens on 127.0.0.1:8080 in the server's network namespace")
	}
	s.finish()
}
