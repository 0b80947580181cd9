package ambassador

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/podkit/podkit/pod"

	"github.com/podkit/podkit/internal/httpserve"
	"github.com/podkit/podkit/internal/promreg"
)

// HTTP is an HTTP ambassador: a reverse proxy (net/http/httputil) that the
// application reaches inside its pod, and that splits its requests between
// upstreams by weight or by header, and mirrors a share of them to another
// upstream (a canary or a shadow service), without the application knowing.
//
// An HTTP is configuration; Container and Run do not change it.
type HTTP struct {
	// Listen is the address the ambassador listens on, inside the pod when
	// it runs in-process: "127.0.0.1:8080". Required.
	Listen string `json:"listen" help:"address to listen on (inside the pod under podkit run)"`
	// Upstreams receive the requests, each with a share of Weight over the
	// sum of the weights (0 means 1), picked at random per request: 90 and
	// 10 split the traffic 90/10. Required.
	Upstreams []HTTPUpstream `json:"upstreams" flag:"upstream" help:"an upstream: URL, or {url: URL, weight: N}"`
	// Routes send the requests that carry a header value to one upstream,
	// whatever the weights: the first route that matches wins.
	Routes []Route `json:"routes,omitempty" flag:"route" help:"requests with a header value go to one upstream: {header, value, upstream}"`
	// Mirror copies a share of the requests to another upstream; its
	// answers are discarded.
	Mirror *Mirror `json:"mirror,omitempty" help:"a mirror receiving a copy of some requests: {url, percent, maxBodyBytes, maxInFlight}"`
	// TLS configures the connections to https upstreams (and the mirror);
	// nil means the system's roots.
	TLS *ClientTLS `json:"tls,omitempty" help:"speak TLS to the upstreams: {caFile, serverName, certFile, keyFile, insecureSkipVerify}"`
	// Timeout bounds an upstream's answer (headers). Zero means 30s.
	Timeout time.Duration `json:"timeout,omitempty" help:"bound of an upstream's answer (default 30s)"`
	// ReadHeaderTimeout bounds the reading of a client's request line and
	// headers: a client that has not sent them all by then is disconnected.
	// Zero means 10s, negative no bound. Bodies have no bound: they stream
	// to the upstream as fast as the client sends them.
	ReadHeaderTimeout time.Duration `json:"readHeaderTimeout,omitempty" help:"disconnect a client that has not sent its headers within (default 10s; negative: no bound)"`
	// IdleTimeout closes a client's keep-alive connection that sends no new
	// request for this long. Zero means 60s, negative never.
	IdleTimeout time.Duration `json:"idleTimeout,omitempty" help:"close a client connection idle this long between requests (default 60s; negative: never)"`
	// MaxHeaderBytes bounds a request's line and headers (net/http allows
	// 4 KiB more); a larger request is answered 431. Zero means 64 KiB.
	MaxHeaderBytes int `json:"maxHeaderBytes,omitempty" help:"largest request line and headers, in bytes (default 65536)"`
	// MaxConns bounds the client connections open at once; at the limit
	// the ambassador stops accepting until one closes, and clients wait in
	// the kernel's accept queue. Zero means 1024, negative no limit.
	MaxConns int `json:"maxConns,omitempty" help:"stop accepting at this many open client connections (default 1024; negative: no limit)"`
	// Registerer, when set, receives the ambassador's metrics
	// (podkit_ambassador_http_...), labelled with the container's name,
	// for as long as Run runs. Metrics already registered under the same
	// names and labels are shared, and left registered.
	Registerer prometheus.Registerer `json:"-"`
	// Logger logs proxy errors; nil means none.
	Logger *zap.Logger `json:"-"`
}

// HTTPUpstream is one upstream of an HTTP ambassador.
type HTTPUpstream struct {
	// URL is the upstream's base URL: http://host:port or https://host:port,
	// optionally with a path prefix. Required.
	URL string `json:"url" member:"primary"`
	// Weight is the upstream's share of the requests; 0 means 1.
	Weight int `json:"weight,omitempty"`
}

// Route sends the requests whose Header has Value to Upstream.
type Route struct {
	// Header is the request header's name. Required.
	Header string `json:"header"`
	// Value is the header's value that selects Upstream, compared whole.
	Value string `json:"value"`
	// Upstream is the URL of one of the Upstreams.
	Upstream string `json:"upstream"`
}

