// Package owner names the things a pod leaves on the host (cgroups, volume
// directories) after the program that supervises it, so that what a
// supervisor that died left behind can be recognised and removed.
package owner

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Name returns "<pod>_<pid>_<start>_<random>": the pod's name (cut, with a
// digest of it, to keep the whole within 255 bytes), and the PID
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
	suffix := fmt.Sprintf("_%d_%d_%x", os.Getpid(), start, r)
	if len(pod)+len(suffix) > maxName {
		// A file name holds at most 255 bytes: a long pod name is cut,
		// and a digest of the whole keeps names of different pods apart.
		sum := sha256.Sum256([]byte(pod))
		digest := hex.EncodeToString(sum[:4])
		pod = pod[:maxName-len(suffix)-len(digest)-1] + "-" + digest
	}
	return pod + suffix, nil
}

// maxName is the longest file name Linux filesystems take (NAME_MAX): a
// name is that of a directory in the state tree and of a cgroup.
const maxName = 255

// Alive reports whether the program that owns name is still running: its
// PID has the start time the name records, and it is not a zombie (state Z)
// or dead (X). A supervisor killed by a signal stays a zombie until its
// parent reaps it, and what it leaves is already free to remove. Names not
// made by Name are reported alive, so that they are left alone.
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
	st, err := readStat(pid)
	return err == nil && st.start == start && st.state != 'Z' && st.state != 'X'
}

// startTime reads a process's start time, in clock ticks after boot, from
// /proc/PID/stat.
func startTime(pid int) (uint64, error) {
	st, err := readStat(pid)
	return st.start, err
}

// stat is what Alive reads of /proc/PID/stat.
type stat struct {
	state byte   // field 3: R, S, D, Z, X, ...
	start uint64 // field 22: start time in clock ticks after boot
}

// readStat reads a process's state and start time from /proc/PID/stat.
func readStat(pid int) (stat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	// The command name, in parentheses, may hold spaces: count fields after it.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	const startField = 22 - 3 // field 22 of stat; fields[0] is field 3
	if len(fields) <= startField || len(fields[0]) != 1 {
		return stat{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	start, err := strconv.ParseUint(fields[startField], 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("malformed /proc/%d/stat: %w", pid, err)
	}
	return stat{state: fields[0][0], start: start}, nil
}
