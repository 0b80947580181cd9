package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"

	"github.com/moby/sys/capability"
	"github.com/moby/sys/user"
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
	// Seccomp, when set, is the seccomp profile the command runs under:
	// SeccompRuntimeDefault. The init loads it last, just before the
	// command executes (before it changes users when NoNewPrivs is unset,
	// since loading then needs its CAP_SYS_ADMIN), as runc does.
	Seccomp string `json:"seccomp,omitempty"`
	// FS is the container's filesystem, set up in a new mount namespace.
	FS Filesystem `json:"fs,omitempty"`
	// MountNS, with Exec, is a descriptor (in the init) of a running
	// container's mount namespace, or a pidfd of one of its processes,
	// whose mount namespace the command joins: how an exec enters the container's root filesystem,
	// volumes and read-only root, as kubectl exec does. Dir is then the
	// working directory inside it; "" means "/".
	MountNS int    `json:"mountNS,omitempty"`
	Dir     string `json:"dir,omitempty"`
	// User, when UID is unset, is an image's user ("name", "uid",
	// "name:group", "uid:gid"), resolved through the /etc/passwd and
	// /etc/group of the container's root once the init is inside it.
	// Its home directory becomes HOME unless the environment sets one.
	User string `json:"user,omitempty"`
	// LookPath has a command name without a slash looked up in the PATH of
	// the command's environment inside the container's root, rather than
	// on the host.
	LookPath bool `json:"lookPath,omitempty"`
	// Gate, when set, is a descriptor (in the init) of a pipe's read end:
	// once its filesystem is set up and the command found, the init waits
	// there before it starts the command, for a byte (go on) or the end of
	// the pipe (give up: it exits without starting anything). It lets the
	// parent prepare containers at once and start their commands in order.
	Gate int `json:"gate,omitempty"`
}

// Empty reports whether s changes nothing.
func (s Setup) Empty() bool {
	return !s.Exec && s.UID == nil && s.GID == nil && len(s.Groups) == 0 && !s.NoNewPrivs && s.Caps == nil && s.Seccomp == "" && s.FS.Empty() &&
		s.MountNS == 0 && s.Dir == "" && s.User == "" && !s.LookPath && s.Gate == 0
}

// errGateClosed is an init's report when its parent closed the gate
// without letting it go on.
const errGateClosed = "init: the start was called off"

// waitGate blocks until the parent opens s.Gate, if it is set; false means
// the parent called the start off.
func (s Setup) waitGate() bool {
	if s.Gate == 0 {
		return true
	}
	unix.CloseOnExec(s.Gate)
	var b [1]byte
	for {
		n, err := unix.Read(s.Gate, b[:])
		if err == unix.EINTR {
			continue
		}
		unix.Close(s.Gate)
		return err == nil && n == 1
	}
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

// limitThread applies to the calling thread, which must be locked, the
// parts of s that are attributes of a thread and are inherited by what it
// starts or executes: capabilities outside s.Caps leave the bounding set,
// the inheritable and ambient sets are cleared, and no_new_privs is set.
//
// At execve a root command's capabilities become its bounding set, and a
// non-root command's become empty (podkit sets no file capabilities), so
// this is all a command needs; the effective set of the thread stays, so it
// can still change users before that.
func (s Setup) limitThread() error {
	if s.Caps != nil {
		keep := make(map[capability.Cap]bool)
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
		caps, err := capability.NewPid2(0)
		if err == nil {
			err = caps.Load()
		}
		if err != nil {
			return fmt.Errorf("init: capabilities: %w", err)
		}
		caps.Clear(capability.INHERITABLE | capability.AMBIENT)
		if err := caps.Apply(capability.CAPS | capability.AMBS); err != nil {
			return fmt.Errorf("init: clear inheritable capabilities: %w", err)
		}
	}
	if s.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("init: no_new_privs: %w", err)
		}
	}
	return nil
}

