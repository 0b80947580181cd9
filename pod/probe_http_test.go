package pod

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostDial dials on the host, for testing httpGet without a pod.
func hostDial(ctx context.Context, _, addr string) (httpConn, error) {
	return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
}

// Probes and hooks send their GETs through httpGet; the table says where
// the kubelet's semantics for the two differ (a redirect to another host,
// the User-Agent), so a change to one path shows here for the other.
func TestHTTPGetSemantics(t *testing.T) {
	for _, kind := range []httpKind{httpProbeKind, httpHookKind} {
		t.Run(kind.name, func(t *testing.T) { testHTTPGetSemantics(t, kind) })
	}
}

func testHTTPGetSemantics(t *testing.T, kind httpKind) {
	var mu sync.Mutex
	var requests []*http.Request
	mux := http.NewServeMux()
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r)
		mu.Unlock()
		_, _ = w.Write([]byte("fine"))
	})
	mux.HandleFunc("/to/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.TrimPrefix(r.URL.RequestURI(), "/to"), http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+r.Host[strings.LastIndex(r.Host, ":")+1:]+"/status/500", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, 1<<20))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(time.Second) // the body never comes in time
	})
	mux.HandleFunc("/early-hints", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	port, _ := strconv.Atoi(u.Port())

	probe := func(path string, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return httpGet(ctx, hostDial, &HTTPGetAction{Port: port, Path: path}, kind)
	}
	// Where a hook's answer differs from a probe's.
	hookWants := map[string]string{
		"/elsewhere": "statuscode: 500", // followed to the other host
	}
	for _, tt := range []struct {
		path string
		want string // error substring; "" for success
	}{
		{"/ok", ""},
		{"/status/204", ""},
		{"/status/399", ""},
		{"/status/304", ""}, // a 3xx without Location is a success
		{"/status/400", "statuscode: 400"},
		{"/status/500", "statuscode: 500"},
		{"/to/ok", ""},
		{"/to/status/503", "statuscode: 503"}, // followed on the same host
		{"/to/to/to/ok?x=1", ""},
		{"/elsewhere", ""}, // another host name: not followed by a probe
		{"/loop", "stopped after 10 redirects"},
		{"/big", ""},
		{"/early-hints", ""},
		{"/no/such/page", "statuscode: 404"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			err := probe(tt.path, 5*time.Second)
			if want, ok := hookWants[tt.path]; ok && kind == httpHookKind {
				tt.want = want
			}
			if tt.want == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.want)
			}
		})
	}

	start := time.Now()
	err = probe("/slow", 200*time.Millisecond)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 900*time.Millisecond)

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, requests)
	r := requests[0]
	assert.Equal(t, kind.userAgent, r.UserAgent())
	assert.Equal(t, "*/*", r.Header.Get("Accept"))
	assert.Empty(t, r.Header.Get("Accept-Encoding"))
	assert.True(t, r.Close, "Connection: close")
	assert.Equal(t, "127.0.0.1:"+u.Port(), r.Host)
	var queried bool
	for _, r := range requests {
		queried = queried || r.URL.RawQuery == "x=1"
	}
	assert.True(t, queried, "the query of a redirect's location was lost")
	n := len(requests)
	mu.Unlock()
	require.NoError(t, probe("ok", 5*time.Second)) // a path without its slash
	mu.Lock()
	assert.Equal(t, "/ok", requests[n].URL.Path)
}

func TestHTTPProbeRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	err = httpGet(context.Background(), hostDial, &HTTPGetAction{Port: port}, httpProbeKind)
	assert.ErrorContains(t, err, "connection refused")
}

func TestTCPSockaddr(t *testing.T) {
	for _, tt := range []struct {
		network, addr string
		family        int
		ok            bool
	}{
		{"tcp", "127.0.0.1:80", 0, true},
		{"tcp4", "127.0.0.1:80", 0, true},
		{"tcp", "[::ffff:127.0.0.1]:80", 0, true},
		{"tcp", "[::1]:80", 1, true},
		{"tcp6", "[::1]:80", 1, true},
		{"tcp6", "127.0.0.1:80", 0, false}, // left to net.Dialer
		{"tcp4", "[::1]:80", 0, false},
		{"tcp", "localhost:80", 0, false},
		{"tcp", "[fe80::1%lo]:80", 0, false},
		{"tcp", "127.0.0.1:0", 0, false},
		{"tcp", "127.0.0.1:http", 0, false},
		{"udp", "127.0.0.1:80", 0, false},
	} {
		family, _, ok := tcpSockaddr(tt.network, tt.addr)
		assert.Equal(t, tt.ok, ok, "%s %s", tt.network, tt.addr)
		if ok {
			assert.Equal(t, tt.family, family, "%s %s", tt.network, tt.addr)
		}
	}
}