// Mirror copies requests to a second upstream.
type Mirror struct {
	// URL is the mirror's base URL. Required.
	URL string `json:"url"`
	// Percent of the requests are mirrored, chosen at random: 0 to 100.
	Percent float64 `json:"percent,omitempty"`
	// MaxBodyBytes bounds the body of a mirrored request: a request with a
	// larger body is not mirrored. Zero means 1 MiB.
	MaxBodyBytes int64 `json:"maxBodyBytes,omitempty"`
	// MaxInFlight bounds the mirrored requests waiting for an answer; a
	// request beyond it is not mirrored. Zero means 64.
	MaxInFlight int `json:"maxInFlight,omitempty"`
}

// Defaults of an HTTP ambassador.
const (
	DefaultHTTPTimeout       = 30 * time.Second
	defaultMirrorBodyBytes   = 1 << 20
	defaultMirrorMaxInFlight = 64
)

// Container returns an in-process sidecar named name that runs h. It
// checks h, and names the first bad field.
func (h HTTP) Container(name string) (pod.Container, error) {
	if name == "" {
		return pod.Container{}, errors.New("ambassador: http: name: required")
	}
	if _, err := h.compile(name); err != nil {
		return pod.Container{}, err
	}
	args, err := exportArgs("http", h)
	if err != nil {
		return pod.Container{}, err
	}
	c := pod.Container{Name: name, RestartPolicy: pod.RestartAlways, Func: h.Run, ExportArgs: args}
	c.StartupProbe = pod.ListenProbe(h.Listen)
	return c, nil
}

// Run serves until ctx is done, then stops accepting, lets the requests in
// flight finish until the container is killed (pod.InProcess.Killed; outside
// a pod, until they are done), and returns. In-process (see pod.FromContext)
// it listens inside the pod's network namespace and connects to the
// upstreams from the supervising program's; outside a pod (the process form
// of a pod exported to Kubernetes) it does both where it runs. Run returns
// an error if h is invalid or it cannot listen.
//
// While it runs, Run's goroutines are net/http's server (one accepting,
// one per client connection), one per mirrored request in flight (at most
// Mirror.MaxInFlight), and, during the drain, one that ends it when the
// container is killed. Run shuts the server down and waits for the
// mirrored requests: they have all exited when it returns (the idle
// connections of its client to the upstreams are closed too).
func (h HTTP) Run(ctx context.Context) error {
	name := "http"
	if self, ok := pod.FromContext(ctx); ok {
		name = self.Container
	}
	hp, err := h.compile(name)
	if err != nil {
		return err
	}
	ln, killed, err := listen(ctx, h.Listen, nil)
	if err != nil {
		return fmt.Errorf("ambassador: http: %w", err)
	}
	if hp.metrics != nil {
		reg := promreg.New(h.Registerer)
		defer reg.Unregister()
		if err := hp.metrics.register(reg); err != nil {
			ln.Close()
			return fmt.Errorf("ambassador: http: metrics: %w", err)
		}
	}
	lim := h.limits()
	srv := httpserve.Server(hp, lim)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(httpserve.Listen(ln, lim)) }()
	select {
	case err := <-served:
		hp.waitMirrors()
		return fmt.Errorf("ambassador: http: %w", err)
	case <-ctx.Done():
	}
	drainCtx, cancel := untilKilled(killed)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		srv.Close()
	}
	<-served
	hp.waitMirrors()
	return nil
}

// httpProxy is a compiled HTTP ambassador.
type httpProxy struct {
	proxy     *httputil.ReverseProxy
	upstreams []*url.URL
	weights   []int
	total     int
	routes    []compiledRoute
	mirror    *compiledMirror
	transport *http.Transport
	metrics   *httpMetrics
	mirrors   sync.WaitGroup
}

type compiledRoute struct {
	header, value string
	target        *url.URL
}

type compiledMirror struct {
	target   *url.URL
	percent  float64
	maxBody  int64
	inFlight chan struct{}
	client   *http.Client
}

// stateKey is the context key of a request's *requestState.
type stateKey struct{}

// requestState is what the proxy's hooks learn of a request from
// ServeHTTP: the upstream it goes to, and its body, which tells a client's
// malformed body from an upstream's failure.
type requestState struct {
	target *url.URL
	body   *bodyReader // nil without a body
}

