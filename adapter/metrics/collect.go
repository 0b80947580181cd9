package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// This file holds what the sources share about collecting: the adapter's
// own metrics, the emitter that checks, deduplicates and caps a scrape's
// series, the collector of the scrape-time sources, and the environment
// (the pod, or none) they reach the application in.

// metricsDropReason is why a series was dropped.
type metricsDropReason int

const (
	metricsDropLimit     metricsDropReason = iota // over MaxSeries
	metricsDropInvalid                            // a name or label that cannot be made valid, or a bad value
	metricsDropDuplicate                          // the same series twice in one scrape
	metricsDropConflict                           // a name already used with another type
	metricsDropUnmapped                           // no mapping, and unmapped names are dropped
	metricsDropReasons
)

var metricsDropReasonNames = [metricsDropReasons]string{"limit", "invalid", "duplicate", "conflict", "unmapped"}

// metricsStats are the counters of a source.
type metricsStats struct {
	parseErrors atomic.Uint64
	dropped     [metricsDropReasons]atomic.Uint64
}

func (s *metricsStats) drop(r metricsDropReason) { s.dropped[r].Add(1) }

// The adapter's own metrics, labelled with the source.
var (
	metricsUpDesc = prometheus.NewDesc("podkit_adapter_source_up",
		"Whether the last reading of the source succeeded (1) or not (0).", []string{"source"}, nil)
	metricsDurationDesc = prometheus.V2.NewDesc("podkit_adapter_scrape_duration_seconds",
		"How long the last reading of the source took.",
		prometheus.UnconstrainedLabels{"source"}, nil, prometheus.WithUnit("seconds"))
	metricsParseErrorsDesc = prometheus.NewDesc("podkit_adapter_parse_errors_total",
		"Input of the source that could not be parsed: documents, lines, packets, values.", []string{"source"}, nil)
	metricsDroppedDesc = prometheus.NewDesc("podkit_adapter_dropped_series_total",
		"Series of the source that were dropped, by reason: limit (maxSeries), invalid (a name or label "+
			"that cannot be made valid, or a bad value), duplicate, conflict (a name used with another type), "+
			"unmapped (unmapped names are dropped). Counted at each scrape for sources read at scrape time, "+
			"at each sample for StatsD.", []string{"source", "reason"}, nil)
	metricsSeriesDesc = prometheus.NewDesc("podkit_adapter_series",
		"Series the source exposes at the last reading.", []string{"source"}, nil)
)

// metricsCollectOwn sends the adapter's own metrics for a source.
func metricsCollectOwn(ch chan<- prometheus.Metric, source string, up bool, took time.Duration, stats *metricsStats, series int) {
	upValue := 0.0
	if up {
		upValue = 1
	}
	ch <- prometheus.MustNewConstMetric(metricsUpDesc, prometheus.GaugeValue, upValue, source)
	ch <- prometheus.MustNewConstMetric(metricsDurationDesc, prometheus.GaugeValue, took.Seconds(), source)
	ch <- prometheus.MustNewConstMetric(metricsParseErrorsDesc, prometheus.CounterValue,
		float64(stats.parseErrors.Load()), source)
	for r := range metricsDropReasons {
		ch <- prometheus.MustNewConstMetric(metricsDroppedDesc, prometheus.CounterValue,
			float64(stats.dropped[r].Load()), source, metricsDropReasonNames[r])
	}
	ch <- prometheus.MustNewConstMetric(metricsSeriesDesc, prometheus.GaugeValue, float64(series), source)
}

// metricsFamily is a metric name in use, with its type.
type metricsFamily struct {
	name       string
	typ        Type
	help, unit string // unit is set only when the name ends with it
	series     int    // StatsD: the series of the family
}

// metricsNames keeps the names of a source's families apart: a family
// takes the names of all its samples (a counter "x_total" takes "x",
// "x_total" and "x_created"), and another family may use none of them.
type metricsNames struct {
	families map[string]*metricsFamily
	taken    map[string]*metricsFamily
}

func metricsNewNames() metricsNames {
	return metricsNames{families: map[string]*metricsFamily{}, taken: map[string]*metricsFamily{}}
}

