package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podkit/podkit/adapter/metrics"
)

// startStatsD starts a metrics adapter with one StatsD source on a free
// loopback port, and returns it with the port's address.
func startStatsD(ctx context.Context) (http.Handler, string, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	h, err := metrics.Adapter{
		Sources:   []metrics.Source{{Name: "app", StatsD: &metrics.StatsDSource{Listen: addr}}},
		MaxSeries: 20000,
	}.Handler(ctx)
	return h, addr, err
}

// gather scrapes h, as Prometheus does, and returns its metric families.
func gather(h http.Handler) (map[string]*dto.MetricFamily, error) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("scrape: status %d: %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(rec.Body)
}

// received is the source's podkit_adapter_statsd_packets_total.
func received(h http.Handler) (int64, error) {
	mfs, err := gather(h)
	if err != nil {
		return 0, err
	}
	var n float64
	for _, m := range mfs["podkit_adapter_statsd_packets_total"].GetMetric() {
		n += m.GetCounter().GetValue()
	}
	return int64(n), nil
}

// settle waits until the received count stops moving.
func settle(h http.Handler) (int64, error) {
	last := int64(-1)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		n, err := received(h)
		if err != nil {
			return 0, err
		}
		if n == last {
			return n, nil
		}
		last = n
	}
	return last, nil
}

// statsdStep is one rate of the ladder.
type statsdStep struct {
	target         float64 // packets/s asked; 0 is as fast as the sender goes
	achieved       float64 // packets/s sent
	sent, received int64
}

func (s statsdStep) loss() float64 { return 1 - float64(s.received)/float64(s.sent) }

// statsdResult is the ingest benchmark's result.
type statsdResult struct {
	passes       [][]statsdStep
	best         []float64 // per pass, the highest achieved rate without loss
	rmemDefault  string
	rmemMax      string
	stepDuration time.Duration
}