func (h HTTP) compile(name string) (*httpProxy, error) {
	if _, _, err := net.SplitHostPort(h.Listen); err != nil {
		return nil, fmt.Errorf("ambassador: http: listen: %q: %w", h.Listen, err)
	}
	if len(h.Upstreams) == 0 {
		return nil, errors.New("ambassador: http: upstreams: at least one is required")
	}
	if h.Timeout < 0 {
		return nil, fmt.Errorf("ambassador: http: timeout: %s is negative", h.Timeout)
	}
	if err := h.limits().Check(); err != nil {
		return nil, fmt.Errorf("ambassador: http: %w", err)
	}
	tlsConfig, err := h.TLS.config()
	if err != nil {
		return nil, fmt.Errorf("ambassador: http: tls: %w", err)
	}
	timeout := h.Timeout
	if timeout == 0 {
		timeout = DefaultHTTPTimeout
	}
	hp := &httpProxy{transport: &http.Transport{
		TLSClientConfig:       tlsConfig,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
	}}
	byURL := map[string]*url.URL{}
	for i, u := range h.Upstreams {
		target, err := parseUpstreamURL(u.URL)
		if err != nil {
			return nil, fmt.Errorf("ambassador: http: upstreams[%d].url: %w", i, err)
		}
		if u.Weight < 0 {
			return nil, fmt.Errorf("ambassador: http: upstreams[%d].weight: %d is negative", i, u.Weight)
		}
		w := max(u.Weight, 1)
		hp.upstreams = append(hp.upstreams, target)
		hp.weights = append(hp.weights, w)
		hp.total += w
		byURL[u.URL] = target
	}
	for i, r := range h.Routes {
		target, ok := byURL[r.Upstream]
		switch {
		case r.Header == "":
			return nil, fmt.Errorf("ambassador: http: routes[%d].header: required", i)
		case !ok:
			return nil, fmt.Errorf("ambassador: http: routes[%d].upstream: %q is not one of the upstreams", i, r.Upstream)
		}
		hp.routes = append(hp.routes, compiledRoute{header: http.CanonicalHeaderKey(r.Header), value: r.Value, target: target})
	}
	if m := h.Mirror; m != nil {
		target, err := parseUpstreamURL(m.URL)
		if err != nil {
			return nil, fmt.Errorf("ambassador: http: mirror.url: %w", err)
		}
		if m.Percent < 0 || m.Percent > 100 {
			return nil, fmt.Errorf("ambassador: http: mirror.percent: %v is not between 0 and 100", m.Percent)
		}
		if m.MaxBodyBytes < 0 || m.MaxInFlight < 0 {
			return nil, errors.New("ambassador: http: mirror: maxBodyBytes and maxInFlight must not be negative")
		}
		hp.mirror = &compiledMirror{target: target, percent: m.Percent,
			maxBody:  cmpOr(m.MaxBodyBytes, defaultMirrorBodyBytes),
			inFlight: make(chan struct{}, cmpOr(m.MaxInFlight, defaultMirrorMaxInFlight)),
			client:   &http.Client{Transport: hp.transport, Timeout: timeout}}
	}
	if h.Registerer != nil {
		hp.metrics = newHTTPMetrics(name)
	}
	logger := h.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	hp.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target := pr.In.Context().Value(stateKey{}).(*requestState).target
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		Transport: hp.transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if st, _ := r.Context().Value(stateKey{}).(*requestState); st != nil && st.body.failed() {
				// The client's body, not the upstream, is at fault.
				logger.Debug("bad request body", zap.Error(err))
				http.Error(w, "bad request body", http.StatusBadRequest)
				return
			}
			logger.Warn("upstream failed", zap.String("upstream", r.URL.Host), zap.Error(err))
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return hp, nil
}

// limits are the bounds of h's server.
func (h HTTP) limits() httpserve.Limits {
	return httpserve.Limits{ReadHeaderTimeout: h.ReadHeaderTimeout, IdleTimeout: h.IdleTimeout,
		MaxHeaderBytes: h.MaxHeaderBytes, MaxConns: h.MaxConns}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func parseUpstreamURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%q: want http://host:port or https://host:port", s)
	}
	return u, nil
}

