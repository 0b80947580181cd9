package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/owner"
)

// v1Controllers are the hierarchies podkit uses on cgroup v1; the freezer
// makes Kill reliable against processes that fork while being killed.
var v1Controllers = []cgroup1.Name{cgroup1.Memory, cgroup1.Cpu, cgroup1.Cpuacct, cgroup1.Pids, cgroup1.Freezer}

func v1Hierarchy() ([]cgroup1.Subsystem, error) {
	all, err := cgroup1.Default()
	if err != nil {
		return nil, err
	}
	var use []cgroup1.Subsystem
	for _, s := range all {
		for _, n := range v1Controllers {
			if s.Name() == n {
				use = append(use, s)
			}
		}
	}
	if len(use) == 0 {
		return nil, errors.New("none of the memory, cpu, cpuacct, pids and freezer controllers is mounted")
	}
	return use, nil
}

type v1Group struct {
	cg     cgroup1.Cgroup
	path   string
	parent string // for a pod's group: the parent, removed with the last pod
	// home is the supervising program's own group, where a thread that
	// entered this group to start a child goes back to.
	home cgroup1.Cgroup
}

// v1Base returns the parent path, below each hierarchy's root.
func v1Base(cfg Config) (string, error) {
	if !cfg.Nested {
		return "/" + cfg.Parent, nil
	}
	paths, err := cgroup1.ParseCgroupFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	own, ok := paths[string(cgroup1.Memory)]
	if !ok {
		return "", errors.New("this program has no memory cgroup to nest in")
	}
	return path.Join(own, cfg.Parent), nil
}

func newV1(cfg Config, name string, l Limits) (Group, error) {
	base, err := v1Base(cfg)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	home, err := cgroup1.Load(cgroup1.PidPath(os.Getpid()), cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		return nil, fmt.Errorf("cgroup: this program's own cgroup: %w", err)
	}
	g, err := newV1At(path.Join(base, name), l, home)
	if err != nil {
		return nil, err
	}
	g.parent = base
	return g, nil
}

func newV1At(p string, l Limits, home cgroup1.Cgroup) (*v1Group, error) {
	cg, err := cgroup1.New(cgroup1.StaticPath(p), l.v1(), cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		return nil, fmt.Errorf("cgroup: create %s: %w", p, err)
	}
	return &v1Group{cg: cg, path: p, home: home}, nil
}

func (g *v1Group) Path() string { return g.path }

func (g *v1Group) Child(name string, l Limits) (Group, error) {
	return newV1At(path.Join(g.path, name), l, g.home)
}

// Attach moves the starting thread into the group: on cgroup v1 membership
// is per thread and a child inherits its creator's, so the child is inside
// before it runs. The thread goes back home right after the start, so the
// group never holds a thread of this program when it is killed.
func (g *v1Group) Attach(*syscall.SysProcAttr) (enter, leave func() error, done func(), err error) {
	enter = func() error {
		if err := g.cg.AddTask(cgroup1.Process{Pid: unix.Gettid()}); err != nil {
			return fmt.Errorf("cgroup: enter %s: %w", g.path, err)
		}
		return nil
	}
	leave = func() error {
		if err := g.home.AddTask(cgroup1.Process{Pid: unix.Gettid()}); err != nil {
			return fmt.Errorf("cgroup: leave %s: %w", g.path, err)
		}
		return nil
	}
	return enter, leave, func() {}, nil
}

func (g *v1Group) Adopt(pid int) error {
	if err := g.cg.Add(cgroup1.Process{Pid: pid}); err != nil {
		return fmt.Errorf("cgroup: move %d into %s: %w", pid, g.path, err)
	}
	return nil
}

func (g *v1Group) ClonesInto() bool { return false }

// Kill freezes the group, so nothing in it can fork, kills every process,
// and thaws it so the kills are delivered.
func (g *v1Group) Kill() error {
	if procs, err := g.cg.Processes(cgroup1.Freezer, true); err == nil && len(procs) == 0 {
		return nil // nothing to freeze, and freezing takes a while
	}
	if err := g.cg.Freeze(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cgroup: freeze %s: %w", g.path, err)
	}
	procs, err := g.cg.Processes(cgroup1.Freezer, true)
	var errs []error
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, p := range procs {
		if err := unix.Kill(p.Pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
			errs = append(errs, fmt.Errorf("kill %d: %w", p.Pid, err))
		}
	}
	if err := g.cg.Thaw(); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cgroup: kill %s: %w", g.path, err)
	}
	return nil
}

func (g *v1Group) Delete() error {
	if err := g.cg.Delete(); err != nil {
		return fmt.Errorf("cgroup: delete %s: %w", g.path, err)
	}
	if g.parent != "" {
		removeV1Parent(g.parent)
	}
	return nil
}

