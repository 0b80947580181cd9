package pod

import (
	"errors"
	"fmt"
	"time"

	"github.com/podkit/podkit/internal/cgroup"
)

// Resources bounds a container, or a whole pod, like Kubernetes' resources.
// Zero fields set no limit: a container without a limit is still bounded by
// its pod's.
type Resources struct {
	// CPULimit is the CPU time the container may use, in millicores (1000 is
	// one CPU), enforced as a CFS quota per 100ms period.
	CPULimit int64
	// CPURequest is the container's share of the CPU when CPUs are
	// contended, in millicores: cpu.shares of 1024 per CPU on cgroup v1, the
	// equivalent cpu.weight on v2, converted as the kubelet does. Zero takes
	// CPULimit, as Kubernetes does.
	CPURequest int64
	// MemoryLimit is the memory limit in bytes. A container that exceeds it
	// is killed by the kernel's OOM killer and reported OOMKilled.
	MemoryLimit int64
	// PidsLimit is the maximum number of processes and threads.
	PidsLimit int64
}

// Bounds of Resources, checked by New.
const (
	MinMemoryLimit = 6 << 20 // a process needs a few MiB to start at all
	maxMemoryLimit = 1 << 50
	minCPULimit    = 10        // millicores: a quota of 1ms per 100ms
	maxCPU         = 1_000_000 // millicores: a thousand CPUs
	maxPids        = 1 << 22   // the kernel's largest pid_max
	cpuPeriod      = 100 * time.Millisecond
)

// limits converts r as the kubelet does.
func (r Resources) limits() cgroup.Limits {
	var l cgroup.Limits
	if r.CPULimit > 0 {
		l.CPUPeriod = cpuPeriod
		l.CPUQuota = max(time.Duration(r.CPULimit)*cpuPeriod/1000, time.Millisecond)
	}
	request := r.CPURequest
	if request == 0 {
		request = r.CPULimit
	}
	if request > 0 {
		l.CPUShares = uint64(min(max(request*1024/1000, 2), 262144))
	}
	l.Memory = r.MemoryLimit
	l.Pids = r.PidsLimit
	return l
}

func (r Resources) validate(errs *fieldErrors, field string) {
	check := func(name string, v, lo, hi int64, unit string) {
		switch {
		case v < 0:
			errs.add(field+"."+name, fmt.Sprint(v), "must not be negative")
		case v > 0 && v < lo:
			errs.add(field+"."+name, fmt.Sprint(v), fmt.Sprintf("must be at least %d%s", lo, unit))
		case v > hi:
			errs.add(field+"."+name, fmt.Sprint(v), fmt.Sprintf("must be at most %d%s", hi, unit))
		}
	}
	check("cpuLimit", r.CPULimit, minCPULimit, maxCPU, " millicores")
	check("cpuRequest", r.CPURequest, 1, maxCPU, " millicores")
	check("memoryLimit", r.MemoryLimit, MinMemoryLimit, maxMemoryLimit, " bytes")
	check("pidsLimit", r.PidsLimit, 1, maxPids, "")
	if r.CPULimit > 0 && r.CPURequest > r.CPULimit {
		errs.add(field+".cpuRequest", fmt.Sprint(r.CPURequest), fmt.Sprintf("must not exceed cpuLimit (%d)", r.CPULimit))
	}
}

// Usage is a snapshot of resource usage.
type Usage struct {
	MemoryBytes      uint64        // memory in use
	MemoryPeakBytes  uint64        // the most memory used so far
	CPUTime          time.Duration // CPU time used
	ThrottledPeriods uint64        // CFS periods in which the CPU limit held it back
	Pids             uint64        // processes and threads now
	OOMKills         uint64        // processes killed for exceeding the memory limit
}

// Stats is the resource usage of a pod and of each of its containers.
type Stats struct {
	Pod        Usage
	Containers map[string]Usage
}

// Stats reads the pod's resource usage from its cgroups. It fails before
// Start and after the pod has finished, when the cgroups are gone.
func (p *Pod) Stats() (Stats, error) {
	p.mu.Lock()
	podGroup := p.cgroup
	groups := make(map[string]cgroup.Group)
	for _, m := range p.members {
		if m.cgroup != nil {
			groups[m.spec.Name] = m.cgroup
		}
	}
	p.mu.Unlock()
	if podGroup == nil {
		return Stats{}, fmt.Errorf("pod %q: stats: %w", p.name, ErrNotRunning)
	}
	var errs []error
	s := Stats{Containers: make(map[string]Usage)}
	u, err := podGroup.Stats()
	errs = append(errs, err)
	s.Pod = usage(u)
	for name, g := range groups {
		u, err := g.Stats()
		errs = append(errs, err)
		s.Containers[name] = usage(u)
	}
	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("pod %q: stats: %w", p.name, err)
	}
	return s, nil
}

func usage(s cgroup.Stats) Usage {
	return Usage{MemoryBytes: s.MemoryUsage, MemoryPeakBytes: s.MemoryPeak, CPUTime: s.CPUUsage, ThrottledPeriods: s.Throttled, Pids: s.Pids, OOMKills: s.OOMKills}
}
