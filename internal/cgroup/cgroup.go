// Package cgroup places a pod's processes in control groups with resource
// limits, on cgroup v1 (legacy and hybrid hosts) and v2 (unified hosts),
// through github.com/containerd/cgroups/v3.
//
// A pod has a group under a common parent ("podkit" by default), and each
// container a group nested in its pod's. Group names carry the PID and start
// time of the supervising program, so that groups left behind by a
// supervisor that died can be recognised and removed (CleanupStale).
package cgroup

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
)

// Limits are the resource limits of one group. Zero fields set nothing.
type Limits struct {
	// CPUQuota is the CPU time the group may use per CPUPeriod.
	CPUQuota  time.Duration
	CPUPeriod time.Duration
	// CPUShares is the group's relative CPU weight in cgroup v1 units
	// (2 to 262144); it is converted for cgroup v2.
	CPUShares uint64
	// Memory is the memory limit in bytes.
	Memory int64
	// Pids is the maximum number of tasks.
	Pids int64
}

// Stats are a group's usage counters.
type Stats struct {
	MemoryUsage uint64        // bytes now
	MemoryPeak  uint64        // bytes at most so far
	CPUUsage    time.Duration // CPU time used
	Throttled   uint64        // CFS periods in which the group was throttled
	Pids        uint64        // tasks now
	OOMKills    uint64        // processes killed by the OOM killer
}

// Group is one control group. Its methods are safe for concurrent use.
type Group interface {
	// Child creates the named group inside this one.
	Child(name string, l Limits) (Group, error)
	// Attach prepares a child process to start inside the group. It may set
	// fields of attr; enter and leave, when not nil, run on the thread that
	// starts the child, right before and right after the start, and done
	// releases what Attach holds once the child has started.
	Attach(attr *syscall.SysProcAttr) (enter, leave func() error, done func(), err error)
	// Kill sends SIGKILL to every process in the group and its children.
	Kill() error
	// Delete removes the group, which must hold no process and no child
	// group.
	Delete() error
	// Stats returns the group's counters.
	Stats() (Stats, error)
	// Path is the group's path below the hierarchy's root.
	Path() string
}

// Config says where groups go.
type Config struct {
	// Parent is the group that holds every pod's group, relative to the
	// root of the hierarchy, or to the supervising program's own group
	// when Nested is set. Default "podkit".
	Parent string
	// Nested places Parent under the supervising program's own cgroup,
	// for programs running in a delegated cgroup.
	Nested bool
	// Version forces cgroup v1 or v2; zero detects it with cgroups.Mode:
	// v2 on unified hosts, v1 on legacy and hybrid ones.
	Version int
	// V2Mount is the cgroup2 mount point. Default /sys/fs/cgroup.
	V2Mount string
}

// Available reports whether the host has a cgroup hierarchy podkit can use.
func Available() bool { return cgroups.Mode() != cgroups.Unavailable }

func (c Config) withDefaults() (Config, error) {
	if c.Parent == "" {
		c.Parent = "podkit"
	}
	if strings.Contains(c.Parent, "..") {
		return c, fmt.Errorf("cgroup: parent %q: must not contain '..'", c.Parent)
	}
	c.Parent = strings.Trim(c.Parent, "/")
	if c.V2Mount == "" {
		c.V2Mount = "/sys/fs/cgroup"
	}
	if c.Version == 0 {
		switch cgroups.Mode() {
		case cgroups.Unified:
			c.Version = 2
		case cgroups.Legacy, cgroups.Hybrid:
			c.Version = 1
		default:
			return c, errors.New("cgroup: no cgroup hierarchy is mounted")
		}
	}
	if c.Version != 1 && c.Version != 2 {
		return c, fmt.Errorf("cgroup: version %d: want 1 or 2", c.Version)
	}
	return c, nil
}

// NewPod creates the group of a pod named pod, owned by this program.
func NewPod(cfg Config, pod string, l Limits) (Group, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	name, err := ownedName(pod)
	if err != nil {
		return nil, err
	}
	if cfg.Version == 2 {
		return newV2(cfg, name, l)
	}
	return newV1(cfg, name, l)
}

// CleanupStale kills what is left in, and removes, every pod group under the
// parent whose supervising program is no longer running. It returns the
// paths it removed.
func CleanupStale(cfg Config) ([]string, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Version == 2 {
		return cleanupV2(cfg)
	}
	return cleanupV1(cfg)
}

// ownedName returns "<pod>_<pid>_<start>_<n>": the pod's name, and the PID and
// start time (in clock ticks since boot) of this program, which together
// identify it even after its PID is reused, and tells apart pods of the
// same name: a random suffix.
func ownedName(pod string) (string, error) {
	start, err := startTime(os.Getpid())
	if err != nil {
		return "", fmt.Errorf("cgroup: %w", err)
	}
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("cgroup: %w", err)
	}
	return fmt.Sprintf("%s_%d_%d_%x", pod, os.Getpid(), start, r), nil
}

// ownerAlive reports whether the program that owns the group name is still
// running. Names that are not podkit's are reported alive, so that they are
// left alone.
func ownerAlive(name string) bool {
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

func durationNS(ns uint64) time.Duration { return time.Duration(ns) }
