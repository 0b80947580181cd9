package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podkit/podkit/internal/httpserve"
	"github.com/podkit/podkit/internal/memberconf"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/podkit/podkit/adapter/internal/config"
	"github.com/podkit/podkit/pod"
)

// Adapter is a metrics adapter: it presents an application's own
// monitoring (a JSON document, "key value" lines, a command's output, StatsD
// packets) to the outside as Prometheus metrics, without changing the
// application. Each source is read when /metrics is scraped (StatsD, which
// the application pushes, is accumulated as packets arrive), and each is
// exposed with podkit_adapter_source_up, so that a source that fails is a
// 0 in the answer rather than a failed scrape.
//
// In-process (see pod.FromContext) the sources are reached inside the pod's
// network namespace, where the application listens and sends, and /metrics
// is served on the supervising program's (the host's), where monitors
// scrape it. Outside a pod, the process form of a pod exported to
// Kubernetes, everything happens where the adapter runs.
//
// An Adapter is configuration; Container, Run and Handler do not change
// it.
// Its JSON form (the --config of "podkit adapter metrics") writes durations
// as Go duration strings ("5s"), and its decoding rejects unknown fields.
type Adapter struct {
	// Listen is the TCP address /metrics is served on: "127.0.0.1:9102",
	// or ":9102" for every interface. In-process it is the host's, not the
	// pod's. Required by Run; Handler ignores it.
	Listen string `json:"listen"`
	// Path is the URL path of the metrics. Empty means "/metrics".
	Path string `json:"path,omitempty"`
	// Sources are where the metrics come from: those read at scrape time
	// are read concurrently. At least one; names are unique.
	Sources []Source `json:"sources" flag:"source"`
	// ScrapeTimeout bounds the reading of each source at a scrape; a source
	// that fails or takes longer has podkit_adapter_source_up 0 and adds no
	// series. Zero means 5s.
	ScrapeTimeout time.Duration `json:"scrapeTimeout,omitempty"`
	// MaxSeries caps the series of each source (a histogram is one series,
	// whatever its buckets): the series beyond it are dropped, and counted
	// in podkit_adapter_dropped_series_total{reason="limit"}. It bounds
	// the memory a label with unbounded values (a user ID, a URL) can take.
	// Zero means 10000.
	MaxSeries int `json:"maxSeries,omitempty"`
	// MaxResponseBytes bounds an HTTP source's answer (after
	// decompression) and a command's output: a larger one is a failed
	// scrape of the source. Zero means 4 MiB.
	MaxResponseBytes int64 `json:"maxResponseBytes,omitempty"`

	// ReadHeaderTimeout bounds the reading of a scrape's request line and
	// headers: a client that has not sent them by then is disconnected.
	// Zero means 10s, negative no bound.
	ReadHeaderTimeout time.Duration `json:"readHeaderTimeout,omitempty" help:"disconnect a client that has not sent its headers within (default 10s; negative: no bound)"`
	// ReadTimeout bounds the reading of a whole request, body included (a
	// scrape has none). Zero means 30s, negative no bound.
	ReadTimeout time.Duration `json:"readTimeout,omitempty" help:"disconnect a client that has not sent its whole request within (default 30s; negative: no bound)"`
	// IdleTimeout closes a keep-alive connection that sends no new request
	// for this long. Zero means 60s, negative never.
	IdleTimeout time.Duration `json:"idleTimeout,omitempty" help:"close a connection idle this long between requests (default 60s; negative: never)"`
	// MaxHeaderBytes bounds a request's line and headers (net/http allows
	// 4 KiB more); a larger request is answered 431. Zero means 64 KiB.
	MaxHeaderBytes int `json:"maxHeaderBytes,omitempty" help:"largest request line and headers, in bytes (default 65536)"`
	// MaxConns bounds the connections open at once on Listen; at the limit
	// the adapter stops accepting until one closes, and clients wait in the
	// kernel's accept queue. Zero means 1024, negative no limit.
	MaxConns int `json:"maxConns,omitempty" help:"stop accepting at this many open connections (default 1024; negative: no limit)"`

	// Logger logs the sources that start or stop failing, once per change;
	// nil means no logging.
	Logger *zap.Logger `json:"-"`
}

