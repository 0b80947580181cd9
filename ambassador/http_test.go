package ambassador_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/ambassador"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/pod/podtest"
)

// named is an upstream that answers with its name, and records the
// requests it got.
type named struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newNamed(t *testing.T, name string) *named {
	n := &named{}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n.mu.Lock()
		n.bodies = append(n.bodies, r.Method+" "+r.URL.Path+" "+string(body))
		n.mu.Unlock()
		fmt.Fprint(w, name)
	}))
	t.Cleanup(n.Close)
	return n
}

func (n *named) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.bodies)
}

func TestHTTPSplitRouteAndMirror(t *testing.T) {
	stable, canary, shadow := newNamed(t, "stable"), newNamed(t, "canary"), newNamed(t, "shadow")
	reg := prometheus.NewRegistry()
	amb, err := ambassador.HTTP{
		Listen:     "127.0.0.1:8080",
		Upstreams:  []ambassador.HTTPUpstream{{URL: stable.URL, Weight: 90}, {URL: canary.URL, Weight: 10}},
		Routes:     []ambassador.Route{{Header: "X-Canary", Value: "always", Upstream: canary.URL}},
		Mirror:     &ambassador.Mirror{URL: shadow.URL, Percent: 50},
		Registerer: reg,
	}.Container("ambassador")
	require.NoError(t, err)
	p := podtest.Start(t, "http-ambassador", pod.Spec{
		InitContainers: []pod.Container{amb},
		Containers:     []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	waitReady(t, p, "ambassador")
	client := podClient(p)

	const n = 1000
	got := map[string]int{}
	for i := range n {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/orders", strings.NewReader(fmt.Sprint("order ", i)))
		resp, err := client.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[string(body)]++
	}
	assert.InDelta(t, 0.9*n, got["stable"], 0.05*n, "the 90/10 split: %v", got)
	assert.InDelta(t, 0.1*n, got["canary"], 0.05*n, "the 90/10 split: %v", got)

	for range 20 {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080/", nil)
		req.Header.Set("X-Canary", "always")
		resp, err := client.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "canary", string(body))
	}

	// About half of the requests were mirrored, whole.
	require.Eventually(t, func() bool { return shadow.count() >= 428 }, 5*time.Second, 10*time.Millisecond)
	assert.InDelta(t, 0.5*(n+20), shadow.count(), 0.08*(n+20))
	shadow.mu.Lock()
	assert.Regexp(t, `^POST /orders order \d+$`, shadow.bodies[0])
	shadow.mu.Unlock()
	assert.Equal(t, float64(got["stable"]), counterValue(t, reg, "podkit_ambassador_http_requests_total",
		map[string]string{"upstream": strings.TrimPrefix(stable.URL, "http://"), "code": "200"}))
}

// counterValue returns the value of the counter name whose labels include
// labels, or 0.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestHTTPValidation(t *testing.T) {
	tests := []struct {
		h    ambassador.HTTP
		want string
	}{
		{ambassador.HTTP{Listen: "nope"}, `ambassador: http: listen: "nope"`},
		{ambassador.HTTP{Listen: ":80"}, "ambassador: http: upstreams: at least one is required"},
		{ambassador.HTTP{Listen: ":80", Upstreams: []ambassador.HTTPUpstream{{URL: "ftp://x"}}}, `upstreams[0].url: "ftp://x": want http://host:port`},
		{ambassador.HTTP{Listen: ":80", Upstreams: []ambassador.HTTPUpstream{{URL: "http://a:1"}},
			Routes: []ambassador.Route{{Header: "X", Upstream: "http://b:1"}}}, `routes[0].upstream: "http://b:1" is not one of the upstreams`},
		{ambassador.HTTP{Listen: ":80", Upstreams: []ambassador.HTTPUpstream{{URL: "http://a:1"}},
			Mirror: &ambassador.Mirror{URL: "http://m:1", Percent: 120}}, "mirror.percent: 120 is not between 0 and 100"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := tt.h.Container("a")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
