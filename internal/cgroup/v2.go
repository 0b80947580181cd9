package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containerd/cgroups/v3/cgroup2"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/owner"
)

type v2Group struct {
	m      *cgroup2.Manager
	mount  string
	path   string // below mount, starting with '/'
	parent string // for a pod's group: the parent, removed with the last pod
}

func v2Base(cfg Config) (string, error) {
	if !cfg.Nested {
		return "/" + cfg.Parent, nil
	}
	own, err := cgroup2.NestedGroupPath("")
	if err != nil {
		return "", err
	}
	return path.Join(own, cfg.Parent), nil
}

func newV2(cfg Config, name string, l Limits) (Group, error) {
	base, err := v2Base(cfg)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	g, err := newV2At(cfg.V2Mount, path.Join(base, name), l)
	if err != nil {
		return nil, err
	}
	g.parent = base
	return g, nil
}

func newV2At(mount, group string, l Limits) (*v2Group, error) {
	m, err := cgroup2.NewManager(mount, group, l.v2())
	if err != nil {
		return nil, fmt.Errorf("cgroup: create %s: %w", group, err)
	}
	return &v2Group{m: m, mount: mount, path: group}, nil
}

func (g *v2Group) Path() string { return g.path }

func (g *v2Group) Child(name string, l Limits) (Group, error) {
	return newV2At(g.mount, path.Join(g.path, name), l)
}

// Attach starts the child directly inside the group with clone3's
// CLONE_INTO_CGROUP.
func (g *v2Group) Attach(attr *syscall.SysProcAttr) (enter, leave func() error, done func(), err error) {
	fd, err := unix.Open(filepath.Join(g.mount, g.path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cgroup: open %s: %w", g.path, err)
	}
	attr.UseCgroupFD, attr.CgroupFD = true, fd
	return nil, nil, func() { unix.Close(fd) }, nil
}

func (g *v2Group) Adopt(pid int) error {
	if err := g.m.AddProc(uint64(pid)); err != nil {
		return fmt.Errorf("cgroup: move %d into %s: %w", pid, g.path, err)
	}
	return nil
}

func (g *v2Group) ClonesInto() bool { return true }

func (g *v2Group) Kill() error {
	// cgroup.kill exists since Linux 5.14; without it cgroup2 falls back to
	// a freeze-and-kill that would also reap this program's children.
	if _, err := os.Stat(filepath.Join(g.mount, g.path, "cgroup.kill")); err != nil {
		return fmt.Errorf("cgroup: kill %s: cgroup.kill not available (Linux 5.14 or later needed): %w", g.path, err)
	}
	if err := g.m.Kill(); err != nil {
		return fmt.Errorf("cgroup: kill %s: %w", g.path, err)
	}
	return nil
}

func (g *v2Group) Delete() error {
	if err := g.m.Delete(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cgroup: delete %s: %w", g.path, err)
	}
	if g.parent != "" {
		// Fails, harmlessly, while another pod's group is in it.
		_ = unix.Rmdir(filepath.Join(g.mount, g.parent))
	}
	return nil
}

func (g *v2Group) Stats() (Stats, error) {
	m, err := g.m.Stat()
	if err != nil {
		return Stats{}, fmt.Errorf("cgroup: stats of %s: %w", g.path, err)
	}
	var s Stats
	if m.Memory != nil {
		s.MemoryUsage, s.MemoryPeak = m.Memory.Usage, m.Memory.MaxUsage
	}
	if m.MemoryEvents != nil {
		s.OOMKills = m.MemoryEvents.OomKill
	}
	if m.CPU != nil {
		s.CPUUsage = durationNS(m.CPU.UsageUsec * 1000)
		s.Throttled = m.CPU.NrThrottled
	}
	if m.Pids != nil {
		s.Pids = m.Pids.Current
	}
	return s, nil
}

func (g *v2Group) OOMKills() (uint64, error) {
	n, err := readCounter(filepath.Join(g.mount, g.path, "memory.events"), "oom_kill")
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil // no memory controller here
	}
	return n, err
}

// v2 converts limits for cgroup2, converting shares to weight as the kubelet
// does.
func (l Limits) v2() *cgroup2.Resources {
	r := &cgroup2.Resources{}
	if l.Memory > 0 {
		r.Memory = &cgroup2.Memory{Max: &l.Memory}
	}
	if l.CPUQuota > 0 || l.CPUShares > 0 {
		r.CPU = &cgroup2.CPU{}
		if l.CPUQuota > 0 {
			period := uint64(l.CPUPeriod.Microseconds())
			quota := l.CPUQuota.Microseconds()
			r.CPU.Max = cgroup2.NewCPUMax(&quota, &period)
		}
		if l.CPUShares > 0 {
			w := 1 + ((l.CPUShares-2)*9999)/262142
			r.CPU.Weight = &w
		}
	}
	if l.Pids > 0 {
		r.Pids = &cgroup2.Pids{Max: l.Pids}
	}
	return r
}

func cleanupV2(cfg Config) ([]string, error) {
	base, err := v2Base(cfg)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	entries, err := os.ReadDir(filepath.Join(cfg.V2Mount, base))
	if err != nil {
		return nil, nil
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || owner.Alive(e.Name()) {
			continue
		}
		p := path.Join(base, e.Name())
		if err := removeV2Tree(cfg.V2Mount, p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

func removeV2Tree(mount, p string) error {
	m, err := cgroup2.Load(p, cgroup2.WithMountpoint(mount))
	if err != nil {
		return fmt.Errorf("cgroup: load %s: %w", p, err)
	}
	g := &v2Group{m: m, mount: mount, path: p}
	if err := g.Kill(); err != nil {
		return err
	}
	entries, _ := os.ReadDir(filepath.Join(mount, p))
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			if err := removeV2Tree(mount, path.Join(p, e.Name())); err != nil {
				return err
			}
		}
	}
	return g.Delete()
}
