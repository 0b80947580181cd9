package shim

import (
	"runtime"
	"slices"
	"testing"

	bpfseccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// defaultCaps is the capability set container runtimes give a container.
var defaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

// verdict runs the compiled policy on a syscall of the running
// architecture, as the kernel would, and returns its action.
func verdict(t *testing.T, vm *bpf.VM, info *arch.Info, name string, args ...uint64) bpfseccomp.Action {
	t.Helper()
	nr, ok := info.SyscallNames[name]
	require.True(t, ok, name)
	// struct seccomp_data: nr, arch, instruction_pointer, args[6].
	data := make([]byte, 64)
	native := func(off int, v uint32) {
		data[off], data[off+1], data[off+2], data[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	native(0, uint32(nr|info.SeccompMask))
	native(4, uint32(info.ID))
	for i, a := range args {
		native(16+8*i, uint32(a))
		native(20+8*i, uint32(a>>32))
	}
	// The BPF VM loads words big-endian; the kernel loads them in the
	// machine's order, little-endian on amd64 and arm64.
	for i := 0; i < len(data); i += 4 {
		data[i], data[i+1], data[i+2], data[i+3] = data[i+3], data[i+2], data[i+1], data[i]
	}
	r, err := vm.Run(data)
	require.NoError(t, err)
	return bpfseccomp.Action(uint32(r))
}

func compile(t *testing.T, caps []string) (*bpf.VM, *arch.Info) {
	t.Helper()
	policy, err := runtimeDefaultPolicy(caps)
	require.NoError(t, err)
	insts, err := policy.Assemble()
	require.NoError(t, err)
	vm, err := bpf.NewVM(insts)
	require.NoError(t, err)
	info, err := arch.GetInfo("")
	require.NoError(t, err)
	return vm, info
}

func TestRuntimeDefaultPolicy(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("the test encodes seccomp_data little-endian")
	}
	vm, info := compile(t, defaultCaps)
	eperm := bpfseccomp.ActionErrno | bpfseccomp.Action(unix.EPERM)

	// Every syscall moby allows unconditionally for these capabilities on
	// this architecture, and that this architecture has, is allowed.
	resolved, err := seccomp.GetDefaultProfile(&specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: defaultCaps}}})
	require.NoError(t, err)
	allowed := map[string]bool{}
	var missing []string
	for _, call := range resolved.Syscalls {
		if call.Action != specs.ActAllow || len(call.Args) > 0 {
			continue
		}
		for _, name := range call.Names {
			if _, ok := info.SyscallNames[name]; !ok {
				missing = append(missing, name)
				continue
			}
			allowed[name] = true
			assert.Equal(t, bpfseccomp.ActionAllow, verdict(t, vm, info, name), name)
		}
	}
	assert.Greater(t, len(allowed), 250)
	slices.Sort(missing)
	t.Logf("not in this architecture's table (denied): %v", missing)

	// A sample of the rest is denied with EPERM.
	for _, name := range []string{"mount", "umount2", "unshare", "setns", "reboot", "keyctl", "add_key", "request_key",
		"bpf", "syslog", "init_module", "kexec_load", "pivot_root", "swapon", "acct", "open_by_handle_at", "userfaultfd"} {
		assert.False(t, allowed[name], name)
		assert.Equal(t, eperm, verdict(t, vm, info, name), name)
	}
	// Conditions: clone without namespaces, personality's values, socket
	// domains, and clone3 refused with ENOSYS so that the C library falls
	// back to clone.
	assert.Equal(t, bpfseccomp.ActionAllow, verdict(t, vm, info, "clone", unix.CLONE_VM|unix.CLONE_FS|uint64(unix.SIGCHLD)))
	assert.Equal(t, eperm, verdict(t, vm, info, "clone", unix.CLONE_NEWUSER|uint64(unix.SIGCHLD)))
	assert.Equal(t, eperm, verdict(t, vm, info, "clone", unix.CLONE_NEWNS))
	assert.Equal(t, bpfseccomp.ActionErrno|bpfseccomp.Action(unix.ENOSYS), verdict(t, vm, info, "clone3"))
	assert.Equal(t, bpfseccomp.ActionAllow, verdict(t, vm, info, "personality", 0))
	assert.Equal(t, bpfseccomp.ActionAllow, verdict(t, vm, info, "personality", 0xffffffff))
	assert.Equal(t, eperm, verdict(t, vm, info, "personality", 0x0040000)) // ADDR_NO_RANDOMIZE
	assert.Equal(t, bpfseccomp.ActionAllow, verdict(t, vm, info, "socket", unix.AF_INET))
	assert.Equal(t, bpfseccomp.ActionAllow, verdict(t, vm, info, "socket", unix.AF_UNIX))
	assert.Equal(t, eperm, verdict(t, vm, info, "socket", unix.AF_VSOCK))
	// A wrong architecture gets the default action.
	data := make([]byte, 64)
	r, err := vm.Run(data)
	require.NoError(t, err)
	assert.Equal(t, eperm, bpfseccomp.Action(uint32(r)))

	// CAP_SYS_ADMIN brings mount, unshare, setns and any clone.
	vm, info = compile(t, append(slices.Clone(defaultCaps), "CAP_SYS_ADMIN"))
	for _, name := range []string{"mount", "umount2", "unshare", "setns", "clone3"} {
		assert.Equal(t, bpfseccomp.ActionAllow, verdict(t, vm, info, name), name)
	}
	assert.Equal(t, bpfseccomp.ActionAllow, verdict(t, vm, info, "clone", unix.CLONE_NEWUSER))
	assert.Equal(t, eperm, verdict(t, vm, info, "reboot"))
}

