package members_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/adapter/logs"
	"github.com/podkit/podkit/adapter/metrics"
	"github.com/podkit/podkit/ambassador"
	"github.com/podkit/podkit/cmd/podkit/members"
	"github.com/podkit/podkit/initcontainer"
	"github.com/podkit/podkit/internal/memberconf"
	"github.com/podkit/podkit/internal/memberconf/memberconftest"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/sidecar"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Every field of every member survives the trip through its command line:
// the configuration parsed from memberconf.Args equals the one written,
// whatever its strings hold (',', '=', '?', a leading '-').
func TestEveryFieldRoundTrips(t *testing.T) {
	texts := map[reflect.Type]string{}
	for _, group := range members.All {
		for _, m := range group {
			t.Run(m.Group+"/"+m.Use, func(t *testing.T) {
				want := m.New()
				filled := memberconftest.Fill(reflect.TypeOf(want).Elem(), texts)
				reflect.ValueOf(want).Elem().Set(filled)
				args, err := memberconf.Args(want)
				require.NoError(t, err)
				got := m.New()
				require.NoError(t, memberconf.Parse(m.Use, args, got), "%q", args)
				assert.Equal(t, want, got, "%q", args)
				assert.NotEmpty(t, m.Flags().FlagUsages())
			})
		}
	}
}

func TestExportArgsRoundTrip(t *testing.T) {
	// The configurations of ready-made members, by container name; the
	// URLs carry queries, as real ones do.
	configs := map[string]members.Config{
		// An upstream whose URL ends in "?v=2", and one with a weight of 0
		// and a negative-looking query, read back as written.
		"queries": &ambassador.HTTP{Listen: "127.0.0.1:8081", Upstreams: []ambassador.HTTPUpstream{
			{URL: "http://a:80/?offset=-1"}, {URL: "http://b:80/?v=2", Weight: 2}, {URL: "http://c/?a=b,c=d"}}},
		"shipper": &sidecar.LogShipper{Volume: "logs", Patterns: []string{"*.log", "app/*.txt"}, FromStart: true,
			MaxLineBytes: 4096, PollInterval: 2 * time.Second},
		"reloader": &sidecar.ConfigReloader{Volume: "conf", Path: "app.yaml", Target: "app", TargetProcess: "nginx",
			Signal: 10, Debounce: time.Second},
		"sync": &sidecar.ContentSyncer{Volume: "site", Dir: "html", Interval: time.Minute, Timeout: 30 * time.Second,
			WaitForFirstSync: true, Command: []string{"git", "pull", "--ff-only"}},
		"wait":   &initcontainer.WaitForTCP{Address: "db:5432", FromHost: true, Interval: time.Second, Timeout: time.Minute},
		"unpack": &initcontainer.Extract{Archive: "/srv/site.tar.gz", Volume: "www", Dir: "site"},
		"redis": &ambassador.TCP{Listen: "127.0.0.1:6379", Upstreams: []ambassador.Upstream{{Addr: "10.0.0.1:6379", Weight: 3}, {Addr: "10.0.0.2:6379"}},
			Balance: ambassador.Hash, ConnectTimeout: time.Second, IdleTimeout: time.Minute, MaxConns: 100, Retries: 1,
			HealthCheck: ambassador.HealthCheck{Interval: time.Second, Timeout: 500 * time.Millisecond, Rise: 2, Fall: 3},
			EjectAfter:  5, RetryTimeout: 10 * time.Second,
			TLS: &ambassador.ClientTLS{ServerName: "redis.example", InsecureSkipVerify: true}},
		"health": &health.Adapter{Listen: "127.0.0.1:8086", PodListen: "127.0.0.1:8086", Timeout: time.Second,
			Checks: []health.Check{{Name: "db", TCP: &health.TCP{Address: "127.0.0.1:5432"}}}},
		"metrics": &metrics.Adapter{Listen: "127.0.0.1:9102", ScrapeTimeout: 2 * time.Second, Sources: []metrics.Source{
			{Name: "app", JSON: &metrics.JSONSource{Address: "127.0.0.1:8080", Path: "/stats",
				Mappings: []metrics.JSONMapping{{Path: "requests", Name: "app_requests_total", Type: metrics.Counter}}}},
			{Name: "statsd", StatsD: &metrics.StatsDSource{Listen: "127.0.0.1:8125"}},
		}},
		"logs": &logs.Adapter{Files: &logs.Files{Volume: "logs", Patterns: []string{"*.log"}, FromStart: true},
			Format: logs.FormatJSON, LevelField: "severity", Enrich: true},
		"web": &ambassador.HTTP{Listen: "127.0.0.1:8080",
			Upstreams: []ambassador.HTTPUpstream{{URL: "http://a:80", Weight: 9}, {URL: "http://b:80?x=1", Weight: 1}},
			Routes:    []ambassador.Route{{Header: "X-Canary", Value: "1", Upstream: "http://b:80?x=1"}},
			Mirror:    &ambassador.Mirror{URL: "http://shadow:80", Percent: 12.5, MaxInFlight: 8},
			Timeout:   5 * time.Second},
	}
	for name, cfg := range configs {
		want, err := cfg.Container(name)
		require.NoError(t, err)
		require.NotEmpty(t, want.ExportArgs, want.Name)
		t.Run(want.Name, func(t *testing.T) {
			manifest := pod.Container{Name: want.Name, Command: []string{"podkit"}, Args: want.ExportArgs,
				RestartPolicy: want.RestartPolicy, VolumeMounts: []pod.VolumeMount{{Name: "v", MountPath: "/podkit/volumes/v"}}}
			got, warnings, ok, err := members.InProcess(manifest)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, want.ExportArgs, got.ExportArgs)
			// The configurations, not only the argument lists, are equal.
			var member members.Member
			for _, group := range members.All {
				for _, m := range group {
					if m.Group == want.ExportArgs[0] && m.Use == want.ExportArgs[1] {
						member = m
					}
				}
			}
			cfg, _, err := member.Parse(want.Name, want.ExportArgs[2:])
			require.NoError(t, err)
			assert.Equal(t, configs[want.Name], cfg)
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
