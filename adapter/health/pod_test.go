package health_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/pod/podtest"
)

// The adapter turns a worker's flag file and an API's JSON status into
// /readyz: a podkit readiness probe on the API, pointed at the adapter's
// address inside the pod, follows them, and a monitor outside the pod reads
// the same endpoints on the host. The test raises the worker's flag in an
// emptyDir volume the worker mounts: in a container's view of the host's
// files (an overlay over them), a file the host creates after the
// container looked for it may stay unseen.
func TestHealthAdapterDrivesReadiness(t *testing.T) {
	testenv.RequireRoot(t)
	var status atomic.Value
	status.Store("UP")
	api := pod.Container{
		Name: "api",
		Func: func(ctx context.Context) error {
			self, _ := pod.FromContext(ctx)
			ln, err := self.Pod.Listen(ctx, "tcp", "127.0.0.1:8080")
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"status":%q}`, status.Load())
			})}
			stop := context.AfterFunc(ctx, func() { srv.Close() })
			defer stop()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
		ReadinessProbe: &pod.Probe{HTTPGet: &pod.HTTPGetAction{Port: 8086, Path: "/readyz"},
			Period: 100 * time.Millisecond, FailureThreshold: 1},
	}
	worker := pod.Container{Name: "worker", Command: []string{"sleep", "1000"},
		VolumeMounts: []pod.VolumeMount{{Name: "flags", MountPath: "/run/flags"}}}
	reg := prometheus.NewRegistry()
	h := health.Adapter{
		Listen:    testenv.FreeAddr(t),
		PodListen: "127.0.0.1:8086",
		Checks: []health.Check{
			{Name: "worker", Readiness: true, Command: &health.Command{Container: "worker", Command: []string{"test", "-f", "/run/flags/ready"}}},
			// The API listens inside the pod only: the adapter gets there.
			{Name: "api", Readiness: true, HTTP: &health.HTTP{URL: "http://127.0.0.1:8080/health", JSONField: "status"}},
			{Name: "api-port", Liveness: true, TCP: &health.TCP{Address: "127.0.0.1:8080"}},
		},
		Registerer: reg,
	}
	sidecar, err := h.Container("health")
	require.NoError(t, err)
	p := podtest.Start(t, "health-adapter", pod.Spec{
		Volumes:        []pod.Volume{{Name: "flags", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{sidecar},
		Containers: []pod.Container{
			worker,
			api,
		},
	})
	host := healthHostClient()
	hostURL := "http://" + h.Listen

	readyWithin := func(want bool, why string) {
		t.Helper()
		require.Eventually(t, func() bool { return healthReady(p, "api") == want }, 10*time.Second, 20*time.Millisecond, why)
	}

	// No flag yet: the worker is not ready, and so the API is not.
	require.Eventually(t, func() bool {
		body := healthTryGet(host, hostURL+"/healthz?verbose")
		return healthHas(body, "[+]api ok", "[+]api-port ok", "[-]worker failed: exit status 1")
	}, 10*time.Second, 20*time.Millisecond)
	assert.False(t, healthReady(p, "api"))
	code, body := healthGet(t, host, hostURL+"/livez")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body)

	flags, err := p.VolumePath("flags")
	require.NoError(t, err)
	flag := filepath.Join(flags, "ready")
	require.NoError(t, os.WriteFile(flag, nil, 0o644))
	readyWithin(true, "the flag makes the API ready")
	code, body = healthGet(t, host, hostURL+"/readyz?verbose")
	assert.Equal(t, http.StatusOK, code)
	assert.Regexp(t, `^\[\+\]worker ok \(.+\)\n\[\+\]api ok \(.+\)\nreadyz check passed\n$`, body)

	status.Store("DOWN")
	readyWithin(false, "the API's own status makes it unready")
	code, body = healthGet(t, host, hostURL+"/healthz?verbose")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, body, `[-]api failed: status is "DOWN", want one of`)
	code, _ = healthGet(t, host, hostURL+"/livez")
	assert.Equal(t, http.StatusOK, code, "a readiness check does not fail liveness")

	status.Store("UP")
	readyWithin(true, "and back")
	require.NoError(t, os.Remove(flag))
	readyWithin(false, "no flag, no readiness")

	// Inside the pod, the same endpoints.
	code, body = healthGet(t, healthPodClient(p), "http://127.0.0.1:8086/readyz/api")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body)
	code, body = healthGet(t, healthPodClient(p), "http://127.0.0.1:8086/readyz/worker")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "internal server error: exit status 1\n", body)

	families, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
		for _, m := range f.GetMetric() {
			assert.Equal(t, "adapter", m.GetLabel()[0].GetName())
			assert.Equal(t, "health", m.GetLabel()[0].GetValue(), "labelled with the container's name")
		}
	}
	assert.True(t, names["podkit_adapter_health_check_up"])
	assert.True(t, names["podkit_adapter_health_check_duration_seconds"])

	// The adapter's log tells of the changes.
	logs, err := p.Logs("health", pod.LogOptions{})
	require.NoError(t, err)
	var text string
	for _, l := range logs {
		text += l.Text + "\n"
	}
	assert.Contains(t, text, "health check worker failed: exit status 1")
	assert.Contains(t, text, `health check api failed: status is "DOWN"`)
	assert.Contains(t, text, "health check api passes again")
}

// A Redis server in the pod, checked by the adapter from inside the pod,
// and reported on the host.
func TestHealthAdapterRedisInPod(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "redis-server")
	h := health.Adapter{
		Listen: testenv.FreeAddr(t),
		Checks: []health.Check{
			{Name: "redis", Redis: &health.Redis{Address: "127.0.0.1:6379", Password: "pw"}},
			{Name: "replica", Readiness: true, Redis: &health.Redis{Address: "127.0.0.1:6380"}},
		},
	}
	sidecar, err := h.Container("health")
	require.NoError(t, err)
	podtest.Start(t, "health-redis", pod.Spec{
		InitContainers: []pod.Container{sidecar},
		Containers: []pod.Container{{
			Name: "redis", Command: []string{"redis-server", "--port", "6379", "--bind", "127.0.0.1", "--save", "",
				"--appendonly", "no", "--daemonize", "no", "--requirepass", "pw", "--dir", t.TempDir()}}},
	})
	host := healthHostClient()
	require.Eventually(t, func() bool {
		return healthTryGet(host, "http://"+h.Listen+"/livez") == "ok"
	}, 10*time.Second, 20*time.Millisecond)
	code, body := healthGet(t, host, "http://"+h.Listen+"/readyz?verbose")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, body, "[+]redis ok (")
	assert.Contains(t, body, "[-]replica failed: pod \"health-redis\": dial 127.0.0.1:6380: dial tcp 127.0.0.1:6380: connect: connection refused")
}

// healthHas reports whether body holds each of the strings.
func healthHas(body string, want ...string) bool {
	for _, w := range want {
		if !strings.Contains(body, w) {
			return false
		}
	}
	return true
}