// metricsSampleNames returns the names a family's samples and metadata
// use.
func metricsSampleNames(name string, typ Type) []string {
	switch typ {
	case Counter:
		stem := strings.TrimSuffix(name, "_total")
		return []string{stem, stem + "_total", stem + "_created"}
	case Histogram:
		return []string{name, name + "_bucket", name + "_count", name + "_sum", name + "_created"}
	case Summary:
		return []string{name, name + "_count", name + "_sum", name + "_created"}
	}
	return []string{name}
}

// claim returns the family of name, which it creates with typ, help and
// unit if needed; nil if the name clashes with another family's.
func (n *metricsNames) claim(name string, typ Type, help, unit string) *metricsFamily {
	if f := n.families[name]; f != nil {
		if f.typ != typ {
			return nil
		}
		return f
	}
	names := metricsSampleNames(name, typ)
	for _, s := range names {
		if n.taken[s] != nil {
			return nil
		}
	}
	stem := name
	if typ == Counter {
		stem = strings.TrimSuffix(stem, "_total")
	}
	if unit != "" && !strings.HasSuffix(stem, "_"+unit) {
		unit = ""
	}
	f := &metricsFamily{name: name, typ: typ, help: help, unit: unit}
	n.families[name] = f
	for _, s := range names {
		n.taken[s] = f
	}
	return f
}

// release forgets a family.
func (n *metricsNames) release(f *metricsFamily) {
	delete(n.families, f.name)
	for _, s := range metricsSampleNames(f.name, f.typ) {
		if n.taken[s] == f {
			delete(n.taken, s)
		}
	}
}

// metricsDescCache keeps the descriptors of a source's series across
// scrapes, by name, help, unit and label names. It is bounded: it starts
// over when full.
type metricsDescCache struct {
	mu    sync.Mutex
	descs map[string]*prometheus.Desc
}

const metricsDescCacheSize = 4096

func metricsNewDescCache() *metricsDescCache {
	return &metricsDescCache{descs: map[string]*prometheus.Desc{}}
}

func (c *metricsDescCache) get(f *metricsFamily, labelNames []string) *prometheus.Desc {
	key := f.name + "\xff" + f.help + "\xff" + f.unit + "\xff" + strings.Join(labelNames, "\xff")
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.descs[key]; d != nil {
		return d
	}
	if len(c.descs) >= metricsDescCacheSize {
		clear(c.descs)
	}
	d := metricsNewDesc(f, labelNames, nil)
	c.descs[key] = d
	return d
}

// metricsNewDesc returns the descriptor of a series of f.
func metricsNewDesc(f *metricsFamily, labelNames []string, constLabels prometheus.Labels) *prometheus.Desc {
	var opts []prometheus.DescOpt
	if f.unit != "" {
		opts = append(opts, prometheus.WithUnit(f.unit))
	}
	return prometheus.V2.NewDesc(f.name, f.help, prometheus.UnconstrainedLabels(labelNames), constLabels, opts...)
}

// metricsLabel is a label of a series.
type metricsLabel struct{ name, value string }

// metricsSample is one value a scrape-time source produced.
type metricsSample struct {
	name   string // the final name, or "" if it could not be made valid
	typ    Type
	help   string
	unit   string // the base unit, if any
	labels []metricsLabel
	value  float64
}

// metricsEmitter checks a scrape's samples and sends them as metrics: it
// drops, and counts, the invalid ones, those whose name clashes with
// another type's, the second of two identical series, and those beyond
// the cap.
type metricsEmitter struct {
	ch    chan<- prometheus.Metric
	stats *metricsStats
	descs *metricsDescCache
	max   int
	n     int
	names metricsNames
	seen  map[string]struct{}
	key   []byte
}

func metricsNewEmitter(ch chan<- prometheus.Metric, stats *metricsStats, descs *metricsDescCache, max int) *metricsEmitter {
	return &metricsEmitter{ch: ch, stats: stats, descs: descs, max: max, names: metricsNewNames(),
		seen: map[string]struct{}{}}
}

