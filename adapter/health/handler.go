package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.uber.org/zap"
)

// healthChecker runs the checks of a health adapter and serves its
// endpoints. A check runs at most once at a time: the requests that need
// it while it runs share that run's result.
type healthChecker struct {
	checks     []*healthState
	byName     map[string]*healthState
	timeout    time.Duration
	cacheFor   time.Duration
	timeoutErr error
	metrics    *healthMetrics
	mux        *http.ServeMux

	logger *zap.Logger
	out    io.Writer // when logger is nil, and not nil
	outMu  sync.Mutex

	// base is the parent of the runs' contexts: close cancels it, then
	// waits for the runs.
	base   context.Context
	cancel context.CancelFunc
	runs   sync.WaitGroup
}

// healthState is one check and its last result.
type healthState struct {
	name        string
	live, ready bool
	run         func(ctx context.Context) error

	mu     sync.Mutex
	last   healthResult
	flight *healthFlight // the run in progress, or nil
}

// healthResult is the result of a run of a check.
type healthResult struct {
	err    error
	took   time.Duration
	at     time.Time // zero: no run yet
	cached bool      // reused for a later request
}

// healthFlight is a run in progress; res is set before done is closed.
type healthFlight struct {
	done chan struct{}
	res  healthResult
}

func newHealthChecker(name string, timeout, cacheFor time.Duration, logger *zap.Logger) *healthChecker {
	hc := &healthChecker{byName: map[string]*healthState{}, timeout: timeout, cacheFor: cacheFor,
		timeoutErr: fmt.Errorf("timeout after %s", timeout), metrics: newHealthMetrics(name), logger: logger}
	hc.base, hc.cancel = context.WithCancel(context.Background())
	hc.mux = http.NewServeMux()
	for _, g := range []struct {
		group string
		in    func(*healthState) bool
	}{
		{"livez", func(s *healthState) bool { return s.live }},
		{"readyz", func(s *healthState) bool { return s.ready }},
		{"healthz", func(*healthState) bool { return true }},
	} {
		hc.mux.HandleFunc("GET /"+g.group, func(w http.ResponseWriter, r *http.Request) {
			hc.serveGroup(w, r, g.group, g.in)
		})
		hc.mux.HandleFunc("GET /"+g.group+"/{name}", func(w http.ResponseWriter, r *http.Request) {
			hc.serveOne(w, r, g.in)
		})
	}
	return hc
}

func (hc *healthChecker) add(s *healthState) {
	hc.checks = append(hc.checks, s)
	hc.byName[s.name] = s
}

// ServeHTTP serves the endpoints.
func (hc *healthChecker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hc.mux.ServeHTTP(w, r)
}

// serveGroup serves /livez, /readyz or /healthz, as kube-apiserver does,
// with the reasons of failures and the checks' durations when verbose.
func (hc *healthChecker) serveGroup(w http.ResponseWriter, r *http.Request, group string, in func(*healthState) bool) {
	q := r.URL.Query()
	_, verbose := q["verbose"]
	excluded := map[string]bool{}
	for _, name := range q["exclude"] {
		excluded[name] = true
	}
	var selected []*healthState
	for _, s := range hc.checks {
		if !in(s) {
			continue
		}
		if excluded[s.name] {
			delete(excluded, s.name)
			continue
		}
		selected = append(selected, s)
	}
	results, ok := hc.results(r.Context(), selected)
	if !ok {
		return // the client has gone
	}
	var b strings.Builder
	failed := false
	for i, s := range selected {
		res := results[i]
		if res.err == nil {
			fmt.Fprintf(&b, "[+]%s ok", s.name)
		} else {
			failed = true
			// As kube-apiserver, keep the reasons for those who ask.
			reason := "reason withheld"
			if verbose {
				reason = healthReason(res.err)
			}
			fmt.Fprintf(&b, "[-]%s failed: %s", s.name, reason)
		}
		if verbose {
			b.WriteString(" (" + res.timing() + ")")
		}
		b.WriteByte('\n')
	}
	if len(excluded) > 0 {
		var names []string
		for _, s := range q["exclude"] {
			if excluded[s] {
				names = append(names, fmt.Sprintf("%q", s))
				delete(excluded, s)
			}
		}
		fmt.Fprintf(&b, "warn: some health checks cannot be excluded: no matches for %s\n", strings.Join(names, ","))
	}
	healthHeaders(w)
	switch {
	case failed:
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%s%s check failed\n", b.String(), group)
	case verbose:
		fmt.Fprintf(w, "%s%s check passed\n", b.String(), group)
	default:
		fmt.Fprint(w, "ok")
	}
}

