package health_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/internal/memberconf"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
)

// healthApp is an application's HTTP health endpoint whose JSON status the
// test sets.
type healthApp struct {
	*httptest.Server
	status atomic.Value // string
	hits   atomic.Int64
}

func newHealthApp(t *testing.T, status string) *healthApp {
	a := &healthApp{}
	a.status.Store(status)
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":%q,"components":{"db":{"status":"UP"}}}`, a.status.Load())
	}))
	t.Cleanup(a.Close)
	return a
}

func TestHealthEndpoints(t *testing.T) {
	app := newHealthApp(t, "UP")
	flag := filepath.Join(t.TempDir(), "ready")
	require.NoError(t, os.WriteFile(flag, nil, 0o644))
	db := testenv.ServeTCP(t, func(net.Conn) {})
	get := healthServe(t, health.Adapter{
		Listen: "127.0.0.1:8086",
		Checks: []health.Check{
			{Name: "app", HTTP: &health.HTTP{URL: app.URL + "/actuator/health", JSONField: "status"}},
			{Name: "db", Liveness: true, TCP: &health.TCP{Address: db}},
			{Name: "flag", Readiness: true, Command: &health.Command{Command: []string{"test", "-f", flag}}},
		},
	})

	for _, path := range []string{"/livez", "/readyz", "/healthz", "/readyz/app", "/livez/db", "/healthz/flag"} {
		code, body := get(path)
		assert.Equal(t, http.StatusOK, code, path)
		assert.Equal(t, "ok", body, path)
	}
	code, body := get("/readyz?verbose")
	require.Equal(t, http.StatusOK, code)
	assert.Regexp(t, `^\[\+\]app ok \(.+\)\n\[\+\]flag ok \(.+\)\nreadyz check passed\n$`, body)
	_, body = get("/livez?verbose")
	assert.Regexp(t, `^\[\+\]app ok \(.+\)\n\[\+\]db ok \(.+\)\nlivez check passed\n$`, body)
	_, body = get("/healthz?verbose=1")
	assert.Contains(t, body, "[+]app ok")
	assert.Contains(t, body, "[+]db ok")
	assert.Contains(t, body, "[+]flag ok")

	// A check outside an endpoint's group has no endpoint of its own there.
	for _, path := range []string{"/livez/flag", "/readyz/db", "/healthz/nope", "/healthz/", "/", "/metrics"} {
		code, _ := get(path)
		assert.Equal(t, http.StatusNotFound, code, path)
	}

	// Failures: the reasons only for those who ask.
	app.status.Store("DOWN")
	require.NoError(t, os.Remove(flag))
	code, body = get("/readyz")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "[-]app failed: reason withheld\n[-]flag failed: reason withheld\nreadyz check failed\n", body)
	code, body = get("/readyz?verbose")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, body, `[-]app failed: status is "DOWN", want one of ["ok" "UP" "up" "healthy" "pass"] (`)
	assert.Contains(t, body, "[-]flag failed: exit status 1 (")
	assert.True(t, strings.HasSuffix(body, "\nreadyz check failed\n"), body)
	code, body = get("/readyz/app")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "internal server error: status is \"DOWN\", want one of [\"ok\" \"UP\" \"up\" \"healthy\" \"pass\"]\n", body)
	code, _ = get("/livez?exclude=app")
	assert.Equal(t, http.StatusOK, code, "db alone is live")

	// Excluded checks are skipped; names that match nothing are reported.
	code, body = get("/readyz?exclude=app&exclude=flag&exclude=nope&verbose")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "warn: some health checks cannot be excluded: no matches for \"nope\"\nreadyz check passed\n", body)

	// Only GET and HEAD.
	handler, err := health.Adapter{Listen: ":1", Checks: []health.Check{
		{Name: "db", TCP: &health.TCP{Address: db}}}}.Handler(t.Context())
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/healthz", strings.NewReader("x")))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/healthz", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
}