func (e *metricsEmitter) emit(s *metricsSample) {
	if !metricsValidName(s.name) || math.IsNaN(s.value) || (s.typ == Counter && s.value < 0) {
		e.stats.drop(metricsDropInvalid)
		return
	}
	if strings.HasPrefix(s.name, metricsOwnPrefix) {
		e.stats.drop(metricsDropConflict)
		return
	}
	labels, ok := metricsNormalizeLabels(s.labels, s.typ)
	if !ok {
		e.stats.drop(metricsDropInvalid)
		return
	}
	f := e.names.claim(s.name, s.typ, s.help, s.unit)
	if f == nil {
		e.stats.drop(metricsDropConflict)
		return
	}
	e.key = metricsSeriesKey(e.key[:0], s.name, labels)
	if _, dup := e.seen[string(e.key)]; dup {
		e.stats.drop(metricsDropDuplicate)
		return
	}
	if e.n >= e.max {
		e.stats.drop(metricsDropLimit)
		return
	}
	names := make([]string, len(labels))
	values := make([]string, len(labels))
	for i, l := range labels {
		names[i], values[i] = l.name, l.value
	}
	vt := prometheus.GaugeValue
	if s.typ == Counter {
		vt = prometheus.CounterValue
	}
	m, err := prometheus.NewConstMetric(e.descs.get(f, names), vt, s.value, values...)
	if err != nil {
		e.stats.drop(metricsDropInvalid)
		return
	}
	e.seen[string(e.key)] = struct{}{}
	e.n++
	e.ch <- m
}

// metricsNormalizeLabels sorts labels by name, a later one of a name
// winning, renames those a histogram or summary reserves ("le",
// "quantile") to "exported_<name>", and checks names and values; ok is
// false if one cannot be used. labels is reordered in place.
func metricsNormalizeLabels(labels []metricsLabel, typ Type) ([]metricsLabel, bool) {
	if len(labels) > metricsMaxLabels {
		return nil, false
	}
	for i := range labels {
		l := &labels[i]
		if (typ == Histogram && l.name == "le") || (typ == Summary && l.name == "quantile") {
			l.name = "exported_" + l.name
		}
		if !metricsValidLabelName(l.name) {
			return nil, false
		}
		var ok bool
		if l.value, ok = metricsLabelValue(l.value); !ok {
			return nil, false
		}
	}
	slices.SortStableFunc(labels, func(a, b metricsLabel) int { return strings.Compare(a.name, b.name) })
	// Keep the last of each name.
	out := labels[:0]
	for i, l := range labels {
		if i+1 < len(labels) && labels[i+1].name == l.name {
			continue
		}
		out = append(out, l)
	}
	return out, true
}

// metricsSeriesKey appends the identity of a series to b.
func metricsSeriesKey(b []byte, name string, labels []metricsLabel) []byte {
	b = append(b, name...)
	for _, l := range labels {
		b = append(b, 0xff)
		b = append(b, l.name...)
		b = append(b, 0xfe)
		b = append(b, l.value...)
	}
	return b
}

// metricsScrapeCollector is the collector of a source read at scrape time
// (JSON, text, command): each Collect reads the source, bounded by the
// scrape timeout, and sends its series and the adapter's own metrics for
// it.
type metricsScrapeCollector struct {
	source  string
	timeout time.Duration
	max     int
	stats   *metricsStats
	scrapes *metricsScrapes
	logger  *zap.Logger
	descs   *metricsDescCache
	// scrape reads the source and emits its series; an error means the
	// source is down. It emits nothing before it has read everything.
	scrape func(ctx context.Context, e *metricsEmitter) error
	close  func()

	state atomic.Int32 // 0 unknown, 1 up, 2 down: to log changes only
}

var metricsErrClosed = errors.New("the adapter is stopped")

// Describe sends nothing: the collector's series are known only once
// read, so it is an unchecked collector.
func (c *metricsScrapeCollector) Describe(chan<- *prometheus.Desc) {}

// Collect reads the source and sends its metrics.
func (c *metricsScrapeCollector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	e := metricsNewEmitter(ch, c.stats, c.descs, c.max)
	err := metricsErrClosed
	if ctx, done, ok := c.scrapes.begin(c.timeout); ok {
		err = c.scrape(ctx, e)
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
		}
		done()
	}
	c.logChange(err)
	metricsCollectOwn(ch, c.source, err == nil, time.Since(start), c.stats, e.n)
}

// logChange logs when the source starts or stops failing.
func (c *metricsScrapeCollector) logChange(err error) {
	state := int32(1)
	if err != nil {
		state = 2
	}
	if c.state.Swap(state) == state {
		return
	}
	if err != nil {
		c.logger.Warn("source failing", zap.Error(err))
	} else {
		c.logger.Info("source up")
	}
}
