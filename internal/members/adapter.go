package members

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/adapter/logs"
	"github.com/podkit/podkit/adapter/metrics"
	"github.com/podkit/podkit/pod"
)

// Adapters are the members of "podkit adapter". Each takes its whole
// configuration as JSON in --config, as its ExportArgs write it.
var Adapters = []Member{
	{"health", "serve /livez, /readyz and /healthz from an application's own checks (--config JSON)", parseHealthAdapter},
	{"metrics", "serve an application's own monitoring (JSON, StatsD, text, a command) as Prometheus metrics (--config JSON)", parseMetricsAdapter},
	{"logs", "normalize an application's logs (files in a volume, standard input) to JSON lines (--config JSON)", parseLogsAdapter},
}

// configFlag parses the one flag of an adapter: --config JSON.
func configFlag(name string, args []string) (string, error) {
	var config string
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.StringVar(&config, "config", "", "the adapter's configuration, as JSON")
	if err := parseMember(fs, args); err != nil {
		return "", err
	}
	return config, nil
}

func parseHealthAdapter(name string, args []string) (pod.Container, func(context.Context) error, error) {
	config, err := configFlag("health", args)
	if err != nil {
		return pod.Container{}, nil, err
	}
	h, err := health.Parse([]byte(config))
	if err != nil {
		return pod.Container{}, nil, err
	}
	c, err := h.Container(name)
	return c, h.Run, err
}

func parseMetricsAdapter(name string, args []string) (pod.Container, func(context.Context) error, error) {
	config, err := configFlag("metrics", args)
	if err != nil {
		return pod.Container{}, nil, err
	}
	m, err := metrics.Parse([]byte(config))
	if err != nil {
		return pod.Container{}, nil, err
	}
	c, err := m.Container(name)
	return c, m.Run, err
}

func parseLogsAdapter(name string, args []string) (pod.Container, func(context.Context) error, error) {
	config, err := configFlag("logs", args)
	if err != nil {
		return pod.Container{}, nil, err
	}
	l, err := logs.Parse([]byte(config))
	if err != nil {
		return pod.Container{}, nil, err
	}
	c, err := l.Container(name)
	return c, l.Run, err
}
