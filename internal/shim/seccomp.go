package shim

import (
	"fmt"
	"slices"
	"strings"

	bpfseccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/moby/profiles/seccomp"
	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SeccompRuntimeDefault in Setup.Seccomp asks for the container runtimes'
// default seccomp profile: moby's, the one Docker and containerd apply.
const SeccompRuntimeDefault = "RuntimeDefault"

// runtimeDefaultPolicy returns moby's default seccomp profile, resolved for
// a process whose bounding set is bounding ("CAP_SYS_ADMIN", ...), for the
// running architecture and kernel, as a policy go-seccomp-bpf compiles.
func runtimeDefaultPolicy(bounding []string) (bpfseccomp.Policy, error) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: bounding}}}
	profile, err := seccomp.GetDefaultProfile(spec)
	if err != nil {
		return bpfseccomp.Policy{}, fmt.Errorf("seccomp: the default profile: %w", err)
	}
	return seccompPolicy(profile)
}

// seccompPolicy translates a resolved OCI seccomp profile into a policy for
// the running architecture. Its rules keep runc's meaning: the conditions
// of a rule must all hold, except that conditions on one argument index
// repeated in a rule are alternatives, each a rule of its own. Syscalls
// this architecture does not know are left out, as libseccomp leaves them
// out. Rules that deny come before rules that allow, so where both match
// the denial wins. A condition go-seccomp-bpf cannot express drops an
// allowing rule (the call is denied) and makes a denying rule
// unconditional (the call is always denied).
func seccompPolicy(profile *specs.LinuxSeccomp) (bpfseccomp.Policy, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return bpfseccomp.Policy{}, fmt.Errorf("seccomp: %w", err)
	}
	def, err := seccompAction(profile.DefaultAction, profile.DefaultErrnoRet)
	if err != nil {
		return bpfseccomp.Policy{}, fmt.Errorf("seccomp: default action: %w", err)
	}
	if def == bpfseccomp.ActionErrno|bpfseccomp.Action(unix.EPERM) {
		def = bpfseccomp.ActionErrno // go-seccomp-bpf's default errno is EPERM
	}
	type rules struct {
		action bpfseccomp.Action
		names  []string                                   // in first-seen order
		conds  map[string][]bpfseccomp.ArgumentConditions // nil: unconditional
	}
	var groups []*rules
	group := func(a bpfseccomp.Action) *rules {
		for _, g := range groups {
			if g.action == a {
				return g
			}
		}
		g := &rules{action: a, conds: make(map[string][]bpfseccomp.ArgumentConditions)}
		groups = append(groups, g)
		return g
	}
	for _, call := range profile.Syscalls {
		a, err := seccompAction(call.Action, call.ErrnoRet)
		if err != nil {
			return bpfseccomp.Policy{}, fmt.Errorf("seccomp: %s: %w", strings.Join(call.Names, ","), err)
		}
		alts, ok := seccompConditions(call.Args)
		if !ok {
			if a == bpfseccomp.ActionAllow {
				continue
			}
			alts = nil
		}
		g := group(a)
		for _, name := range call.Names {
			if _, known := info.SyscallNames[name]; !known {
				continue
			}
			old, seen := g.conds[name]
			switch {
			case !seen:
				g.names = append(g.names, name)
				g.conds[name] = alts
			case old == nil || alts == nil:
				g.conds[name] = nil // an unconditional rule covers the rest
			default:
				g.conds[name] = append(old, alts...)
			}
		}
	}
	// Denials first; a stable sort keeps the profile's order otherwise.
	slices.SortStableFunc(groups, func(a, b *rules) int {
		return boolInt(a.action == bpfseccomp.ActionAllow) - boolInt(b.action == bpfseccomp.ActionAllow)
	})
	policy := bpfseccomp.Policy{DefaultAction: def}
	for _, g := range groups {
		sg := bpfseccomp.SyscallGroup{Action: g.action}
		for _, name := range g.names {
			if g.conds[name] == nil {
				sg.Names = append(sg.Names, name)
				continue
			}
			for _, c := range g.conds[name] {
				sg.NamesWithCondtions = append(sg.NamesWithCondtions, bpfseccomp.NameWithConditions{Name: name, Conditions: c})
			}
		}
		policy.Syscalls = append(policy.Syscalls, sg)
	}
	return policy, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// seccompAction maps an OCI action, with its errno, onto go-seccomp-bpf's.
