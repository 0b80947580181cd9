// Package shim holds the small programs that podkit runs as helper processes:
// the pod's infra process, which creates and holds the pod's namespaces, and
// the per-container init, which runs as PID 1 of a container's own PID
// namespace, forwarding signals and reaping orphans.
//
// Both are the calling program itself, re-executed through /proc/self/exe with
// a marker in argv[0] and the environment. This package's init function
// recognises the marker and runs the helper instead of the program's main, so
// a program that imports podkit needs no change to its main function.
//
// A helper reports to its parent over a pipe passed as file descriptor 3, one
// JSON object per line (see Report).
package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// Markers put in argv[0]; the same value is put in the environment variable
// EnvMarker, and both must match for the helper to run.
const (
	InfraArg0 = "podkit-infra"
	InitArg0  = "podkit-init"
	EnvMarker = "_PODKIT_SHIM"
)

// statusFD is the file descriptor of the report pipe in a helper.
const statusFD = 3

// Report is one message from a helper to its parent.
type Report struct {
	// Err is set when the helper failed; the helper exits after sending it.
	Err string `json:"err,omitempty"`
	// Ready is set once an infra has set up the namespaces, or an init has
	// started its child.
	Ready bool `json:"ready,omitempty"`
	// Exited is set by an init when its child has exited, with the child's
	// exit code or the signal that killed it.
	Exited   bool `json:"exited,omitempty"`
	ExitCode int  `json:"exitCode,omitempty"`
	Signal   int  `json:"signal,omitempty"`
}

func init() {
	if len(os.Args) == 0 || os.Getenv(EnvMarker) != os.Args[0] {
		return
	}
	switch os.Args[0] {
	case InfraArg0:
		os.Exit(infraMain(os.Args[1:]))
	case InitArg0:
		os.Exit(initMain(os.Args[1:]))
	}
}

// InfraCommand returns the command that starts an infra process which sets the
// hostname of its UTS namespace to hostname and brings up loopback in its
// network namespace, unless hostNetwork says that it runs in the host's,
// which it then leaves alone. The caller adds clone flags and the report
// pipe as ExtraFiles[0].
func InfraCommand(hostname string, hostNetwork bool) *exec.Cmd {
	args := []string{hostname}
	if hostNetwork {
		args = append(args, hostNetworkArg)
	}
	return helper(InfraArg0, args, nil)
}

// hostNetworkArg tells an infra that it has no network namespace of its
// own.
const hostNetworkArg = "--host-network"

// InitCommand returns the command that starts an init running the executable
// at path, with argv and env, as its only child. The caller sets the working
// directory, standard streams, clone flags, and the report pipe as
// ExtraFiles[0] (and a Setup.Gate as ExtraFiles[1], descriptor 4).
func InitCommand(path string, argv, env []string) *exec.Cmd {
	return helper(InitArg0, append([]string{path, "--"}, argv...), env)
}

func helper(arg0 string, args, env []string) *exec.Cmd {
	env = append(append([]string(nil), env...), EnvMarker+"="+arg0)
	if raceEnv != "" {
		env = append(env, raceEnv)
	}
	return &exec.Cmd{Path: "/proc/self/exe", Args: append([]string{arg0}, args...), Env: env}
}

// childEnv returns the helper's environment without what helper added.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, EnvMarker+"=") || strings.HasPrefix(kv, envSetup+"=") || (raceEnv != "" && kv == raceEnv) {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// report writes r to the report pipe. Errors are ignored: a parent that
// closed the pipe is gone, and the parent-death signal follows.
func report(r Report) {
	b, _ := json.Marshal(r)
	b = append(b, '\n')
	// A plain write: an *os.File for the descriptor would close it when
	// garbage collected.
	_, _ = unix.Write(statusFD, b)
}

// ReadReports decodes the reports in data, as read from the report pipe.
func ReadReports(data []byte) ([]Report, error) {
	var rs []Report
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var r Report
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return rs, fmt.Errorf("shim: malformed report %q: %w", line, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}