func TestSeccompPolicyConditions(t *testing.T) {
	// Repeated comparisons of one argument are alternatives; others all hold.
	alts, ok := seccompConditions([]specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 0, Value: 2, Op: specs.OpEqualTo}})
	require.True(t, ok)
	assert.Len(t, alts, 2)
	alts, ok = seccompConditions([]specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 1, Value: 2, Op: specs.OpGreaterThan}})
	require.True(t, ok)
	assert.Equal(t, []bpfseccomp.ArgumentConditions{{{Argument: 0, Operation: bpfseccomp.Equal, Value: 1}, {Argument: 1, Operation: bpfseccomp.GreaterThan, Value: 2}}}, alts)
	// A masked comparison other than "none of" or "the only bit" has no
	// equivalent: an allowing rule with it is left out, a denying one
	// becomes unconditional.
	_, ok = seccompConditions([]specs.LinuxSeccompArg{{Index: 0, Value: 3, ValueTwo: 1, Op: specs.OpMaskedEqual}})
	assert.False(t, ok)
	eperm := uint(unix.EPERM)
	policy, err := seccompPolicy(&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &eperm, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"read", "no_such_call"}, Action: specs.ActAllow},
		{Names: []string{"write"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 3, ValueTwo: 1, Op: specs.OpMaskedEqual}}},
		{Names: []string{"close"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 3, ValueTwo: 1, Op: specs.OpMaskedEqual}}},
	}})
	require.NoError(t, err)
	assert.Equal(t, bpfseccomp.Policy{DefaultAction: bpfseccomp.ActionErrno, Syscalls: []bpfseccomp.SyscallGroup{
		{Names: []string{"close"}, Action: bpfseccomp.ActionErrno | bpfseccomp.Action(unix.EPERM)},
		{Names: []string{"read"}, Action: bpfseccomp.ActionAllow},
	}}, policy)
	_, err = seccompPolicy(&specs.LinuxSeccomp{DefaultAction: specs.ActNotify})
	assert.ErrorContains(t, err, "seccomp: default action: action SCMP_ACT_NOTIFY is not supported")
}