// benchStatsD sends one-line packets ("bench.requests:1|c") at increasing
// rates, each for a while, and compares the packets sent with those the
// source counted. The sender is a goroutine of this process, on the same
// two cores.
func benchStatsD(ctx context.Context, o options, logw io.Writer) (statsdResult, error) {
	res := statsdResult{rmemDefault: sysctl("net/core/rmem_default"), rmemMax: sysctl("net/core/rmem_max"), stepDuration: time.Second}
	rates := []float64{10e3, 25e3, 50e3, 100e3, 200e3, 400e3, 800e3, 1.6e6, 0}
	passes := 3
	if o.short {
		rates, passes, res.stepDuration = []float64{5e3, 20e3}, 1, 200*time.Millisecond
	}
	adapterCtx, stop := context.WithCancel(ctx) // stops the adapter
	defer stop()
	h, addr, err := startStatsD(adapterCtx)
	if err != nil {
		return res, err
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	payload := []byte("bench.requests:1|c")
	for p := range passes {
		var steps []statsdStep
		best := 0.0
		for _, rate := range rates {
			before, err := settle(h)
			if err != nil {
				return res, err
			}
			st := statsdStep{target: rate}
			start := time.Now()
			for {
				el := time.Since(start)
				if el >= res.stepDuration {
					break
				}
				want := int64(rate * el.Seconds())
				if rate == 0 {
					want = st.sent + 64
				}
				if st.sent >= want {
					time.Sleep(50 * time.Microsecond)
					continue
				}
				for st.sent < want {
					if _, err := conn.Write(payload); err == nil {
						st.sent++
					}
				}
			}
			st.achieved = float64(st.sent) / time.Since(start).Seconds()
			after, err := settle(h)
			if err != nil {
				return res, err
			}
			st.received = after - before
			steps = append(steps, st)
			fmt.Fprintf(logw, "statsd pass %d: target %8.0f/s sent %8.0f/s loss %.3f%%\n", p+1, rate, st.achieved, 100*st.loss())
			if st.received >= st.sent && st.achieved > best {
				best = st.achieved
			}
		}
		res.passes = append(res.passes, steps)
		res.best = append(res.best, best)
	}
	return res, nil
}

func sysctl(name string) string {
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func printStatsD(w io.Writer, r statsdResult) {
	fmt.Fprintf(w, "StatsD ingest, one-line packets over loopback, %v per rate; net.core.rmem_default %s, rmem_max %s (the source asks for a 4 MiB receive buffer). Loss per asked rate, each pass:\n\n",
		r.stepDuration, r.rmemDefault, r.rmemMax)
	fmt.Fprintln(w, "| Asked packets/s | Sent packets/s (median) | Loss per pass |")
	fmt.Fprintln(w, "|---:|---:|---|")
	for i := range r.passes[0] {
		var sent []float64
		var loss []string
		for _, p := range r.passes {
			sent = append(sent, p[i].achieved)
			loss = append(loss, fmt.Sprintf("%.2f%%", 100*p[i].loss()))
		}
		asked := "max"
		if r.passes[0][i].target > 0 {
			asked = human(r.passes[0][i].target)
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", asked, human(medianF(sent)), strings.Join(loss, ", "))
	}
	fmt.Fprintf(w, "\nHighest rate without loss: %s packets/s (median of %d passes: %s).\n", human(medianF(r.best)), len(r.best), joinRates(r.best))
}

func joinRates(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, human(x))
	}
	return strings.Join(s, ", ")
}

func medianF(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// scrapeRow is one server and format's latencies.
type scrapeRow struct {
	name, format string
	bytes        int64 // uncompressed body
	lat          []time.Duration
}

// benchScrape fills a StatsD source with 10,000 gauges and times GET
// /metrics against a client_golang registry of 10,000 gauges served by
// promhttp, text and OpenMetrics, interleaved. The client asks for gzip,
// as Prometheus does.
func benchScrape(ctx context.Context, o options, logw io.Writer) ([]scrapeRow, error) {
	const series = 10000
	n := 300
	if o.short {
		n = 5
	}
	adapterCtx, stop := context.WithCancel(ctx) // stops the adapter
	defer stop()
	h, addr, err := startStatsD(adapterCtx)
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Fill it: 40 gauges a packet, slowly enough to lose none, and again
	// until all are there.
	for try := 0; ; try++ {
		for i := 0; i < series; i += 40 {
			var b strings.Builder
			for j := i; j < min(i+40, series); j++ {
				fmt.Fprintf(&b, "bench.series_%d:%d|g\n", j, j)
			}
			if _, err := conn.Write([]byte(b.String())); err != nil {
				return nil, err
			}
			time.Sleep(20 * time.Microsecond)
		}
		if _, err := settle(h); err != nil {
			return nil, err
		}
		got, err := countSeries(h)
		if err != nil {
			return nil, err
		}
		if got >= series {
			break
		}
		if try == 3 {
			return nil, fmt.Errorf("statsd source holds %d series of %d", got, series)
		}
	}
	reg := prometheus.NewRegistry()
	for i := range series {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: fmt.Sprintf("bench_series_%d", i), Help: "StatsD gauge bench.series_" + fmt.Sprint(i) + "."})
		g.Set(float64(i))
		reg.MustRegister(g)
	}
	adapterSrv := httptest.NewServer(h)
	defer adapterSrv.Close()
	floorSrv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	defer floorSrv.Close()
	formats := []struct{ name, accept, ctype string }{
		{"text 0.0.4", "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "text/plain"},
		{"OpenMetrics 1.0", "application/openmetrics-text;version=1.0.0", "application/openmetrics-text"},
	}
	var rows []*scrapeRow
	type target struct {
		url, accept, ctype string
		row                *scrapeRow
	}
	var targets []target
	for _, srv := range []struct{ name, url string }{{"podkit StatsD source", adapterSrv.URL}, {"client_golang + promhttp (floor)", floorSrv.URL}} {
		for _, f := range formats {
			r := &scrapeRow{name: srv.name, format: f.name}
			rows = append(rows, r)
			targets = append(targets, target{srv.url + "/metrics", f.accept, f.ctype, r})
		}
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for i := -3; i < n; i++ { // three warm-ups
		for _, t := range targets {
			req, err := http.NewRequestWithContext(ctx, "GET", t.url, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Accept", t.accept)
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				return nil, err
			}
			nb, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			d := time.Since(start)
			if err != nil {
				return nil, err
			}
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, t.ctype) {
				return nil, fmt.Errorf("%s: status %d, content type %q", t.url, resp.StatusCode, ct)
			}
			if i >= 0 {
				t.row.lat = append(t.row.lat, d)
				t.row.bytes = nb
			}
		}
	}
	fmt.Fprintf(logw, "scrapes done (%d each)\n", n)
	out := make([]scrapeRow, len(rows))
	for i, r := range rows {
		out[i] = *r
	}
	return out, nil
}

// countSeries counts the series of the source, its own metrics aside.
func countSeries(h http.Handler) (int, error) {
	mfs, err := gather(h)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "podkit_") {
			n += len(mf.GetMetric())
		}
	}
	return n, nil
}

func printScrape(w io.Writer, rows []scrapeRow) {
	fmt.Fprintf(w, "Scrape of 10,000 gauge series over loopback HTTP (keep-alive, gzip asked as Prometheus does), %d scrapes each, interleaved:\n\n", len(rows[0].lat))
	fmt.Fprintln(w, "| Server | Format | Body (uncompressed) | p50 | p99 | p50 vs floor |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	floor := map[string]time.Duration{}
	for _, r := range rows {
		if strings.Contains(r.name, "floor") {
			floor[r.format] = quantile(r.lat, 0.5)
		}
	}
	for _, r := range rows {
		p50 := quantile(r.lat, 0.5)
		fmt.Fprintf(w, "| %s | %s | %.0f KB | %s | %s | %.2fx |\n", r.name, r.format, float64(r.bytes)/1e3,
			ms(p50), ms(quantile(r.lat, 0.99)), float64(p50)/float64(floor[r.format]))
	}
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q * float64(len(s)))
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
