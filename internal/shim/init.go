package shim

import (
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded returns the signals an init passes on to its child: every
// signal but SIGKILL and SIGSTOP, which cannot be caught; SIGCHLD, the
// init's own business; SIGURG, which the Go runtime sends itself to preempt
// goroutines; and 32 and 33, which the C library keeps for itself.
func forwarded() []os.Signal {
	var sigs []os.Signal
	for s := syscall.Signal(1); s <= 64; s++ {
		switch s {
		case unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD, unix.SIGURG, 32, 33:
			continue
		}
		sigs = append(sigs, s)
	}
	return sigs
}

// initMain runs a container's init: PID 1 of the container's own PID
// namespace. Like tini (docker run --init) it starts the container's command
// as its only direct child, forwards signals to it, reaps every orphan, and
// exits when the child exits, reporting the child's exit status. The kernel
// then kills whatever else is left in the namespace.
func initMain(args []string) int {
	if len(args) < 3 || args[1] != "--" {
		report(Report{Err: "init: usage: podkit-init path -- argv0 [args...]"})
		return 2
	}
	path, argv := args[0], args[2:]
	// The child must not inherit the report pipe, so that the parent sees it
	// close when the init exits, or execs.
	unix.CloseOnExec(statusFD)
	setup, err := readSetup()
	if err != nil {
		report(Report{Err: err.Error()})
		return 127
	}
	if !setup.FS.Empty() {
		if err := setup.FS.setup(); err != nil {
			report(Report{Err: "init: " + err.Error()})
			return 127
		}
	}
	env := childEnv()
	if setup.Exec {
		if !setup.waitGate() {
			report(Report{Err: errGateClosed})
			return 127
		}
		// Success is the report pipe closing on execve.
		err := execWith(setup, path, argv, env)
		report(Report{Err: err.Error()})
		return 127
	}
	if setup, env, err = setup.resolveInRoot(env); err == nil {
		path, err = setup.lookPath(path, env)
	}
	if err != nil {
		report(Report{Err: err.Error()})
		return 127
	}
	if !setup.waitGate() {
		report(Report{Err: errGateClosed})
		return 127
	}
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, append(forwarded(), unix.SIGCHLD)...)

	// The child inherits what limitThread sets on this thread, the one that
	// forks it; the user and groups it changes itself before it executes.
	runtime.LockOSThread()
	if err := setup.limitThread(); err != nil {
		report(Report{Err: err.Error()})
		return 127
	}
	// The seccomp filter, loaded on this thread, confines the child from
	// its fork on; the init's own work (signals, reaping) is all allowed.
	if err := setup.loadSeccomp(); err != nil {
		report(Report{Err: err.Error()})
		return 127
	}
	child, err := os.StartProcess(path, argv, &os.ProcAttr{
		Env:   env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Credential: setup.credential()},
	})
	if err != nil {
		report(Report{Err: err.Error()})
		return 127
	}
	report(Report{Ready: true})

	for sig := range sigs {
		if sig != unix.SIGCHLD {
			// ESRCH means the child is already a zombie; its SIGCHLD follows.
			_ = unix.Kill(child.Pid, sig.(syscall.Signal))
			continue
		}
		code := -1
		reapAll(func(pid int, ws unix.WaitStatus) {
			if pid != child.Pid {
				return
			}
			r := Report{Exited: true}
			switch {
			case ws.Signaled():
				r.Signal = int(ws.Signal())
				r.ExitCode = 128 + r.Signal
			default:
				r.ExitCode = ws.ExitStatus()
			}
			report(r)
			code = r.ExitCode
		})
		if code >= 0 {
			return code
		}
	}
	return 1 // unreachable: sigs is never closed
}
