package members

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/initcontainer"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/sidecar"
)

// A Member is a ready-made in-process member: Parse reads its podkit
// command line (after "podkit GROUP USE"), and returns its in-process
// container (named name) and the function that runs it as a process.
type Member struct {
	Use, Short string
	Parse      func(name string, args []string) (pod.Container, func(context.Context) error, error)
}

// Sidecars are the members of "podkit sidecar".
var Sidecars = []Member{
	{"log-shipper", "follow log files (in a volume) across rotation, and print their lines", parseLogShipper},
	{"config-reloader", "signal a container when a configuration file or directory changes", parseConfigReloader},
	{"content-syncer", "run a sync command into a volume on an interval (-- COMMAND...)", parseContentSyncer},
}

// Inits are the members of "podkit init".
var Inits = []Member{
	{"wait-for-tcp", "wait until an address accepts TCP connections", parseWaitForTCP},
	{"extract", "unpack a tar or tar.gz archive into a volume", parseExtract},
}

func parseLogShipper(name string, args []string) (pod.Container, func(context.Context) error, error) {
	var s sidecar.LogShipper
	fs := pflag.NewFlagSet("log-shipper", pflag.ContinueOnError)
	fs.StringVar(&s.Volume, "volume", "", "volume holding the files; patterns are relative to it")
	fs.StringArrayVar(&s.Patterns, "pattern", nil, "files to follow (filepath.Match pattern; repeatable)")
	fs.BoolVar(&s.FromStart, "from-start", false, "ship what the files hold at start")
	fs.IntVar(&s.MaxLineBytes, "max-line-bytes", 0, "split longer lines (default 64 KiB)")
	fs.DurationVar(&s.PollInterval, "poll-interval", 0, "poll period behind inotify (default 1s)")
	if err := parseMember(fs, args); err != nil {
		return pod.Container{}, nil, err
	}
	c, err := s.Container(name)
	return c, s.Run, err
}

func parseConfigReloader(name string, args []string) (pod.Container, func(context.Context) error, error) {
	var r sidecar.ConfigReloader
	var sig string
	fs := pflag.NewFlagSet("config-reloader", pflag.ContinueOnError)
	fs.StringVar(&r.Volume, "volume", "", "volume holding the configuration; --path is relative to it")
	fs.StringVar(&r.Path, "path", "", "file or directory to watch")
	fs.StringVar(&r.Target, "target", "", "container to signal")
	fs.StringVar(&r.TargetProcess, "process", "", "outside podkit run: name of the target's process (needs shareProcessNamespace)")
	fs.StringVar(&sig, "signal", "SIGHUP", "signal to send, by name or number")
	fs.DurationVar(&r.Debounce, "debounce", 0, "quiet time before signalling (default 500ms)")
	if err := parseMember(fs, args); err != nil {
		return pod.Container{}, nil, err
	}
	s, err := parseSignal(sig)
	if err != nil {
		return pod.Container{}, nil, err
	}
	r.Signal = s
	c, err := r.Container(name)
	return c, r.Run, err
}

func parseContentSyncer(name string, args []string) (pod.Container, func(context.Context) error, error) {
	var s sidecar.ContentSyncer
	fs := pflag.NewFlagSet("content-syncer", pflag.ContinueOnError)
	fs.StringVar(&s.Volume, "volume", "", "volume to sync into")
	fs.StringVar(&s.Dir, "dir", "", "directory (inside the volume) to sync into")
	fs.DurationVar(&s.Interval, "interval", 0, "time between syncs (default 10s)")
	fs.DurationVar(&s.Timeout, "timeout", 0, "bound of one sync (default 2m)")
	fs.BoolVar(&s.WaitForFirstSync, "wait-for-first-sync", false, "start (and let the next containers start) only after a first sync")
	if err := parseMember(fs, args); err != nil {
		return pod.Container{}, nil, err
	}
	s.Command = fs.Args()
	c, err := s.Container(name)
	return c, s.Run, err
}

