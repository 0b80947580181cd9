package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// What the checker observes of the processes a program starts, through
// /proc and, for the hostname, by entering a process's UTS namespace. The
// checker itself runs in the host's namespaces: its own are "the host's".

// nsOf returns the namespace of kind ("uts", "pid", "net", "ipc") that
// process pid is in, as its /proc link reads: "net:[4026532712]".
func nsOf(pid int, kind string) (string, error) {
	return os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
}

// hostNS returns the host's namespace of kind.
func hostNS(kind string) string {
	ns, err := os.Readlink("/proc/self/ns/" + kind)
	if err != nil {
		return "?"
	}
	return ns
}

// hostnameOf returns the hostname that process pid sees: uname(2) called
// from inside its UTS namespace, on a thread that enters it and comes back.
func hostnameOf(pid int) (string, error) {
	target, err := os.Open(fmt.Sprintf("/proc/%d/ns/uts", pid))
	if err != nil {
		return "", err
	}
	defer target.Close()
	type result struct {
		name string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/uts")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer home.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWUTS); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("entering the UTS namespace of PID %d: %w", pid, err)}
			return
		}
		var u unix.Utsname
		err = unix.Uname(&u)
		// Back home, the thread can serve other goroutines. Were it left to
		// end instead, the programs this checker started from it would get
		// their parent-death signal.
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWUTS) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{name: unix.ByteSliceToString(u.Nodename[:]), err: err}
	}()
	r := <-ch
	return r.name, r.err
}

// nsPIDs returns the PIDs of process pid in each PID namespace it is in,
// from the host's to its own (the NSpid line of /proc/PID/status).
func nsPIDs(pid int) ([]int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "NSpid:")
		if !ok {
			continue
		}
		var pids []int
		for _, field := range strings.Fields(rest) {
			n, err := strconv.Atoi(field)
			if err != nil {
				return nil, err
			}
			pids = append(pids, n)
		}
		return pids, nil
	}
	return nil, errors.New("no NSpid line")
}

// interfacesOf returns the network interfaces of process pid's network
// namespace (/proc/PID/net/dev shows that namespace's).
func interfacesOf(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return nil, err
	}
	var names []string
	for i, line := range strings.Split(string(data), "\n") {
		name, _, ok := strings.Cut(line, ":")
		if i < 2 || !ok {
			continue
		}
		names = append(names, strings.TrimSpace(name))
	}
	return names, nil
}

// listensOn reports whether a socket of process pid's network namespace
// listens on 127.0.0.1:port (from /proc/PID/net/tcp).
func listensOn(pid, port int) (bool, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		return false, err
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == want && f[3] == "0A" { // 0A: LISTEN
			return true, nil
		}
	}
	return false, nil
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}