// An HTTP check fails with a clear reason, never a crash, whatever the
// application answers.
func TestHealthHTTPCheckBadAnswers(t *testing.T) {
	serve := func(body string, status int) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if status == http.StatusFound {
				http.Redirect(w, r, "/login", status)
				return
			}
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	raw := func(serve func(c net.Conn)) string { return "http://" + testenv.ServeTCP(t, serve) + "/health" }
	huge := `{"status":"ok","pad":"` + strings.Repeat("x", 2<<20) + `"}`

	for _, tc := range []struct {
		name  string
		check health.HTTP
		want  string // a regular expression; "" passes
	}{
		{"2xx without a field", health.HTTP{URL: serve("whatever", 204)}, ""},
		{"status ok", health.HTTP{URL: serve(`{"status":"ok"}`, 200), JSONField: "status"}, ""},
		{"spring UP", health.HTTP{URL: serve(`{"status":"UP","groups":["liveness"]}`, 200), JSONField: "status"}, ""},
		{"IETF pass", health.HTTP{URL: serve(`{"status":"pass","version":"1"}`, 200), JSONField: "status"}, ""},
		{"nested", health.HTTP{URL: serve(`{"health":{"status":"healthy"}}`, 200), JSONField: "health.status"}, ""},
		{"boolean", health.HTTP{URL: serve(`{"healthy":true}`, 200), JSONField: "healthy", OKValues: []string{"true"}}, ""},
		{"boolean false", health.HTTP{URL: serve(`{"healthy":false}`, 200), JSONField: "healthy", OKValues: []string{"true"}},
			`^healthy is "false", want one of \["true"\]$`},
		{"own values", health.HTTP{URL: serve(`{"state":"GREEN"}`, 200), JSONField: "state", OKValues: []string{"GREEN"}}, ""},
		{"wrong value", health.HTTP{URL: serve(`{"status":"DOWN"}`, 200), JSONField: "status"}, `status is "DOWN", want one of`},
		{"error status", health.HTTP{URL: serve(`{"status":"ok"}`, 503), JSONField: "status"}, "HTTP status 503 Service Unavailable"},
		{"3xx", health.HTTP{URL: serve("", http.StatusFound)}, `^HTTP status 302 Found \(redirect to /login, not followed\)$`},
		{"malformed JSON", health.HTTP{URL: serve(`{"status": "ok"`, 200), JSONField: "status"}, "body is not JSON: unexpected EOF"},
		{"HTML", health.HTTP{URL: serve(`<html>ok</html>`, 200), JSONField: "status"}, "body is not JSON: invalid character '<'"},
		{"empty body", health.HTTP{URL: serve(``, 200), JSONField: "status"}, "body is not JSON: EOF"},
		{"array", health.HTTP{URL: serve(`["ok"]`, 200), JSONField: "status"}, "body is an array, not a JSON object"},
		{"missing field", health.HTTP{URL: serve(`{"state":"ok"}`, 200), JSONField: "status"}, "status: missing from the body"},
		{"object field", health.HTTP{URL: serve(`{"status":{"code":"ok"}}`, 200), JSONField: "status"}, "status is an object, not a string"},
		{"not an object on the way", health.HTTP{URL: serve(`{"health":"ok"}`, 200), JSONField: "health.status"}, "health is a string, not an object"},
		{"null", health.HTTP{URL: serve(`{"status":null}`, 200), JSONField: "status"}, `status is "null"`},
		{"huge body", health.HTTP{URL: serve(huge, 200), JSONField: "status"}, "body larger than 1048576 bytes"},
		{"not HTTP", health.HTTP{URL: raw(func(c net.Conn) {
			_, _ = c.Read(make([]byte, 4096))
			fmt.Fprint(c, "SSH-2.0-OpenSSH_9.2\r\n")
		})}, "malformed HTTP response"},
		{"huge headers", health.HTTP{URL: raw(func(c net.Conn) {
			_, _ = c.Read(make([]byte, 4096))
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\n")
			for range 2000 {
				if _, err := fmt.Fprintf(c, "X-Pad: %s\r\n", strings.Repeat("y", 100)); err != nil {
					return
				}
			}
		})}, "server response headers exceeded"},
		{"reset", health.HTTP{URL: raw(func(c net.Conn) {
			_ = c.(*net.TCPConn).SetLinger(0) // close sends RST
		})}, "EOF|reset"},
		{"closed mid-body", health.HTTP{URL: raw(func(c net.Conn) {
			_, _ = c.Read(make([]byte, 4096))
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"status\":")
		}), JSONField: "status"}, "reading the body: unexpected EOF"},
		{"no answer", health.HTTP{URL: raw(func(c net.Conn) {
			_, _ = c.Read(make([]byte, 4096))
			_, _ = c.Read(make([]byte, 1)) // until the client gives up
		})}, "^timeout after 300ms$"},
		{"refused", health.HTTP{URL: "http://" + healthRefusedAddr(t) + "/"}, "connection refused"},
		{"not TLS", health.HTTP{URL: strings.Replace(serve("", 200), "http:", "https:", 1)}, "http: server gave HTTP response to HTTPS client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			timeout := 5 * time.Second
			if strings.HasPrefix(tc.want, "^timeout") {
				timeout = 300 * time.Millisecond
			}
			reason := healthCheckOnce(t, health.Check{HTTP: &tc.check}, timeout)
			if tc.want == "" {
				assert.Empty(t, reason)
			} else {
				assert.Regexp(t, tc.want, reason)
				assert.NotContains(t, reason, "\n")
			}
			assert.Less(t, time.Since(start), timeout+2*time.Second)
		})
	}
}