func seccompAction(a specs.LinuxSeccompAction, errno *uint) (bpfseccomp.Action, error) {
	switch a {
	case specs.ActAllow:
		return bpfseccomp.ActionAllow, nil
	case specs.ActErrno:
		e := uint(unix.EPERM) // runc's errno when the profile names none
		if errno != nil {
			e = *errno
		}
		if e > 0xffff {
			return 0, fmt.Errorf("errno %d out of range", e)
		}
		return bpfseccomp.ActionErrno | bpfseccomp.Action(e), nil
	case specs.ActKill, specs.ActKillThread:
		return bpfseccomp.ActionKillThread, nil
	case specs.ActKillProcess:
		return bpfseccomp.ActionKillProcess, nil
	case specs.ActTrap:
		return bpfseccomp.ActionTrap, nil
	case specs.ActLog:
		return bpfseccomp.ActionLog, nil
	}
	return 0, fmt.Errorf("action %s is not supported", a)
}

// seccompConditions maps a rule's argument comparisons onto alternative
// sets of conditions (nil: unconditional), as runc reads them; false means
// one cannot be expressed.
func seccompConditions(args []specs.LinuxSeccompArg) ([]bpfseccomp.ArgumentConditions, bool) {
	if len(args) == 0 {
		return nil, true
	}
	conds := make([]bpfseccomp.Condition, 0, len(args))
	count := make(map[uint]int)
	repeated := false
	for _, arg := range args {
		c, ok := seccompCondition(arg)
		if !ok {
			return nil, false
		}
		conds = append(conds, c)
		count[arg.Index]++
		repeated = repeated || count[arg.Index] > 1
	}
	if !repeated {
		return []bpfseccomp.ArgumentConditions{conds}, true
	}
	alts := make([]bpfseccomp.ArgumentConditions, 0, len(conds))
	for _, c := range conds {
		alts = append(alts, bpfseccomp.ArgumentConditions{c})
	}
	return alts, true
}

// seccompCondition maps one comparison. A masked comparison maps when it
// asks for none of the mask's bits (BitsNotSet), or for the mask's only
// bit (BitsSet); any other form has no go-seccomp-bpf equivalent.
func seccompCondition(arg specs.LinuxSeccompArg) (bpfseccomp.Condition, bool) {
	if arg.Index > 5 {
		return bpfseccomp.Condition{}, false
	}
	c := bpfseccomp.Condition{Argument: uint32(arg.Index), Value: arg.Value}
	switch arg.Op {
	case specs.OpNotEqual:
		c.Operation = bpfseccomp.NotEqual
	case specs.OpLessThan:
		c.Operation = bpfseccomp.LessThan
	case specs.OpLessEqual:
		c.Operation = bpfseccomp.LessOrEqual
	case specs.OpEqualTo:
		c.Operation = bpfseccomp.Equal
	case specs.OpGreaterEqual:
		c.Operation = bpfseccomp.GreaterOrEqual
	case specs.OpGreaterThan:
		c.Operation = bpfseccomp.GreaterThan
	case specs.OpMaskedEqual:
		switch {
		case arg.ValueTwo == 0:
			c.Operation = bpfseccomp.BitsNotSet
		case arg.ValueTwo == arg.Value && arg.Value&(arg.Value-1) == 0:
			c.Operation = bpfseccomp.BitsSet
		default:
			return bpfseccomp.Condition{}, false
		}
	default:
		return bpfseccomp.Condition{}, false
	}
	return c, true
}

// boundingNames returns the names of the calling thread's bounding set.
func boundingNames() ([]string, error) {
	caps, err := capability.NewPid2(0)
	if err == nil {
		err = caps.Load()
	}
	if err != nil {
		return nil, fmt.Errorf("init: capabilities: %w", err)
	}
	var names []string
	for _, c := range capability.ListKnown() {
		if caps.Get(capability.BOUNDING, c) {
			names = append(names, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	return names, nil
}

// loadSeccomp loads s.Seccomp's filter on the calling thread, which must be
// locked: what the thread executes or starts afterwards inherits it. The
// profile is resolved for the thread's bounding set, as runtimes resolve
// it for the container's capabilities. Loading needs no_new_privs or
// CAP_SYS_ADMIN in the thread's effective set.
func (s Setup) loadSeccomp() error {
	if s.Seccomp == "" {
		return nil
	}
	if s.Seccomp != SeccompRuntimeDefault {
		return fmt.Errorf("init: seccomp profile %q: only %s is supported", s.Seccomp, SeccompRuntimeDefault)
	}
	bounding, err := boundingNames()
	if err != nil {
		return err
	}
	policy, err := runtimeDefaultPolicy(bounding)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := bpfseccomp.LoadFilter(bpfseccomp.Filter{Policy: policy}); err != nil {
		return fmt.Errorf("init: seccomp: %w", err)
	}
	return nil
}
