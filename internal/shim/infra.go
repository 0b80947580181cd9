package shim

import (
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// infraMain runs the pod's infra process. It is started in fresh network
// (unless the pod uses the host's), UTS and IPC namespaces (and a PID
// namespace when the pod shares one), sets them up, reports readiness, and
// then only reaps children until it is killed: as PID 1 it inherits every
// orphan of the pod.
func infraMain(args []string) int {
	if len(args) < 1 || len(args) > 2 || (len(args) == 2 && args[1] != hostNetworkArg) {
		report(Report{Err: fmt.Sprintf("infra: want arguments HOSTNAME [%s], got %q", hostNetworkArg, args)})
		return 2
	}
	ownNet := len(args) == 1
	// Subscribe before reporting ready, so no SIGCHLD is missed, and so that
	// SIGTERM and friends, which PID 1 would otherwise ignore, end the infra.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	if err := setupSandbox(args[0], ownNet); err != nil {
		report(Report{Err: err.Error()})
		return 1
	}
	report(Report{Ready: true})
	_ = unix.Close(statusFD)
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			return 0
		}
		reapAll(func(int, unix.WaitStatus) {})
	}
	return 0
}

func setupSandbox(hostname string, ownNet bool) error {
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		return fmt.Errorf("set hostname %q: %w", hostname, err)
	}
	if !ownNet {
		return nil // the host's loopback is not the infra's to change
	}
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("bring up loopback: %w", err)
	}
	return nil
}

// loopbackUp brings up lo, which a new network namespace has down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// reapAll collects every child that has exited, calling fn for each, and
// returns when none is left to collect right now.
func reapAll(fn func(pid int, ws unix.WaitStatus)) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		fn(pid, ws)
	}
}