// A check that hangs fails with "timeout" once its time is up, and leaves
// nothing running: not the command, nor its children.
func TestHealthCommandTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	reason := healthCheckOnce(t, health.Check{Command: &health.Command{
		Command: []string{"sh", "-c", "sleep 30 & echo $! > " + pidFile + "; wait"}}}, 300*time.Millisecond)
	assert.Equal(t, "timeout after 300ms", reason)
	assert.Less(t, time.Since(start), 2*time.Second)
	data, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	var pid int
	_, err = fmt.Sscan(string(data), &pid)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		// Gone, or a zombie waiting for init.
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return err != nil || strings.Contains(string(stat), ") Z ")
	}, 2*time.Second, 10*time.Millisecond, "the command's child survived")

	// A failed command's reason ends with its output.
	reason = healthCheckOnce(t, health.Check{Command: &health.Command{
		Command: []string{"sh", "-c", "echo checking; echo 'disk full' >&2; exit 3"}}}, time.Second)
	assert.Equal(t, "exit status 3: checking disk full", reason)
	reason = healthCheckOnce(t, health.Check{Command: &health.Command{
		Command: []string{"sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x; echo END; exit 1"}}}, time.Second)
	assert.Regexp(t, `^exit status 1: \.\.\.x+END$`, reason)
	assert.Less(t, len(reason), 600)
	reason = healthCheckOnce(t, health.Check{Command: &health.Command{
		Command: []string{"/nonexistent/check"}}}, time.Second)
	assert.Contains(t, reason, "no such file or directory")
}