// credential returns the user and groups of the command, or nil to keep
// this process's.
func (s Setup) credential() *syscall.Credential {
	if s.UID == nil && s.GID == nil && len(s.Groups) == 0 {
		return nil
	}
	c := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), Groups: s.Groups}
	if s.UID != nil {
		c.Uid = *s.UID
	}
	if s.GID != nil {
		c.Gid = *s.GID
	}
	if c.Groups == nil {
		c.Groups = []uint32{}
	}
	return c
}

// execWith replaces this process with path after applying s, on this
// locked thread, the one that calls execve: first what limitThread does,
// then the mount namespace, then the user and groups, then the working
// directory, entered as the command's user, and last the seccomp filter
// (before the user changes without no_new_privs).
func execWith(s Setup, path string, argv, env []string) error {
	runtime.LockOSThread()
	if err := s.limitThread(); err != nil {
		return err
	}
	if s.MountNS != 0 {
		// setns of a mount namespace needs a filesystem context (root,
		// working directory) no other thread shares: the runtime's
		// threads share this process's, so this thread takes its own.
		// execve keeps the thread's namespaces and context.
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return fmt.Errorf("init: unshare filesystem context: %w", err)
		}
		if err := unix.Setns(s.MountNS, unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("init: join the container's mount namespace: %w", err)
		}
		_ = unix.Close(s.MountNS)
	}
	s, env, err := s.resolveInRoot(env)
	if err != nil {
		return err
	}
	if path, err = s.lookPath(path, env); err != nil {
		return err
	}
	if !s.NoNewPrivs {
		if err := s.loadSeccomp(); err != nil {
			return err
		}
	}
	if c := s.credential(); c != nil {
		if err := syscall.Setgroups(toInts(c.Groups)); err != nil {
			return fmt.Errorf("init: setgroups: %w", err)
		}
		if err := syscall.Setgid(int(c.Gid)); err != nil {
			return fmt.Errorf("init: setgid %d: %w", c.Gid, err)
		}
		if err := syscall.Setuid(int(c.Uid)); err != nil {
			return fmt.Errorf("init: setuid %d: %w", c.Uid, err)
		}
	}
	if s.Dir != "" {
		if err := unix.Chdir(s.Dir); err != nil {
			return fmt.Errorf("init: working directory %s: %w", s.Dir, err)
		}
	}
	if s.NoNewPrivs {
		if err := s.loadSeccomp(); err != nil {
			return err
		}
	}
	if err := syscall.Exec(path, argv, env); err != nil {
		return fmt.Errorf("init: exec %s: %w", path, err)
	}
	return nil
}

// resolveInRoot resolves s.User in the root this process sees (the
// container's), returning s with UID, GID and Groups set from it, and env
// with HOME added unless it has one.
func (s Setup) resolveInRoot(env []string) (Setup, []string, error) {
	if s.User == "" || s.UID != nil {
		return s, env, nil
	}
	defaults := &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}
	u, err := user.GetExecUserPath(s.User, defaults, "/etc/passwd", "/etc/group")
	if err != nil {
		return s, env, fmt.Errorf("init: image user %q: %w", s.User, err)
	}
	uid, gid := uint32(u.Uid), uint32(u.Gid)
	s.UID, s.GID = &uid, &gid
	if s.Groups == nil {
		for _, g := range u.Sgids {
			s.Groups = append(s.Groups, uint32(g))
		}
	}
	if !hasKey(env, "HOME") {
		env = append(env, "HOME="+u.Home)
	}
	return s, env, nil
}

// lookPath finds the command file in the PATH of env, in the root this
// process sees, when s asks for it and file has no slash.
func (s Setup) lookPath(file string, env []string) (string, error) {
	if !s.LookPath || strings.Contains(file, "/") {
		return file, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" || dir[0] != '/' {
			continue
		}
		candidate := dir + "/" + file
		if fi, err := os.Stat(candidate); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("init: exec: %q: executable file not found in $PATH", file)
}

func hasKey(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

func toInts(u []uint32) []int {
	out := make([]int, len(u))
	for i, v := range u {
		out[i] = int(v)
	}
	return out
}
