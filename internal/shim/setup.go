package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// envSetup carries a Setup, as JSON, to an init.
const envSetup = "_PODKIT_SETUP"

// Setup is what an init does to itself before it runs the container's
// command. The zero value changes nothing.
type Setup struct {
	// Exec replaces the init with the command instead of running the
	// command as its child: for a container that joins the pod's shared PID
	// namespace and needs no init of its own.
	Exec bool `json:"exec,omitempty"`
	// UID and GID, when set, are the command's user and group, and Groups
	// its supplementary groups.
	UID    *uint32  `json:"uid,omitempty"`
	GID    *uint32  `json:"gid,omitempty"`
	Groups []uint32 `json:"groups,omitempty"`
	// NoNewPrivs sets no_new_privs, so that nothing the command executes
	// gains privileges (setuid binaries, file capabilities).
	NoNewPrivs bool `json:"noNewPrivs,omitempty"`
	// Caps, when not nil, is the complete set of capabilities the command
	// keeps, by name ("CAP_NET_ADMIN"); every other one is dropped from
	// the bounding set too.
	Caps *[]string `json:"caps,omitempty"`
	// FS is the container's filesystem, set up in a new mount namespace.
	FS Filesystem `json:"fs,omitempty"`
}

// Empty reports whether s changes nothing.
func (s Setup) Empty() bool {
	return !s.Exec && s.privilegesUnchanged() && s.FS.Empty()
}

// privilegesUnchanged reports whether s keeps the user, groups and
// capabilities as they are.
func (s Setup) privilegesUnchanged() bool {
	return s.UID == nil && s.GID == nil && len(s.Groups) == 0 && !s.NoNewPrivs && s.Caps == nil
}

// WithSetup adds s to the environment of an init command.
func WithSetup(env []string, s Setup) ([]string, error) {
	if s.Empty() {
		return env, nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("shim: %w", err)
	}
	return append(env, envSetup+"="+string(b)), nil
}

func readSetup() (Setup, error) {
	var s Setup
	v := os.Getenv(envSetup)
	if v == "" {
		return s, nil
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return s, fmt.Errorf("init: setup: %w", err)
	}
	return s, nil
}

// CapabilityByName returns the capability with the given name, with or
// without the "CAP_" prefix, in any case.
func CapabilityByName(name string) (capability.Cap, bool) {
	want := strings.TrimPrefix(strings.ToLower(name), "cap_")
	for _, c := range capability.ListKnown() {
		if c.String() == want {
			return c, true
		}
	}
	return 0, false
}

// execWith replaces this process with path after applying s, in the order
// that keeps each step possible: capabilities leave the bounding set while
// this process may still change users, no_new_privs is set, the user and
// groups change, and a command that stays root keeps only the capabilities
// asked for. The bounding set and no_new_privs are attributes of a thread:
// this thread is locked, and it is the one that calls execve.
func execWith(s Setup, path string, argv, env []string) error {
	runtime.LockOSThread()
	var keep map[capability.Cap]bool
	if s.Caps != nil {
		keep = make(map[capability.Cap]bool)
		for _, name := range *s.Caps {
			c, ok := CapabilityByName(name)
			if !ok {
				return fmt.Errorf("init: unknown capability %q", name)
			}
			keep[c] = true
		}
		var drop []capability.Cap
		for _, c := range capability.ListKnown() {
			if !keep[c] {
				drop = append(drop, c)
			}
		}
		if err := capability.DropBound(drop...); err != nil {
			return fmt.Errorf("init: drop capabilities from the bounding set: %w", err)
		}
	}
	if s.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("init: no_new_privs: %w", err)
		}
	}
	if s.GID != nil || len(s.Groups) > 0 {
		if err := syscall.Setgroups(toInts(s.Groups)); err != nil {
			return fmt.Errorf("init: setgroups: %w", err)
		}
	}
	if s.GID != nil {
		if err := syscall.Setgid(int(*s.GID)); err != nil {
			return fmt.Errorf("init: setgid %d: %w", *s.GID, err)
		}
	}
	if s.UID != nil {
		if err := syscall.Setuid(int(*s.UID)); err != nil {
			return fmt.Errorf("init: setuid %d: %w", *s.UID, err)
		}
	}
	if keep != nil && unix.Geteuid() == 0 {
		caps, err := capability.NewPid2(0)
		if err == nil {
			err = caps.Load()
		}
		if err != nil {
			return fmt.Errorf("init: capabilities: %w", err)
		}
		// Keep what was asked for and this process has: a set cannot grow.
		var have []capability.Cap
		for c := range keep {
			if caps.Get(capability.PERMITTED, c) {
				have = append(have, c)
			}
		}
		caps.Clear(capability.CAPS | capability.AMBS)
		caps.Set(capability.EFFECTIVE|capability.PERMITTED|capability.INHERITABLE, have...)
		if err := caps.Apply(capability.CAPS | capability.AMBS); err != nil {
			return fmt.Errorf("init: set capabilities: %w", err)
		}
	}
	if err := syscall.Exec(path, argv, env); err != nil {
		return fmt.Errorf("init: exec %s: %w", path, err)
	}
	return nil
}

func toInts(u []uint32) []int {
	out := make([]int, len(u))
	for i, v := range u {
		out[i] = int(v)
	}
	return out
}
