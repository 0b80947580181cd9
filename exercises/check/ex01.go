package main

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// check01 checks exercise 1 while the child runs: its namespaces against
// the host's, its hostname, its PID inside its PID namespace, its network
// interfaces; then that the program ends and the host's hostname is
// unchanged.
func check01(s *session) {
	hostHostname, _ := os.Hostname()
	m, _, ok := s.await(regexp.MustCompile(`^pid child (\d+)$`), 10*time.Second)
	if !ok {
		s.fail(`the program printed no "pid child N" line: keep out.PID("child", cmd.Process.Pid) after cmd.Start`)
		s.finish()
		return
	}
	pid, _ := strconv.Atoi(m[1])
	if _, _, ok := s.await(regexp.MustCompile(`^child \| hostname=`), 5*time.Second); !ok {
		s.fail(`the child printed no "hostname=..." line: does it run the script given?`)
		s.finish()
		return
	}
	flags := []struct{ kind, flag, todo, what string }{
		{"uts", "CLONE_NEWUTS", "1", "UTS (hostname)"},
		{"pid", "CLONE_NEWPID", "2", "PID"},
		{"net", "CLONE_NEWNET", "3", "network"},
		{"ipc", "CLONE_NEWIPC", "4", "IPC"},
	}
	own := map[string]bool{}
	for _, f := range flags {
		ns, err := nsOf(pid, f.kind)
		switch {
		case err != nil:
			s.fail("cannot read the child's %s namespace (PID %d): %v; is it still running?", f.what, pid, err)
		case ns == hostNS(f.kind):
			s.fail("the child shares the host's %s namespace (%s): add syscall.%s to Cloneflags (TODO %s)", f.what, ns, f.flag, f.todo)
		default:
			own[f.kind] = true
			s.ok("the child has its own %s namespace (%s; the host's is %s)", f.what, ns, hostNS(f.kind))
		}
	}
	if own["uts"] {
		if name, err := hostnameOf(pid); err != nil {
			s.fail("cannot read the child's hostname: %v", err)
		} else if name != "ex1" {
			s.fail(`the child's hostname is %q, not "ex1": keep the script as given, it sets it`, name)
		} else {
			s.ok(`the child's hostname is "ex1", set inside its UTS namespace`)
		}
	}
	if own["pid"] {
		if pids, err := nsPIDs(pid); err != nil {
			s.fail("cannot read the child's PIDs: %v", err)
		} else if len(pids) < 2 || pids[len(pids)-1] != 1 {
			s.fail("the child is not PID 1 of its PID namespace (NSpid %v)", pids)
		} else {
			s.ok("the child is PID 1 in its PID namespace, and PID %d on the host", pids[0])
		}
	}
	if own["net"] {
		if ifs, err := interfacesOf(pid); err != nil {
			s.fail("cannot read the child's network interfaces: %v", err)
		} else if !slices.Equal(ifs, []string{"lo"}) {
			s.fail("the child sees the network interfaces %v, not only lo", ifs)
		} else {
			s.ok("the child's network namespace has only a loopback interface (lo)")
		}
	}
	if s.finish() && alive(pid) {
		s.fail("the child (PID %d) still runs after the program ended: kill it when ctx is done (exec.CommandContext does)", pid)
	}
	if name, _ := os.Hostname(); name != hostHostname {
		s.fail("the host's hostname changed from %q to %q: set it back with the hostname command", hostHostname, name)
	} else {
		s.ok("the host's hostname is unchanged (%q)", name)
	}
}
