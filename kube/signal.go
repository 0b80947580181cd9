package kube

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Kubernetes names stop signals as Linux does, with the real-time signals
// counted from SIGRTMIN (34, as glibc reports it) and back from SIGRTMAX
// (64): SIGRTMIN+1 ... SIGRTMIN+15, SIGRTMAX-14 ... SIGRTMAX-1.
const (
	sigRTMin = 34
	sigRTMax = 64
)

// signalAliases are the other names Kubernetes accepts.
var signalAliases = map[string]syscall.Signal{
	"SIGCLD":  syscall.SIGCHLD,
	"SIGIOT":  syscall.SIGABRT,
	"SIGPOLL": syscall.SIGIO,
}

// parseSignal returns the signal Kubernetes names name.
func parseSignal(name string) (syscall.Signal, bool) {
	if s, ok := signalAliases[name]; ok {
		return s, true
	}
	switch {
	case name == "SIGRTMIN":
		return sigRTMin, true
	case name == "SIGRTMAX":
		return sigRTMax, true
	case strings.HasPrefix(name, "SIGRTMIN+"):
		n, err := strconv.Atoi(strings.TrimPrefix(name, "SIGRTMIN+"))
		if err != nil || n < 1 || n > 15 {
			return 0, false
		}
		return syscall.Signal(sigRTMin + n), true
	case strings.HasPrefix(name, "SIGRTMAX-"):
		n, err := strconv.Atoi(strings.TrimPrefix(name, "SIGRTMAX-"))
		if err != nil || n < 1 || n > 14 {
			return 0, false
		}
		return syscall.Signal(sigRTMax - n), true
	}
	s := unix.SignalNum(name)
	return s, s >= 1 && s <= 31
}

// signalName returns Kubernetes' name for s.
func signalName(s syscall.Signal) (string, error) {
	switch {
	case s >= 1 && s <= 31:
		if n := unix.SignalName(s); n != "" {
			return n, nil
		}
	case s == sigRTMin:
		return "SIGRTMIN", nil
	case s > sigRTMin && s <= sigRTMin+15:
		return fmt.Sprintf("SIGRTMIN+%d", s-sigRTMin), nil
	case s >= sigRTMax-14 && s < sigRTMax:
		return fmt.Sprintf("SIGRTMAX-%d", sigRTMax-s), nil
	case s == sigRTMax:
		return "SIGRTMAX", nil
	}
	return "", fmt.Errorf("signal %d has no Kubernetes name", int(s))
}