// Source is one source of a metrics adapter. Exactly one of JSON,
// StatsD, Text and Command is set.
type Source struct {
	// Name is the value of the source label of the adapter's own metrics
	// (podkit_adapter_source_up{source="app"}). Required; unique.
	Name string `json:"name"`
	// JSON reads a JSON document over HTTP at each scrape.
	JSON *JSONSource `json:"json,omitempty"`
	// StatsD receives the StatsD packets the application sends.
	StatsD *StatsDSource `json:"statsd,omitempty"`
	// Text reads "key value" lines over HTTP at each scrape.
	Text *TextSource `json:"text,omitempty"`
	// Command runs a command at each scrape and reads its output as
	// "key value" lines.
	Command *CommandSource `json:"command,omitempty"`
}

// Type is the Prometheus type of a metric.
type Type string

// Metric types.
const (
	// Counter is a value that only goes up (a count of requests). Its
	// name ends with "_total", which the adapter appends when missing.
	Counter Type = "counter"
	// Gauge is a value that goes up and down (a queue's depth).
	Gauge Type = "gauge"
	// Histogram counts observations in buckets, for StatsD timers and
	// histograms.
	Histogram Type = "histogram"
	// Summary gives quantiles of observations, for StatsD timers and
	// histograms.
	Summary Type = "summary"
)

// Defaults of a metrics adapter.
const (
	DefaultPath          = "/metrics"
	DefaultScrapeTimeout = 5 * time.Second
	DefaultMaxSeries     = 10000
	DefaultMaxResponse   = 4 << 20
	DefaultReadTimeout   = 30 * time.Second
)

// Parse reads an Adapter from its configuration document, JSON or YAML
// (the --config of "podkit adapter metrics"): unknown fields are an error
// that names their path, and durations are strings ("5s"). It checks the
// result as Run does, and names the first bad field.
func Parse(data []byte) (Adapter, error) {
	var m Adapter
	if err := memberconf.Decode(data, &m); err != nil {
		return Adapter{}, fmt.Errorf("metrics: config: %w", err)
	}
	if _, err := m.compile(true); err != nil {
		return Adapter{}, err
	}
	return m, nil
}

// Container returns an in-process sidecar named name that runs m, whose
// startup probe passes once m listens (on /metrics and for StatsD), so that
// the containers declared after it start when their StatsD packets are
// received. It checks m, and names the first bad field. The container can be
// exported to Kubernetes, as a "podkit adapter metrics FLAGS..." container
// (flags from its fields, see internal/memberconf); m's Logger is not exported.
func (m Adapter) Container(name string) (pod.Container, error) {
	if name == "" {
		return pod.Container{}, errors.New("metrics: name: required")
	}
	cfg, err := m.compile(true)
	if err != nil {
		return pod.Container{}, err
	}
	args, err := memberconf.Args(m)
	if err != nil {
		return pod.Container{}, fmt.Errorf("metrics: %w", err)
	}
	r := &metricsRun{cfg: cfg}
	return pod.Container{
		Name:          name,
		RestartPolicy: pod.RestartAlways,
		Func:          r.run,
		ExportArgs:    append([]string{"adapter", "metrics"}, args...),
		StartupProbe: &pod.Probe{Func: r.listening, Period: 50 * time.Millisecond,
			FailureThreshold: 200},
	}, nil
}

// metricsRun is the state an adapter's container shares with its probe.
type metricsRun struct {
	cfg     *metricsConfig
	started atomic.Bool
}

func (r *metricsRun) run(ctx context.Context) error {
	defer r.started.Store(false)
	return r.cfg.run(ctx, func() { r.started.Store(true) })
}