// pick returns the upstream of r: the first matching route's, or one at
// random by weight.
func (hp *httpProxy) pick(r *http.Request) *url.URL {
	for _, rt := range hp.routes {
		if v := r.Header.Get(rt.header); v != "" && v == rt.value {
			return rt.target
		}
	}
	n := rand.IntN(hp.total)
	for i, w := range hp.weights {
		if n < w {
			return hp.upstreams[i]
		}
		n -= w
	}
	return hp.upstreams[len(hp.upstreams)-1]
}

func (hp *httpProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := hp.pick(r)
	if hp.mirror != nil {
		r = hp.mirrorRequest(r)
	}
	st := &requestState{target: target}
	if r.Body != nil && r.Body != http.NoBody {
		st.body = &bodyReader{ReadCloser: r.Body}
		r.Body = st.body
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	hp.proxy.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	if hp.metrics != nil {
		hp.metrics.requests.WithLabelValues(target.Host, strconv.Itoa(rec.status)).Inc()
	}
}

// mirrorRequest sends a copy of r to the mirror, in the background, when
// r is chosen and small enough, and returns r with its body intact.
func (hp *httpProxy) mirrorRequest(r *http.Request) *http.Request {
	m := hp.mirror
	if rand.Float64()*100 >= m.percent {
		return r
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		data, err := io.ReadAll(io.LimitReader(r.Body, m.maxBody+1))
		rest := io.MultiReader(bytes.NewReader(data), r.Body)
		r = r.Clone(r.Context())
		r.Body = readCloser{rest, r.Body}
		if err != nil || int64(len(data)) > m.maxBody {
			hp.countMirror("skipped")
			return r
		}
		body = data
	}
	select {
	case m.inFlight <- struct{}{}:
	default:
		hp.countMirror("skipped")
		return r
	}
	target := *m.target
	target.Path = singleJoin(m.target.Path, r.URL.Path)
	target.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		<-m.inFlight
		hp.countMirror("error")
		return r
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host
	hp.mirrors.Add(1)
	go func() {
		defer hp.mirrors.Done()
		defer func() { <-m.inFlight }()
		resp, err := m.client.Do(out)
		if err != nil {
			hp.countMirror("error")
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		hp.countMirror("sent")
	}()
	return r
}

func (hp *httpProxy) countMirror(result string) {
	if hp.metrics != nil {
		hp.metrics.mirrored.WithLabelValues(result).Inc()
	}
}

// waitMirrors waits for the mirrored requests in flight, and closes idle
// connections.
func (hp *httpProxy) waitMirrors() {
	hp.mirrors.Wait()
	hp.transport.CloseIdleConnections()
}

func singleJoin(a, b string) string {
	switch {
	case a == "":
		return b
	case len(a) > 0 && a[len(a)-1] == '/' && len(b) > 0 && b[0] == '/':
		return a + b[1:]
	case len(a) > 0 && a[len(a)-1] != '/' && (len(b) == 0 || b[0] != '/'):
		return a + "/" + b
	}
	return a + b
}

// bodyReader is a client's request body that remembers whether reading it
// failed (a malformed chunked encoding, a client gone mid-body). The
// transport reads it in a goroutine of its own while the handler's error
// hook asks.
type bodyReader struct {
	io.ReadCloser
	err atomic.Bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.err.Store(true)
	}
	return n, err
}

// failed reports whether a read of b failed; a nil b did not.
func (b *bodyReader) failed() bool { return b != nil && b.err.Load() }

type readCloser struct {
	io.Reader
	io.Closer
}

// statusRecorder remembers the status an upstream answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// httpMetrics are an HTTP ambassador's metrics.
type httpMetrics struct {
	requests *prometheus.CounterVec
	mirrored *prometheus.CounterVec
}

func newHTTPMetrics(name string) *httpMetrics {
	labels := prometheus.Labels{"ambassador": name}
	return &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podkit_ambassador_http_requests_total", Help: "Requests proxied, by upstream and status code.",
			ConstLabels: labels}, []string{"upstream", "code"}),
		mirrored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podkit_ambassador_http_mirrored_requests_total", Help: "Requests chosen for the mirror, by result (sent, error, skipped).",
			ConstLabels: labels}, []string{"result"}),
	}
}

// register registers m's collectors with g, which unregisters them.
func (m *httpMetrics) register(g *promreg.Registration) (err error) {
	if m.requests, err = promreg.Register(g, m.requests); err != nil {
		return err
	}
	m.mirrored, err = promreg.Register(g, m.mirrored)
	return err
}
