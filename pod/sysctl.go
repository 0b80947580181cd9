package pod

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
	"k8s.io/component-helpers/node/util/sysctl"

	"github.com/podkit/podkit/internal/proc"
	"github.com/podkit/podkit/internal/thread"
)

// Sysctl is a kernel parameter set for the pod, like an entry of
// Kubernetes' spec.securityContext.sysctls. Only parameters that belong to
// one of the pod's own namespaces can be set, so that the host's stay as
// they are (see Spec.Sysctls).
type Sysctl struct {
	// Name is the parameter's name, as sysctl(8) takes it: dots between
	// its parts (net.ipv4.ip_unprivileged_port_start), or slashes when a
	// part holds a dot (net/ipv4/conf/eth0.100/rp_filter).
	Name string
	// Value is written to the parameter's file in /proc/sys as it is: one
	// line, not empty, without its newline.
	Value string
}

// maxSysctlNameLength is Kubernetes' bound on a sysctl's name.
const maxSysctlNameLength = 253

// sysctlNameRE is Kubernetes' format of a sysctl's name: parts of
// lower-case letters, digits, '-' and '_', starting and ending with a letter
// or digit, separated by '.' or '/'. No part is "." or "..".
var sysctlNameRE = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`)

// validateSysctls checks the pod's sysctls: well-formed names, each once,
// that belong to a namespace of the pod's own, and one-line values.
func (p *Pod) validateSysctls(errs *fieldErrors) {
	seen := make(map[string]bool)
	for i, s := range p.spec.Sysctls {
		field := fmt.Sprintf("sysctls[%d]", i)
		switch {
		case s.Name == "":
			errs.add(field+".name", "", "required")
			continue
		case len(s.Name) > maxSysctlNameLength || !sysctlNameRE.MatchString(s.Name):
			errs.add(field+".name", s.Name, "not a sysctl name: parts of lower-case letters, digits, '-' and '_' separated by '.' (net.ipv4.ip_local_port_range)")
			continue
		}
		name := sysctl.NormalizeName(s.Name)
		if seen[name] {
			errs.add(field+".name", s.Name, "set twice")
		}
		seen[name] = true
		switch ns, _, _ := sysctl.GetNamespace(name); {
		case ns == sysctl.NetNamespace && p.spec.Network.Mode == NetworkHost:
			errs.add(field+".name", s.Name, "the pod is on the host's network (NetworkHost): it would change the host's")
		case ns == sysctl.UserNamespace:
			errs.add(field+".name", s.Name, "belongs to the user namespace, and the pod shares the host's")
		case ns == sysctl.UnknownNamespace || ns == "":
			errs.add(field+".name", s.Name, "not namespaced: it would change the host's kernel (only net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* and kernel.domainname are the pod's own)")
		case namespaceFlag(ns) == 0:
			errs.add(field+".name", s.Name, fmt.Sprintf("belongs to the %s namespace, which the pod does not have of its own", namespaceName(ns)))
		}
		switch {
		case s.Value == "":
			errs.add(field+".value", s.Value, "required")
		case strings.ContainsAny(s.Value, "\n\x00"):
			errs.add(field+".value", s.Value, "must be one line, without a NUL byte")
		}
	}
}

// namespaceFlag is the CLONE_NEW* flag of a namespace a pod has of its
// own, or 0.
func namespaceFlag(ns sysctl.Namespace) int {
	switch ns {
	case sysctl.NetNamespace:
		return unix.CLONE_NEWNET
	case sysctl.IPCNamespace:
		return unix.CLONE_NEWIPC
	case sysctl.UTSNamespace:
		return unix.CLONE_NEWUTS
	}
	return 0
}

// namespaceName names a namespace as the kernel's documentation does.
func namespaceName(ns sysctl.Namespace) string {
	if ns == sysctl.NetNamespace {
		return "network"
	}
	return string(ns)
}

// applySysctls writes the pod's sysctls through /proc/sys on a thread
// that has joined the namespaces of infra, which runs: each parameter is
// then the pod's, and the host's is left as it is. It blocks until every
// one is written, or one fails.
func (p *Pod) applySysctls(infra *proc.Process) error {
	if len(p.spec.Sysctls) == 0 {
		return nil
	}
	flags := 0
	for _, s := range p.spec.Sysctls {
		ns, _, _ := sysctl.GetNamespace(s.Name)
		flags |= namespaceFlag(ns)
	}
	var err error
	thread.Run(func() {
		if err = unix.Setns(infra.PidFD(), flags); err != nil {
			err = fmt.Errorf("join the pod's namespaces: setns: %w", err)
			return
		}
		var root *procfs.Handle
		if root, err = procfs.OpenProcRoot(); err != nil {
			err = fmt.Errorf("open /proc: %w", err)
			return
		}
		defer root.Close()
		for _, s := range p.spec.Sysctls {
			if err = writeSysctl(root, s); err != nil {
				return
			}
		}
	})
	if err != nil {
		return fmt.Errorf("pod %q: %w", p.name, err)
	}
	return nil
}

// writeSysctl writes one sysctl through root, resolving its file inside
// /proc/sys without following a symbolic link or leaving procfs.
func writeSysctl(root *procfs.Handle, s Sysctl) error {
	name := sysctl.NormalizeName(s.Name)
	// The normalized name separates parts with '.', and a '/' stands for
	// a dot inside a part: the file's path swaps them back.
	path := strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
	ns, _, _ := sysctl.GetNamespace(name)
	what := fmt.Sprintf("sysctl %s=%s", s.Name, s.Value)
	f, err := root.OpenRoot("sys/" + path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: /proc/sys/%s does not exist in the pod's %s namespace", what, path, namespaceName(ns))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	w, err := pathrs.Reopen(f, unix.O_WRONLY|unix.O_CLOEXEC)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer w.Close()
	if _, err := w.WriteString(s.Value); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