func (r *metricsRun) listening(context.Context) error {
	if !r.started.Load() {
		return errors.New("metrics: not listening yet")
	}
	return nil
}

// Run serves the metrics on Listen until ctx is done, then stops
// listening, lets the scrapes in flight finish (until the container is
// killed, in-process), stops the sources and returns nil. It returns an
// error, leaving nothing behind, if m is invalid or it cannot listen (on
// Listen, or a StatsD address), and at once if the server fails. A source
// that fails is no error: it shows as podkit_adapter_source_up 0. Run
// blocks, and leaves no goroutine, socket or process when it returns.
func (m Adapter) Run(ctx context.Context) error {
	cfg, err := m.compile(true)
	if err != nil {
		return err
	}
	return cfg.run(ctx, nil)
}

// Handler starts m's sources without serving them, for a program that
// mounts the metrics in an HTTP server of its own: the StatsD sources
// listen as Handler returns, and the handler reads the others at each
// request, in the Prometheus text format 0.0.4 or OpenMetrics 1.0 as the
// request's Accept header asks (whatever the request's path), each source
// bounded by ScrapeTimeout; concurrent requests share one reading. The
// handler may be used from any number of goroutines.
//
// The pod is pod.FromContext(ctx)'s, as for Run. When ctx is done the
// adapter stops: the scrapes in flight are cancelled (their sources report
// 0), later requests find no source, and the StatsD sockets close; the
// goroutines of the adapter end soon after. Handler ignores Listen and
// Path. It returns an error, leaving nothing behind, if m is invalid or a
// StatsD source cannot listen.
func (m Adapter) Handler(ctx context.Context) (http.Handler, error) {
	cfg, err := m.compile(false)
	if err != nil {
		return nil, err
	}
	h, err := cfg.start(ctx)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, h.close)
	return h, nil
}

// handler is a started adapter: it serves the metrics and reads the
// sources until close.
type handler struct {
	registry *prometheus.Registry
	handler  http.Handler
	scrapes  *metricsScrapes
	statsd   []*statsdSource
	closers  []func()
	once     sync.Once
}

// ServeHTTP serves the metrics. The answer's status is 200 even when
// sources fail; they show as podkit_adapter_source_up 0.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.handler.ServeHTTP(w, r)
}

// close stops the adapter: scrapes in flight are cancelled, later ones
// find no source, the StatsD sockets are closed, and close returns once
// every goroutine of the adapter has ended. A second call does nothing.
func (h *handler) close() {
	h.once.Do(func() {
		h.scrapes.close()
		for _, s := range h.statsd {
			s.close()
		}
		for _, c := range h.closers {
			c()
		}
	})
}

// metricsConfig is a checked Adapter, with its own copies of everything.
type metricsConfig struct {
	listen, path string
	timeout      time.Duration
	maxSeries    int
	maxBytes     int64
	logger       *zap.Logger
	sources      []metricsSourceConfig
	limits       httpserve.Limits
}

// metricsSourceConfig is a checked source: exactly one of the pointers is
// set.
type metricsSourceConfig struct {
	name    string
	json    *metricsJSONConfig
	statsd  *statsdConfig
	text    *metricsTextConfig
	command *metricsCommandConfig
}

// metricsErrorf returns an error of the adapter, naming a field.
func metricsErrorf(field, format string, args ...any) error {
	return fmt.Errorf("metrics: %s: %s", field, fmt.Sprintf(format, args...))
}