// Requests that arrive while a check runs share its run; CacheFor reuses
// a result for a while.
func TestHealthSharedRunsAndCache(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			<-release
		}
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	defer app.Close()
	get := healthServe(t, health.Adapter{Listen: ":1", Timeout: 5 * time.Second, Checks: []health.Check{
		{Name: "app", HTTP: &health.HTTP{URL: app.URL, JSONField: "status"}}}})

	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		wg.Go(func() { codes[i], _ = get("/readyz") })
	}
	require.Eventually(t, func() bool { return hits.Load() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(200 * time.Millisecond) // let every request join the run
	close(release)
	wg.Wait()
	assert.Equal(t, int64(1), hits.Load(), "50 requests at once make one check")
	for _, c := range codes {
		assert.Equal(t, http.StatusOK, c)
	}
	get("/readyz")
	get("/livez")
	assert.Equal(t, int64(3), hits.Load(), "without CacheFor, each request checks anew")

	hits.Store(1)
	get = healthServe(t, health.Adapter{Listen: ":1", CacheFor: 500 * time.Millisecond, Checks: []health.Check{
		{Name: "app", HTTP: &health.HTTP{URL: app.URL, JSONField: "status"}}}})
	_, body := get("/readyz?verbose")
	assert.NotContains(t, body, "cached")
	for range 20 {
		_, body = get("/readyz?verbose")
	}
	assert.Equal(t, int64(2), hits.Load(), "one check for 21 requests")
	assert.Regexp(t, `\[\+\]app ok \(.+, cached\)`, body)
	time.Sleep(550 * time.Millisecond)
	get("/healthz")
	assert.Equal(t, int64(3), hits.Load(), "a result is reused for CacheFor only")
}

// Checks of a request run at the same time.
func TestHealthChecksRunConcurrently(t *testing.T) {
	// Each check marks its start and then waits until every check has
	// started: checks run one after the other would never all start, and
	// the first would time out.
	const n = 5
	dir := t.TempDir()
	var checks []health.Check
	for i := range n {
		script := fmt.Sprintf(`touch %q/%d; while [ "$(ls %q | wc -l)" -lt %d ]; do sleep 0.01; done`, dir, i, dir, n)
		checks = append(checks, health.Check{Name: fmt.Sprintf("meet-%d", i),
			Command: &health.Command{Command: []string{"sh", "-c", script}}})
	}
	get := healthServe(t, health.Adapter{Listen: ":1", Timeout: 30 * time.Second, Checks: checks})
	code, body := get("/healthz?verbose")
	assert.Equal(t, http.StatusOK, code, body)
	for i := range n {
		assert.Regexp(t, fmt.Sprintf(`\[\+\]meet-%d ok \(\d[^)]*\)`, i), body)
	}
}

// Outside a pod, Run serves both addresses, records metrics while it runs,
// logs the changes of the results, and stops cleanly.
func TestHealthRunOutsideAPod(t *testing.T) {
	app := newHealthApp(t, "ok")
	reg := prometheus.NewRegistry()
	core, logs := observer.New(zap.InfoLevel)
	h := health.Adapter{
		Listen:    testenv.FreeAddr(t),
		PodListen: testenv.FreeAddr(t),
		Checks: []health.Check{
			{Name: "app", HTTP: &health.HTTP{URL: app.URL, JSONField: "status"}},
			{Name: "tcp", TCP: &health.TCP{Address: app.Listener.Addr().String()}},
		},
		Registerer: reg,
		Logger:     zap.New(core),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	client := healthHostClient()
	for _, addr := range []string{h.Listen, h.PodListen} {
		require.Eventually(t, func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		}, 5*time.Second, 10*time.Millisecond)
		code, body := healthGet(t, client, "http://"+addr+"/healthz?verbose")
		assert.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, "[+]app ok")
	}

	app.status.Store("starting")
	code, _ := healthGet(t, client, "http://"+h.Listen+"/readyz")
	assert.Equal(t, http.StatusInternalServerError, code)
	healthGet(t, client, "http://"+h.Listen+"/readyz")
	app.status.Store("ok")
	healthGet(t, client, "http://"+h.Listen+"/readyz")

	assert.Equal(t, 1.0, healthGauge(t, reg, "app"))
	assert.Equal(t, 1.0, healthGauge(t, reg, "tcp"))
	n, err := testutil.GatherAndCount(reg, "podkit_adapter_health_check_duration_seconds")
	require.NoError(t, err)
	assert.Equal(t, 2, n, "a histogram per check")
	msgs := []string{}
	for _, e := range logs.All() {
		msgs = append(msgs, e.Message+" "+e.ContextMap()["check"].(string))
	}
	assert.Equal(t, []string{"health check failed app", "health check passes again app"}, msgs, "changes only")
	assert.Contains(t, logs.All()[0].ContextMap()["reason"], `status is "starting"`)

	// A second adapter cannot take the address. One of the same name
	// shares the metrics, and leaves them registered for the first.
	err = health.Adapter{Listen: h.Listen, Checks: h.Checks}.Run(ctx)
	assert.ErrorContains(t, err, "health: listen: ")
	briefly, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	defer stop()
	require.NoError(t, health.Adapter{Listen: testenv.FreeAddr(t), Checks: h.Checks, Registerer: reg}.Run(briefly))
	assert.Equal(t, 1.0, healthGauge(t, reg, "app"), "still registered")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	n, err = testutil.GatherAndCount(reg)
	require.NoError(t, err)
	assert.Zero(t, n, "the metrics are unregistered")
	_, err = net.Dial("tcp", h.Listen)
	assert.Error(t, err, "the listener is closed")

	// Outside a pod, a PodListen equal to Listen is served once.
	h = health.Adapter{Listen: testenv.FreeAddr(t), Checks: h.Checks}
	h.PodListen = h.Listen
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- h.Run(ctx) }()
	require.Eventually(t, func() bool {
		return healthTryGet(client, "http://"+h.Listen+"/livez") == "ok"
	}, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

// healthGauge returns the value of the up gauge of a check.
func healthGauge(t *testing.T, reg *prometheus.Registry, check string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "podkit_adapter_health_check_up" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["check"] == check {
				assert.Equal(t, "health", labels["adapter"])
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no gauge for check %q", check)
	return 0
}

func TestHealthValidation(t *testing.T) {
	tcp := &health.TCP{Address: "127.0.0.1:5432"}
	ok := []health.Check{{Name: "db", TCP: tcp}}
	for _, tc := range []struct {
		h    health.Adapter
		want string
	}{
		{health.Adapter{Checks: ok}, "health: listen: required"},
		{health.Adapter{Listen: "8086", Checks: ok}, `health: listen: "8086": address 8086: missing port in address`},
		{health.Adapter{Listen: ":http", Checks: ok}, `health: listen: ":http": port "http" is not a port number`},
		{health.Adapter{Listen: ":1", PodListen: "127.0.0.1:99999", Checks: ok}, `health: podListen: "127.0.0.1:99999": port`},
		{health.Adapter{Listen: ":1", Checks: ok, Timeout: -time.Second}, "health: timeout: -1s is negative"},
		{health.Adapter{Listen: ":1", Checks: ok, MaxHeaderBytes: -1}, "health: maxHeaderBytes: -1 is negative"},
		{health.Adapter{Listen: ":1", Checks: ok, CacheFor: -time.Second}, "health: cacheFor: -1s is negative"},
		{health.Adapter{Listen: ":1"}, "health: checks: at least one is required"},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{TCP: tcp}}}, "health: checks[0].name: required"},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "My_DB", TCP: tcp}}},
			`health: checks[0].name: "My_DB": a lowercase RFC 1123 label`},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "db", TCP: tcp}, {Name: "db", TCP: tcp}}},
			`health: checks[1].name: "db" is the name of an earlier check`},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "db"}}},
			"health: checks[0]: exactly one of command, tcp, redis and http must be set, not 0"},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "db", TCP: tcp, Redis: &health.Redis{}}}},
			"health: checks[0]: exactly one of command, tcp, redis and http must be set, not 2"},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "c", Command: &health.Command{}}}},
			"health: checks[0].command.command: required"},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "t", TCP: &health.TCP{Address: "db"}}}},
			`health: checks[0].tcp.address: "db": address db: missing port in address`},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "t", TCP: &health.TCP{Address: "db:0"}}}},
			`health: checks[0].tcp.address: "db:0": port "0" is not a port number (1-65535)`},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "r", Redis: &health.Redis{}}}},
			"health: checks[0].redis.address: required"},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "r", Redis: &health.Redis{
			Address: ":6379", Password: "a", PasswordFile: "/b"}}}}, "health: checks[0].redis.passwordFile: set with password"},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "r", Redis: &health.Redis{
			Address: ":6379", Username: "a"}}}}, "health: checks[0].redis.username: set without password"},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "h", HTTP: &health.HTTP{URL: "localhost:8080/health"}}}},
			`health: checks[0].http.url: "localhost:8080/health": want http://host:port/path`},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "h", HTTP: &health.HTTP{URL: "http://a b/"}}}},
			`health: checks[0].http.url: parse "http://a b/": invalid character " " in host name`},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "h", HTTP: &health.HTTP{URL: "http://a/", OKValues: []string{"ok"}}}}},
			"health: checks[0].http.okValues: set without jsonField"},
		{health.Adapter{Listen: ":1", Checks: []health.Check{{Name: "h", HTTP: &health.HTTP{URL: "http://a/", JSONField: "a..b"}}}},
			`health: checks[0].http.jsonField: "a..b" has an empty part`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := tc.h.Handler(t.Context())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, err = tc.h.Container("health")
			assert.ErrorContains(t, err, tc.want)
			assert.ErrorContains(t, tc.h.Run(context.Background()), tc.want)
		})
	}

	h := health.Adapter{Listen: ":1", Checks: ok}
	_, err := h.Container("")
	assert.EqualError(t, err, "health: name: required")
	// In a pod, a command runs in a container that must be named.
	h.Checks = []health.Check{{Name: "c", Command: &health.Command{Command: []string{"true"}}}}
	_, err = h.Container("health")
	assert.EqualError(t, err, "health: checks[0].command.container: required in a pod")
	_, err = h.Handler(t.Context())
	assert.NoError(t, err, "outside a pod, commands run here")
}

