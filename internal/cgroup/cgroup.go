// Package cgroup places a pod's processes in control groups with resource
// limits, on cgroup v1 (legacy and hybrid hosts) and v2 (unified hosts),
// through github.com/containerd/cgroups/v3.
//
// A pod has a group under a common parent ("podkit" by default), and each
// container a group nested in its pod's. A pod's group is named with
// owner.Name, so that groups left behind by a supervisor that died can be
// recognised and removed (CleanupStale).
package cgroup

import (
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
	// Adopt moves a running process, with all its threads, into the group:
	// for processes that run only podkit's own code until they are placed.
	Adopt(pid int) error
	// ClonesInto reports whether Attach places a child at clone time
	// (cgroup v2), which costs nothing; on cgroup v1 Attach and Adopt
	// migrate a task, which the kernel makes wait for an RCU grace period
	// when no migration happened just before.
	ClonesInto() bool
	// Kill sends SIGKILL to every process in the group and its children.
	Kill() error
	// Delete removes the group, which must hold no process and no child
	// group.
	Delete() error
	// Stats returns the group's counters.
	Stats() (Stats, error)
	// OOMKills returns how many processes of the group the OOM killer has
	// killed: Stats().OOMKills, read from one file.
	OOMKills() (uint64, error)
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

// NewPod creates the group of a pod; name is the pod's owner.Name.
func NewPod(cfg Config, name string, l Limits) (Group, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// Another supervisor may remove the shared parent, once empty, between
	// our creating it and creating the pod's group in it: try again then.
	for attempt := 1; ; attempt++ {
		var g Group
		if cfg.Version == 2 {
			g, err = newV2(cfg, name, l)
		} else {
			g, err = newV1(cfg, name, l)
		}
		if err == nil || !errors.Is(err, os.ErrNotExist) || attempt == 3 {
			return g, err
		}
	}
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

func durationNS(ns uint64) time.Duration { return time.Duration(ns) }

// readCounter reads the value of key from a cgroup file of "key value" lines,
// such as memory.oom_control (v1) or memory.events (v2).
func readCounter(file, key string) (uint64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("cgroup: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cgroup: %s: %w", file, err)
			}
			return n, nil
		}
	}
	return 0, nil
}