// serveOne serves /<group>/<name>: one check, with its reason.
func (hc *healthChecker) serveOne(w http.ResponseWriter, r *http.Request, in func(*healthState) bool) {
	s := hc.byName[r.PathValue("name")]
	if s == nil || !in(s) {
		http.NotFound(w, r)
		return
	}
	results, ok := hc.results(r.Context(), []*healthState{s})
	if !ok {
		return
	}
	healthHeaders(w)
	if err := results[0].err; err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "internal server error: %s\n", healthReason(err))
		return
	}
	fmt.Fprint(w, "ok")
}

func healthHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
}

// results returns the results of the checks, all run at the same time
// (or taken from the cache, or from a run in progress); ok is false if ctx
// ended first.
func (hc *healthChecker) results(ctx context.Context, checks []*healthState) (_ []healthResult, ok bool) {
	results := make([]healthResult, len(checks))
	flights := make([]*healthFlight, len(checks))
	for i, s := range checks {
		results[i], flights[i] = hc.begin(s)
	}
	for i, f := range flights {
		if f == nil {
			continue
		}
		select {
		case <-f.done:
			results[i] = f.res
		case <-ctx.Done():
			return nil, false
		}
	}
	return results, true
}

// begin returns s's cached result, or the run of s in progress, starting
// one if none is.
func (hc *healthChecker) begin(s *healthState) (healthResult, *healthFlight) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if hc.cacheFor > 0 && !s.last.at.IsZero() && time.Since(s.last.at) < hc.cacheFor {
		res := s.last
		res.cached = true
		return res, nil
	}
	if s.flight == nil {
		s.flight = &healthFlight{done: make(chan struct{})}
		hc.runs.Add(1)
		go hc.run(s, s.flight)
	}
	return healthResult{}, s.flight
}

// run runs s once, bounded by the timeout, and publishes the result.
func (hc *healthChecker) run(s *healthState, f *healthFlight) {
	defer hc.runs.Done()
	ctx, cancel := context.WithTimeout(hc.base, hc.timeout)
	start := time.Now()
	err := healthCall(ctx, s.run)
	took := time.Since(start)
	if err != nil {
		// A connection's deadline, which is the context's, may expire
		// before the context's timer has fired.
		deadline, _ := ctx.Deadline()
		switch {
		case hc.base.Err() != nil:
			err = errors.New("the adapter is stopping")
		case ctx.Err() != nil || !time.Now().Before(deadline):
			err = hc.timeoutErr
		}
	}
	cancel()
	res := healthResult{err: err, took: took, at: time.Now()}
	// Runs of one check do not overlap: the metrics and the log see them
	// in order, and only this run writes s.last.
	s.mu.Lock()
	prev := s.last
	s.mu.Unlock()
	if m := hc.metrics; m != nil {
		up := 0.0
		if err == nil {
			up = 1
		}
		m.up.WithLabelValues(s.name).Set(up)
		m.duration.WithLabelValues(s.name).Observe(took.Seconds())
	}
	if err != nil && (prev.at.IsZero() || prev.err == nil) || err == nil && prev.err != nil {
		hc.outMu.Lock()
		healthLog(hc.logger, hc.out, s.name, err)
		hc.outMu.Unlock()
	}
	f.res = res
	s.mu.Lock()
	s.last, s.flight = res, nil
	s.mu.Unlock()
	close(f.done)
}

// healthCall calls run, turning a panic into an error.
func healthCall(ctx context.Context, run func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return run(ctx)
}

// close cancels the runs in progress and waits for them. No request may be
// served after it.
func (hc *healthChecker) close() {
	hc.cancel()
	hc.runs.Wait()
}

// timing is a result's duration, for the verbose output.
func (r healthResult) timing() string {
	d := r.took
	switch {
	case d >= time.Second:
		d = d.Round(time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(10 * time.Microsecond)
	default:
		d = d.Round(time.Microsecond)
	}
	if r.cached {
		return d.String() + ", cached"
	}
	return d.String()
}

// healthReason is an error's message on one line of bounded length.
func healthReason(err error) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, err.Error())
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > healthMaxReason {
		s = strings.ToValidUTF8(s[:healthMaxReason], "") + "..."
	}
	return s
}
