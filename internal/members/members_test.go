package members_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/adapter/logs"
	"github.com/podkit/podkit/adapter/metrics"
	"github.com/podkit/podkit/ambassador"
	"github.com/podkit/podkit/initcontainer"
	"github.com/podkit/podkit/internal/members"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/sidecar"
)

// The command line a ready-made member exports is the one podkit parses
// back into the same member.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestExportArgsRoundTrip(t *testing.T) {
	build := []func() (pod.Container, error){
		func() (pod.Container, error) {
			return sidecar.LogShipper{Volume: "logs", Patterns: []string{"*.log", "app/*.txt"}, FromStart: true,
				MaxLineBytes: 4096, PollInterval: 2 * time.Second}.Container("shipper")
		},
		func() (pod.Container, error) {
			return sidecar.ConfigReloader{Volume: "conf", Path: "app.yaml", Target: "app", TargetProcess: "nginx",
				Signal: 10, Debounce: time.Second}.Container("reloader")
		},
		func() (pod.Container, error) {
			return sidecar.ContentSyncer{Volume: "site", Dir: "html", Interval: time.Minute, Timeout: 30 * time.Second,
				WaitForFirstSync: true, Command: []string{"git", "pull", "--ff-only"}}.Container("sync")
		},
		func() (pod.Container, error) {
			return initcontainer.WaitForTCP{Address: "db:5432", FromHost: true, Interval: time.Second, Timeout: time.Minute}.Container("wait")
		},
		func() (pod.Container, error) {
			return initcontainer.Extract{Archive: "/srv/site.tar.gz", Volume: "www", Dir: "site"}.Container("unpack")
		},
		func() (pod.Container, error) {
			return ambassador.TCP{Listen: "127.0.0.1:6379", Upstreams: []ambassador.Upstream{{Addr: "10.0.0.1:6379", Weight: 3}, {Addr: "10.0.0.2:6379"}},
				Balance: ambassador.Hash, ConnectTimeout: time.Second, IdleTimeout: time.Minute, MaxConns: 100, Retries: 1,
				HealthCheck: ambassador.HealthCheck{Interval: time.Second, Timeout: 500 * time.Millisecond, Rise: 2, Fall: 3},
				EjectAfter:  5, RetryTimeout: 10 * time.Second,
				TLS: &ambassador.ClientTLS{ServerName: "redis.example", InsecureSkipVerify: true}}.Container("redis")
		},
		func() (pod.Container, error) {
			return health.Adapter{Listen: "127.0.0.1:8086", PodListen: "127.0.0.1:8086", Timeout: time.Second,
				Checks: []health.Check{{Name: "db", TCP: &health.TCP{Address: "127.0.0.1:5432"}}}}.Container("health")
		},
		func() (pod.Container, error) {
			return metrics.Adapter{Listen: "127.0.0.1:9102", ScrapeTimeout: 2 * time.Second, Sources: []metrics.Source{
				{Name: "app", JSON: &metrics.JSONSource{Address: "127.0.0.1:8080", Path: "/stats",
					Mappings: []metrics.JSONMapping{{Path: "requests", Name: "app_requests_total", Type: metrics.Counter}}}},
				{Name: "statsd", StatsD: &metrics.StatsDSource{Listen: "127.0.0.1:8125"}},
			}}.Container("metrics")
		},
		func() (pod.Container, error) {
			return logs.Adapter{Files: &logs.Files{Volume: "logs", Patterns: []string{"*.log"}, FromStart: true},
				Format: logs.FormatJSON, LevelField: "severity", Enrich: true}.Container("logs")
		},
		func() (pod.Container, error) {
			return ambassador.HTTP{Listen: "127.0.0.1:8080",
				Upstreams: []ambassador.HTTPUpstream{{URL: "http://a:80", Weight: 9}, {URL: "http://b:80?x=1", Weight: 1}},
				Routes:    []ambassador.Route{{Header: "X-Canary", Value: "1", Upstream: "http://b:80?x=1"}},
				Mirror:    &ambassador.Mirror{URL: "http://shadow:80", Percent: 12.5, MaxInFlight: 8},
				Timeout:   5 * time.Second}.Container("web")
		},
	}
	for _, b := range build {
		want, err := b()
		require.NoError(t, err)
		require.NotEmpty(t, want.ExportArgs, want.Name)
		t.Run(want.Name, func(t *testing.T) {
			manifest := pod.Container{Name: want.Name, Command: []string{"podkit"}, Args: want.ExportArgs,
				RestartPolicy: want.RestartPolicy, VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "/podkit/volumes/v"}}}
			got, warnings, ok, err := members.InProcess(manifest)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, want.ExportArgs, got.ExportArgs)
			assert.NotNil(t, got.Func)
			assert.Equal(t, want.RestartPolicy, got.RestartPolicy)
			assert.Equal(t, want.ReadinessProbe != nil, got.ReadinessProbe != nil)
			assert.Equal(t, want.StartupProbe != nil, got.StartupProbe != nil)
			assert.Empty(t, got.VolumeMounts)
			assert.Len(t, warnings, 1, "the dropped volume mount")
		})
	}

	_, _, ok, err := members.InProcess(pod.Container{Name: "x", Command: []string{"podkit", "sidecar", "nope"}})
	assert.True(t, ok)
	assert.ErrorContains(t, err, `container "x": podkit sidecar: unknown member "nope"`)
	_, _, ok, err = members.InProcess(pod.Container{Name: "x", Command: []string{"/usr/bin/podkit"}, Args: []string{"init", "extract", "--dir", "d"}})
	assert.True(t, ok)
	assert.ErrorContains(t, err, "archive: required")
	c, _, ok, err := members.InProcess(pod.Container{Name: "x", Command: []string{"sh", "-c", "podkit sidecar log-shipper"}})
	assert.False(t, ok)
	assert.NoError(t, err)
	assert.Nil(t, c.Func)
}