// compile checks m and returns its configuration; serving says whether
// Listen and Path are used.
func (m Adapter) compile(serving bool) (*metricsConfig, error) {
	cfg := &metricsConfig{listen: m.Listen, path: m.Path, timeout: m.ScrapeTimeout, maxSeries: m.MaxSeries,
		maxBytes: m.MaxResponseBytes, logger: m.Logger}
	if serving {
		if err := config.CheckAddress(m.Listen, true); err != nil {
			return nil, metricsErrorf("listen", "%v", err)
		}
		if cfg.path == "" {
			cfg.path = DefaultPath
		}
		if !strings.HasPrefix(cfg.path, "/") {
			return nil, metricsErrorf("path", "%q does not start with /", m.Path)
		}
	}
	switch {
	case m.ScrapeTimeout < 0:
		return nil, metricsErrorf("scrapeTimeout", "%s is negative", m.ScrapeTimeout)
	case m.ScrapeTimeout == 0:
		cfg.timeout = DefaultScrapeTimeout
	}
	switch {
	case m.MaxSeries < 0:
		return nil, metricsErrorf("maxSeries", "%d is negative", m.MaxSeries)
	case m.MaxSeries == 0:
		cfg.maxSeries = DefaultMaxSeries
	}
	switch {
	case m.MaxResponseBytes < 0:
		return nil, metricsErrorf("maxResponseBytes", "%d is negative", m.MaxResponseBytes)
	case m.MaxResponseBytes == 0:
		cfg.maxBytes = DefaultMaxResponse
	}
	cfg.limits = httpserve.Limits{ReadHeaderTimeout: m.ReadHeaderTimeout, ReadTimeout: m.ReadTimeout,
		IdleTimeout: m.IdleTimeout, MaxHeaderBytes: m.MaxHeaderBytes, MaxConns: m.MaxConns}
	if cfg.limits.ReadTimeout == 0 {
		cfg.limits.ReadTimeout = DefaultReadTimeout
	}
	if err := cfg.limits.Check(); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if cfg.logger == nil {
		cfg.logger = zap.NewNop()
	}
	if len(m.Sources) == 0 {
		return nil, metricsErrorf("sources", "at least one is required")
	}
	names := map[string]bool{}
	for i, s := range m.Sources {
		field := fmt.Sprintf("sources[%d]", i)
		if err := metricsCheckSourceName(s.Name); err != nil {
			return nil, metricsErrorf(field+".name", "%v", err)
		}
		if names[s.Name] {
			return nil, metricsErrorf(field+".name", "%q is not unique", s.Name)
		}
		names[s.Name] = true
		sc := metricsSourceConfig{name: s.Name}
		set := 0
		var err error
		if s.JSON != nil {
			set++
			sc.json, err = s.JSON.compile(field + ".json")
		}
		if s.StatsD != nil && err == nil {
			set++
			sc.statsd, err = s.StatsD.compile(field + ".statsd")
		}
		if s.Text != nil && err == nil {
			set++
			sc.text, err = s.Text.compile(field + ".text")
		}
		if s.Command != nil && err == nil {
			set++
			sc.command, err = s.Command.compile(field + ".command")
		}
		if err != nil {
			return nil, err
		}
		if set != 1 {
			return nil, metricsErrorf(field, "exactly one of json, statsd, text and command must be set (%d are)", set)
		}
		cfg.sources = append(cfg.sources, sc)
	}
	return cfg, nil
}

func metricsCheckSourceName(name string) error {
	switch {
	case name == "":
		return errors.New("required")
	case len(name) > 128:
		return fmt.Errorf("%q is longer than 128 bytes", name)
	case !metricsValidUTF8(name):
		return fmt.Errorf("%q is not valid UTF-8", name)
	}
	return nil
}