func parseWaitForTCP(name string, args []string) (pod.Container, func(context.Context) error, error) {
	var w initcontainer.WaitForTCP
	fs := pflag.NewFlagSet("wait-for-tcp", pflag.ContinueOnError)
	fs.StringVar(&w.Address, "address", "", "host:port to connect to")
	fs.BoolVar(&w.FromHost, "from-host", false, "under podkit run: dial from the host, not from inside the pod")
	fs.DurationVar(&w.Interval, "interval", 0, "time between attempts (default 1s)")
	fs.DurationVar(&w.Timeout, "timeout", 0, "give up after this long (default: never)")
	if err := parseMember(fs, args); err != nil {
		return pod.Container{}, nil, err
	}
	c, err := w.Container(name)
	return c, w.Run, err
}

func parseExtract(name string, args []string) (pod.Container, func(context.Context) error, error) {
	var e initcontainer.Extract
	fs := pflag.NewFlagSet("extract", pflag.ContinueOnError)
	fs.StringVar(&e.Archive, "archive", "", "tar or tar.gz archive to unpack")
	fs.StringVar(&e.Volume, "volume", "", "volume to unpack into")
	fs.StringVar(&e.Dir, "dir", "", "directory (inside the volume) to unpack into")
	if err := parseMember(fs, args); err != nil {
		return pod.Container{}, nil, err
	}
	c, err := e.Container(name)
	return c, e.Run, err
}

// parseMember parses a member's flags; only the content syncer takes
// arguments (its command, after "--").
func parseMember(fs *pflag.FlagSet, args []string) error {
	fs.SetOutput(discard{})
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 && fs.Name() != "content-syncer" {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("signal: %d is not a signal number", n)
		}
		return syscall.Signal(n), nil
	}
	if sig := unix.SignalNum(s); sig != 0 {
		return sig, nil
	}
	if sig := unix.SignalNum("SIG" + s); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("signal: unknown signal %q", s)
}

// InProcess returns the in-process form of a manifest container that runs
// a ready-made member ("podkit sidecar log-shipper ..."), so that under
// podkit run it behaves as the member built with the Go API does. ok is
// false for any other container. The container keeps its name, role,
// restart rules, probes and hooks; what only its process needed (volume
// mounts, resources, security context) is dropped, each with a warning.
func InProcess(c pod.Container) (_ pod.Container, warnings []string, ok bool, err error) {
	argv := append(append([]string(nil), c.Command...), c.Args...)
	if len(argv) < 3 || filepath.Base(argv[0]) != "podkit" {
		return c, nil, false, nil
	}
	var members []Member
	switch argv[1] {
	case "sidecar":
		members = Sidecars
	case "init":
		members = Inits
	case "ambassador":
		members = Ambassadors
	case "adapter":
		members = Adapters
	default:
		return c, nil, false, nil
	}
	for _, m := range members {
		if m.Use != argv[2] {
			continue
		}
		ip, _, err := m.Parse(c.Name, argv[3:])
		if err != nil {
			return c, nil, true, fmt.Errorf("container %q: %w", c.Name, err)
		}
		ip.RestartPolicy, ip.RestartRules, ip.Image, ip.StopSignal = c.RestartPolicy, c.RestartRules, c.Image, c.StopSignal
		ip.Lifecycle, ip.Stdout, ip.Stderr = c.Lifecycle, c.Stdout, c.Stderr
		for _, pr := range []struct {
			dst **pod.Probe
			src *pod.Probe
		}{{&ip.StartupProbe, c.StartupProbe}, {&ip.LivenessProbe, c.LivenessProbe}, {&ip.ReadinessProbe, c.ReadinessProbe}} {
			if pr.src != nil {
				*pr.dst = pr.src
			}
		}
		if len(c.VolumeMounts) > 0 {
			warnings = append(warnings, fmt.Sprintf("container %q: volumeMounts: not needed in-process (volumes are found by name)", c.Name))
		}
		if c.Resources != (pod.Resources{}) {
			warnings = append(warnings, fmt.Sprintf("container %q: resources: ignored in-process", c.Name))
		}
		if c.SecurityContext != nil {
			warnings = append(warnings, fmt.Sprintf("container %q: securityContext: ignored in-process", c.Name))
		}
		return ip, warnings, true, nil
	}
	return c, nil, true, fmt.Errorf("container %q: podkit %s: unknown member %q", c.Name, argv[1], argv[2])
}