// removeV1Parent removes the parent of pod groups once it is empty; while
// another pod's group is in it, rmdir fails and it stays.
func removeV1Parent(parent string) {
	subsystems, err := v1Hierarchy()
	if err != nil {
		return
	}
	for _, s := range subsystems {
		if ps, ok := s.(interface{ Path(string) string }); ok {
			_ = unix.Rmdir(ps.Path(parent))
		}
	}
}

func (g *v1Group) Stats() (Stats, error) {
	m, err := g.cg.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return Stats{}, fmt.Errorf("cgroup: stats of %s: %w", g.path, err)
	}
	var s Stats
	if m.Memory != nil && m.Memory.Usage != nil {
		s.MemoryUsage, s.MemoryPeak = m.Memory.Usage.Usage, m.Memory.Usage.Max
	}
	if m.MemoryOomControl != nil {
		s.OOMKills = m.MemoryOomControl.OomKill
	}
	if m.CPU != nil && m.CPU.Usage != nil {
		s.CPUUsage = durationNS(m.CPU.Usage.Total)
	}
	if m.CPU != nil && m.CPU.Throttling != nil {
		s.Throttled = m.CPU.Throttling.ThrottledPeriods
	}
	if m.Pids != nil {
		s.Pids = m.Pids.Current
	}
	return s, nil
}

func (g *v1Group) OOMKills() (uint64, error) {
	mount, err := v1MemoryMount()
	if err != nil {
		return 0, err
	}
	return readCounter(filepath.Join(mount, g.path, "memory.oom_control"), "oom_kill")
}

// v1MemoryMount returns where the memory hierarchy is mounted.
func v1MemoryMount() (string, error) {
	subsystems, err := v1Hierarchy()
	if err != nil {
		return "", fmt.Errorf("cgroup: %w", err)
	}
	for _, s := range subsystems {
		if ps, ok := s.(interface{ Path(string) string }); ok && s.Name() == cgroup1.Memory {
			return ps.Path("/"), nil
		}
	}
	return "", errors.New("cgroup: the memory controller is not mounted")
}

// v1 converts limits to the OCI form cgroup1 takes.
func (l Limits) v1() *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if l.Memory > 0 {
		r.Memory = &specs.LinuxMemory{Limit: &l.Memory}
	}
	if l.CPUQuota > 0 || l.CPUShares > 0 {
		r.CPU = &specs.LinuxCPU{}
		if l.CPUQuota > 0 {
			quota, period := l.CPUQuota.Microseconds(), uint64(l.CPUPeriod.Microseconds())
			r.CPU.Quota, r.CPU.Period = &quota, &period
		}
		if l.CPUShares > 0 {
			shares := l.CPUShares
			r.CPU.Shares = &shares
		}
	}
	if l.Pids > 0 {
		r.Pids = &specs.LinuxPids{Limit: &l.Pids}
	}
	return r
}

// cleanupV1 removes the stale pod groups under the parent, in every
// hierarchy podkit uses.
func cleanupV1(cfg Config) ([]string, error) {
	base, err := v1Base(cfg)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	subsystems, err := v1Hierarchy()
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	stale := map[string]bool{}
	for _, s := range subsystems {
		p, ok := s.(interface{ Path(string) string })
		if !ok {
			continue
		}
		entries, err := os.ReadDir(p.Path(base))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() && !owner.Alive(e.Name()) {
				stale[path.Join(base, e.Name())] = true
			}
		}
	}
	var removed []string
	var errs []error
	for p := range stale {
		if err := removeV1Tree(p, subsystems); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	slices.Sort(removed)
	return removed, errors.Join(errs...)
}

// removeV1Tree kills and removes the group at p and the groups below it,
// deepest first.
func removeV1Tree(p string, subsystems []cgroup1.Subsystem) error {
	var children []string
	for _, s := range subsystems {
		if ps, ok := s.(interface{ Path(string) string }); ok {
			entries, _ := os.ReadDir(ps.Path(p))
			for _, e := range entries {
				if e.IsDir() {
					children = append(children, filepath.Join(p, e.Name()))
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, c := range children {
		if !seen[c] {
			seen[c] = true
			if err := removeV1Tree(c, subsystems); err != nil {
				return err
			}
		}
	}
	cg, err := cgroup1.Load(cgroup1.StaticPath(p), cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		return fmt.Errorf("cgroup: load %s: %w", p, err)
	}
	g := &v1Group{cg: cg, path: p}
	if err := g.Kill(); err != nil {
		return err
	}
	return g.Delete()
}