// run is Run with a checked configuration; started, when set, is called
// once the adapter listens.
func (cfg *metricsConfig) run(ctx context.Context, started func()) error {
	h, err := cfg.start(ctx)
	if err != nil {
		return err
	}
	defer h.close()
	// /metrics is for the monitors outside: it listens where this program
	// runs, even in-process, not in the pod.
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("metrics: listen: %w", err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != cfg.path {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
	srv := httpserve.Server(handler, cfg.limits)
	srv.ErrorLog = zap.NewStdLog(cfg.logger)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(httpserve.Listen(ln, cfg.limits)) }()
	if started != nil {
		started()
	}
	var killed <-chan struct{}
	if self, ok := pod.FromContext(ctx); ok {
		killed = self.Killed
	}
	select {
	case err := <-served:
		return fmt.Errorf("metrics: serve: %w", err)
	case <-ctx.Done():
	}
	drainCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-killed:
			cancel()
		case <-drainCtx.Done():
		}
	}()
	if err := srv.Shutdown(drainCtx); err != nil {
		srv.Close()
	}
	<-served
	return nil
}

// start starts the sources; see Handler. ctx gives the pod.
func (cfg *metricsConfig) start(ctx context.Context) (*handler, error) {
	var env metricsEnv
	if self, ok := pod.FromContext(ctx); ok {
		env.pod = self.Pod
	}
	h := &handler{registry: prometheus.NewRegistry(), scrapes: &metricsScrapes{}}
	for _, s := range cfg.sources {
		stats := &metricsStats{}
		var c prometheus.Collector
		switch {
		case s.statsd != nil:
			src, err := statsdStart(ctx, env, s.name, s.statsd, cfg.maxSeries, stats)
			if err != nil {
				h.close()
				return nil, fmt.Errorf("metrics: source %q: %w", s.name, err)
			}
			h.statsd = append(h.statsd, src)
			c = src
		default:
			sc := &metricsScrapeCollector{source: s.name, timeout: cfg.timeout, max: cfg.maxSeries, stats: stats,
				scrapes: h.scrapes, logger: cfg.logger.With(zap.String("source", s.name)), descs: metricsNewDescCache()}
			switch {
			case s.json != nil:
				sc.scrape, sc.close = s.json.scraper(env, s.name, cfg.maxBytes)
			case s.text != nil:
				sc.scrape, sc.close = s.text.scraper(env, s.name, cfg.maxBytes)
			case s.command != nil:
				sc.scrape = s.command.scraper(env, s.name, cfg.maxBytes)
			}
			if sc.close != nil {
				h.closers = append(h.closers, sc.close)
			}
			c = sc
		}
		if err := h.registry.Register(c); err != nil {
			h.close()
			return nil, fmt.Errorf("metrics: source %q: %w", s.name, err)
		}
	}
	h.handler = promhttp.HandlerFor(h.registry, promhttp.HandlerOpts{
		ErrorLog:          zap.NewStdLog(cfg.logger),
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          h.registry,
		EnableOpenMetrics: true,
		CoalesceGather:    true,
		// The sources bound themselves by the scrape timeout; this is
		// a backstop.
		Timeout: cfg.timeout + 5*time.Second,
	})
	return h, nil
}

// metricsScrapes tracks the scrapes in flight, so that close cancels them
// and waits for them.
type metricsScrapes struct {
	mu      sync.Mutex
	closed  bool
	next    uint64
	cancels map[uint64]context.CancelFunc
	wg      sync.WaitGroup
}

// begin starts a scrape bounded by timeout; ok is false once closed. done
// must be called when the scrape has ended.
func (s *metricsScrapes) begin(timeout time.Duration) (ctx context.Context, done func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, false
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), timeout,
		fmt.Errorf("scrape timeout (%s) exceeded", timeout))
	if s.cancels == nil {
		s.cancels = map[uint64]context.CancelFunc{}
	}
	id := s.next
	s.next++
	s.cancels[id] = cancel
	s.wg.Add(1)
	return ctx, func() {
		s.mu.Lock()
		delete(s.cancels, id)
		s.mu.Unlock()
		cancel()
		s.wg.Done()
	}, true
}

// close cancels the scrapes in flight, refuses new ones, and waits for
// those in flight to end.
func (s *metricsScrapes) close() {
	s.mu.Lock()
	s.closed = true
	for _, cancel := range s.cancels {
		cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
