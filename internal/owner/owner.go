// Package owner names the things a pod leaves on the host (cgroups, volume
// directories) after the program that supervises it, so that what a
// supervisor that died left behind can be recognised and removed.
package owner

import (
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Name returns "<pod>_<pid>_<start>_<random>": the pod's name, and the PID
// and start time (in clock ticks after boot) of this program, which together
// identify it even after its PID is reused, and a random suffix that tells
// apart pods of the same name.
func Name(pod string) (string, error) {
	start, err := startTime(os.Getpid())
	if err != nil {
		return "", fmt.Errorf("owner: %w", err)
	}
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("owner: %w", err)
	}
	return fmt.Sprintf("%s_%d_%d_%x", pod, os.Getpid(), start, r), nil
}

// Alive reports whether the program that owns name is still running. Names
// not made by Name are reported alive, so that they are left alone.
func Alive(name string) bool {
	parts := strings.Split(name, "_")
	if len(parts) != 4 {
		return true
	}
	pid, err1 := strconv.Atoi(parts[1])
	start, err2 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return true
	}
	got, err := startTime(pid)
	return err == nil && got == start
}

// startTime reads a process's start time, in clock ticks after boot, from
// /proc/PID/stat.
func startTime(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields after it.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	const startField = 22 - 3 // field 22 of stat; fields[0] is field 3
	if len(fields) <= startField {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return strconv.ParseUint(fields[startField], 10, 64)
}
