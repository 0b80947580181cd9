package members

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/adapter/logs"
	"github.com/podkit/podkit/adapter/metrics"
	"github.com/podkit/podkit/ambassador"
	"github.com/podkit/podkit/initcontainer"
	"github.com/podkit/podkit/internal/memberconf"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/sidecar"
)

// A Member is a ready-made member run by "podkit Group Use FLAGS...". Its
// flags, its --help and its configuration document all come from its
// configuration type (package memberconf), the one its pattern package
// defines.
type Member struct {
	Group, Use, Short string
	// New returns a pointer to a zero configuration.
	New func() Config
}

// Config is a member's configuration: plain data whose Container places
// the member in a pod and whose Run runs it.
type Config interface {
	Container(name string) (pod.Container, error)
	Run(ctx context.Context) error
}

// Parse reads the member's command line (after "podkit GROUP USE") into a
// new configuration, and returns it with its in-process container, named
// name.
func (m Member) Parse(name string, args []string) (Config, pod.Container, error) {
	cfg := m.New()
	if err := memberconf.Parse(m.Use, args, cfg); err != nil {
		return nil, pod.Container{}, err
	}
	c, err := cfg.Container(name)
	if err != nil {
		return nil, pod.Container{}, err
	}
	return cfg, c, nil
}

// Flags returns the member's flags, for its --help.
func (m Member) Flags() *pflag.FlagSet {
	s, err := memberconf.New(m.Use, m.New())
	if err != nil {
		panic(err) // every member's type is checked by the tests
	}
	return s.Flags()
}

// Sidecars are the members of "podkit sidecar".
var Sidecars = []Member{
	{"sidecar", "log-shipper", "follow log files (in a volume) across rotation, and print their lines",
		func() Config { return &sidecar.LogShipper{} }},
	{"sidecar", "config-reloader", "signal a container when a configuration file or directory changes",
		func() Config { return &sidecar.ConfigReloader{} }},
	{"sidecar", "content-syncer", "run a sync command into a volume on an interval (-- COMMAND...)",
		func() Config { return &sidecar.ContentSyncer{} }},
}

// Inits are the members of "podkit init".
var Inits = []Member{
	{"init", "wait-for-tcp", "wait until an address accepts TCP connections",
		func() Config { return &initcontainer.WaitForTCP{} }},
	{"init", "extract", "unpack a tar or tar.gz archive into a volume",
		func() Config { return &initcontainer.Extract{} }},
}

// Ambassadors are the members of "podkit ambassador".
var Ambassadors = []Member{
	{"ambassador", "tcp", "carry TCP connections from inside the pod to upstreams (balancing, health checks, TLS)",
		func() Config { return &ambassador.TCP{} }},
	{"ambassador", "http", "carry HTTP requests from inside the pod to upstreams (weights, header routes, mirroring)",
		func() Config { return &ambassador.HTTP{} }},
}

// Adapters are the members of "podkit adapter".
var Adapters = []Member{
	{"adapter", "health", "serve /livez, /readyz and /healthz from an application's own checks",
		func() Config { return &health.Adapter{} }},
	{"adapter", "metrics", "serve an application's own monitoring (JSON, StatsD, text, a command) as Prometheus metrics",
		func() Config { return &metrics.Adapter{} }},
	{"adapter", "logs", "normalize an application's logs (files in a volume, standard input) to JSON lines",
		func() Config { return &logs.Adapter{} }},
}

// All lists every member, by group.
var All = [][]Member{Sidecars, Inits, Ambassadors, Adapters}

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
	var group []Member
	for _, g := range All {
		if g[0].Group == argv[1] {
			group = g
		}
	}
	if group == nil {
		return c, nil, false, nil
	}
	for _, m := range group {
		if m.Use != argv[2] {
			continue
		}
		_, ip, err := m.Parse(c.Name, argv[3:])
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