// The process form's configuration is h's JSON, which Parse reads
// back.
func TestHealthExportArgs(t *testing.T) {
	h := health.Adapter{
		Listen:    "0.0.0.0:8086",
		PodListen: "127.0.0.1:8086",
		Timeout:   1500 * time.Millisecond,
		CacheFor:  2 * time.Second,
		Checks: []health.Check{
			{Name: "worker", Readiness: true, Command: &health.Command{Container: "worker", Command: []string{"test", "-f", "/tmp/ready"}}},
			{Name: "db", Liveness: true, TCP: &health.TCP{Address: "127.0.0.1:5432"}},
			{Name: "cache", Redis: &health.Redis{Address: "127.0.0.1:6379", PasswordFile: "/podkit/volumes/secrets/redis"}},
			{Name: "api", HTTP: &health.HTTP{URL: "http://127.0.0.1:8080/actuator/health", JSONField: "status", OKValues: []string{"UP"}}},
		},
		Registerer: prometheus.NewRegistry(),
	}
	c, err := h.Container("health")
	require.NoError(t, err)
	assert.Equal(t, "health", c.Name)
	assert.Equal(t, pod.RestartAlways, c.RestartPolicy)
	assert.NotNil(t, c.Func)
	require.NotNil(t, c.StartupProbe, "the containers after the adapter wait until it listens in the pod")
	assert.Equal(t, &pod.TCPSocketAction{Host: "127.0.0.1", Port: 8086}, c.StartupProbe.TCPSocket)
	// The export is the adapter's flags (package memberconf), which read
	// back into the same configuration.
	assert.Equal(t, []string{"adapter", "health"}, c.ExportArgs[:2])
	assert.Contains(t, c.ExportArgs, "--timeout=1.5s")
	var back health.Adapter
	require.NoError(t, memberconf.Parse("health", c.ExportArgs[2:], &back))
	want := h
	want.Registerer = nil
	assert.Equal(t, want, back)

	c, err = health.Adapter{Listen: "127.0.0.1:8086", Checks: h.Checks[1:2]}.Container("h")
	require.NoError(t, err)
	assert.Nil(t, c.StartupProbe, "no probe reaches the host's address from the pod")
	assert.Equal(t, []string{"adapter", "health", "--listen=127.0.0.1:8086",
		`--check={"liveness":true,"name":"db","tcp":{"address":"127.0.0.1:5432"}}`}, c.ExportArgs)

	back, err = health.Parse([]byte("listen: \":1\"\nchecks: [{name: db, tcp: {address: \":5432\"}}]\ntimeout: 2s\n"))
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, back.Timeout, "a YAML document")

	for _, tc := range []struct{ config, want string }{
		{`{"listen":":1","checks":[{"name":"db","tcp":{"address":":5432"}}],"timout":"1s"}`, `health: config: timout: unknown field`},
		{`{"listen":":1","checks":[{"name":"db","tcp":{"adress":":5432"}}]}`, `health: config: checks[0].tcp.adress: unknown field`},
		{`{"listen":":1","checks":[{"name":"db","tcp":{"address":":5432"}}],"timeout":"soon"}`, `health: config: timeout: "soon": not a duration (such as 500ms, 10s or 1m30s)`},
		{`{"listen":":1","checks":[{"name":"db","tcp":{"address":":5432"}}],"timeout":1.5}`, `health: config: timeout: want a duration such as "10s", got the number 1.5`},
		{`{"listen":":1","checks":[{"name":"db","tcp":{"address":":5432"}}]} {}`, `health: config: document: after the document: yaml: did not find expected <document start>`},
		{`{"listen":":1","checks":[]}`, `health: checks: at least one is required`},
		{`{"listen":":1","checks":[{"name":"db","tcp":{"address":":5432"}}]`, `health: config: document: yaml: line 1: did not find expected ',' or '}'`},
		{``, `health: listen: required`},
	} {
		_, err := health.Parse([]byte(tc.config))
		assert.EqualError(t, err, tc.want, tc.config)
	}
}
