package pod

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"

	"github.com/podkit/podkit/internal/shim"
)

// SecurityContext sets the privileges a container runs with, like
// Kubernetes' container securityContext. A nil SecurityContext, and each
// zero field, leaves the container with the supervising program's user,
// groups and capabilities: podkit's containers are host processes, and
// podkit does not take privileges away unless asked.
type SecurityContext struct {
	// RunAsUser is the UID the command runs as, in place of an image's
	// user. For a container without an image it must be a user the host
	// knows (in its user database).
	RunAsUser *int64
	// RunAsGroup is the GID the command runs as; for a container without
	// an image it must be a group the host knows. Without it, a
	// RunAsUser's primary group is used: from the image's /etc/passwd, or
	// the host's.
	RunAsGroup *int64
	// RunAsNonRoot, when true, refuses to start the container as root, as
	// the kubelet does: with RunAsUser 0, or without RunAsUser when the
	// image's user is root or a name (a name is not checked against the
	// image's files, as the kubelet does not check it), or, without an
	// image, when the supervising program runs as root.
	RunAsNonRoot *bool
	// SupplementalGroups are extra GIDs of the command.
	SupplementalGroups []int64
	// AllowPrivilegeEscalation set to false sets no_new_privs: nothing the
	// command executes gains privileges, through setuid binaries or file
	// capabilities.
	AllowPrivilegeEscalation *bool
	// Capabilities drops and adds Linux capabilities, by name ("NET_ADMIN"
	// or "CAP_NET_ADMIN"; "ALL" in Drop drops every one). Dropped
	// capabilities leave the bounding set too, so they cannot come back.
	// A non-root user keeps no capabilities, as in Kubernetes.
	Capabilities *Capabilities
	// ReadOnlyRootFilesystem mounts the container's root filesystem
	// read-only: its RootFS, or without one the host's "/" mount (mounts
	// below it, such as volumes or /tmp on its own filesystem, keep theirs).
	ReadOnlyRootFilesystem bool
	// SeccompProfile confines the command's system calls, like
	// Kubernetes' seccompProfile; nil leaves them unconfined. The filter
	// is loaded just before the command executes and covers everything it
	// starts, and the commands of exec probes, hooks and Exec. An
	// in-process container (Func) cannot have one.
	SeccompProfile *SeccompProfile
}

// SeccompProfile names a container's seccomp profile.
type SeccompProfile struct {
	// Type is SeccompRuntimeDefault or SeccompUnconfined.
	Type SeccompProfileType
}

// SeccompProfileType is the kind of a SeccompProfile.
type SeccompProfileType string

const (
	// SeccompRuntimeDefault is the container runtimes' default profile:
	// moby's, as Docker and containerd apply it, resolved for the
	// container's capabilities (its bounding set) and the machine's
	// architecture. Calls outside it fail with EPERM (clone3 with ENOSYS,
	// so that the C library falls back to clone). docs/security.md lists
	// where podkit's filter differs from the runtimes'.
	SeccompRuntimeDefault SeccompProfileType = "RuntimeDefault"
	// SeccompUnconfined applies no filter, as a nil SeccompProfile.
	SeccompUnconfined SeccompProfileType = "Unconfined"
)

// Capabilities to add to and drop from a container's set.
type Capabilities struct {
	Add  []string
	Drop []string
}

// setup converts sc into what the container's init applies.
func (sc *SecurityContext) setup() shim.Setup {
	var s shim.Setup
	if sc == nil {
		return s
	}
	if sc.RunAsUser != nil {
		uid := uint32(*sc.RunAsUser)
		s.UID = &uid
		if sc.RunAsGroup == nil {
			if u, err := user.LookupId(strconv.FormatInt(*sc.RunAsUser, 10)); err == nil {
				if gid, err := strconv.ParseUint(u.Gid, 10, 32); err == nil {
					g := uint32(gid)
					s.GID = &g
				}
			}
		}
	}
	if sc.RunAsGroup != nil {
		gid := uint32(*sc.RunAsGroup)
		s.GID = &gid
	}
	for _, g := range sc.SupplementalGroups {
		s.Groups = append(s.Groups, uint32(g))
	}
	if s.GID != nil && s.Groups == nil {
		s.Groups = []uint32{}
	}
	s.NoNewPrivs = sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
	if sc.SeccompProfile != nil && sc.SeccompProfile.Type == SeccompRuntimeDefault {
		s.Seccomp = shim.SeccompRuntimeDefault
	}
	if sc.Capabilities != nil {
		keep := make(map[string]bool)
		dropAll := false
		for _, d := range sc.Capabilities.Drop {
			if strings.EqualFold(d, "ALL") {
				dropAll = true
			}
		}
		if !dropAll {
			for _, c := range capability.ListKnown() {
				keep[c.String()] = true
			}
		}
		for _, d := range sc.Capabilities.Drop {
			if c, ok := shim.CapabilityByName(d); ok {
				delete(keep, c.String())
			}
		}
		for _, a := range sc.Capabilities.Add {
			if c, ok := shim.CapabilityByName(a); ok {
				keep[c.String()] = true
			}
		}
		names := []string{}
		for name := range keep {
			names = append(names, "CAP_"+strings.ToUpper(name))
		}
		s.Caps = &names
	}
	return s
}

// validate checks sc; hostUsers says that its users and groups are the
// host's (a container without an image), which must know them.
func (sc *SecurityContext) validate(errs *fieldErrors, field string, hostUsers bool) {
	if sc == nil {
		return
	}
	field += ".securityContext"
	if u := sc.RunAsUser; u != nil {
		if *u < 0 || *u > 1<<32-2 {
			errs.add(field+".runAsUser", fmt.Sprint(*u), "not a valid UID")
		} else if _, err := user.LookupId(strconv.FormatInt(*u, 10)); err != nil && hostUsers {
			errs.add(field+".runAsUser", fmt.Sprint(*u), "no such user on this host")
		}
	}
	if nonRoot := sc.RunAsNonRoot; nonRoot != nil && *nonRoot && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		errs.add(field+".runAsNonRoot", "true", "runAsUser is 0 (root)")
	}
	if g := sc.RunAsGroup; g != nil {
		if *g < 0 || *g > 1<<32-2 {
			errs.add(field+".runAsGroup", fmt.Sprint(*g), "not a valid GID")
		} else if _, err := user.LookupGroupId(strconv.FormatInt(*g, 10)); err != nil && hostUsers {
			errs.add(field+".runAsGroup", fmt.Sprint(*g), "no such group on this host")
		}
	}
	for i, g := range sc.SupplementalGroups {
		if g < 0 || g > 1<<32-2 {
			errs.add(fmt.Sprintf("%s.supplementalGroups[%d]", field, i), fmt.Sprint(g), "not a valid GID")
		}
	}
	if p := sc.SeccompProfile; p != nil && p.Type != SeccompRuntimeDefault && p.Type != SeccompUnconfined {
		errs.add(field+".seccompProfile.type", string(p.Type), "must be RuntimeDefault or Unconfined")
	}
	if c := sc.Capabilities; c != nil {
		for i, name := range c.Add {
			if _, ok := shim.CapabilityByName(name); !ok {
				errs.add(fmt.Sprintf("%s.capabilities.add[%d]", field, i), name, "unknown capability")
			}
		}
		for i, name := range c.Drop {
			if _, ok := shim.CapabilityByName(name); !ok && !strings.EqualFold(name, "ALL") {
				errs.add(fmt.Sprintf("%s.capabilities.drop[%d]", field, i), name, "unknown capability")
			}
		}
	}
}
