package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StatsDSource receives StatsD metrics the application pushes over UDP,
// as statsd_exporter does, and keeps them as Prometheus series: counters
// are summed, gauges set (or moved, by a value with a sign: "+3", "-2"),
// and timers ("ms", converted to seconds) and histograms ("h", "d") become
// histograms or summaries.
//
// A packet holds lines separated by '\n', each
// "name:value|type[|@rate][|#tag:value,...]", several values
// ("name:1|c:2|c") or InfluxDB-style tags ("name,tag=value:1|c") allowed.
// Types are c, g, ms, h and d; a sample rate scales counters and weighs
// observations. A line that does not parse (sets, "s", included) is a
// parse error and the rest of the packet is still read; lines longer than
// 8 KiB are parse errors too. Tags become labels, sanitized, and a
// mapping's labels win over them.
//
// A name takes the first of Mappings that matches it; a name no mapping
// matches is sanitized (snake_case, [a-z0-9_]: "api.getUser" gives
// "api_get_user") unless DropUnmapped is set. A counter's name ends with
// "_total" and a timer's with "_seconds", appended when missing. The
// series are kept until the adapter stops, or for TTL after their last
// sample; beyond MaxSeries, new ones are dropped.
type StatsDSource struct {
	// Listen is the UDP address the application sends to:
	// "127.0.0.1:8125", inside the pod's network namespace in-process.
	// Required.
	Listen string `json:"listen"`
	// Mappings match names and name them.
	Mappings []StatsDMapping `json:"mappings,omitempty"`
	// DropUnmapped drops the names no mapping matches, counted as dropped
	// series with reason "unmapped".
	DropUnmapped bool `json:"dropUnmapped,omitempty"`
	// ObserverType is what timers and histograms become: Histogram
	// or Summary. Empty means histogram.
	ObserverType Type `json:"observerType,omitempty"`
	// Buckets are the histograms' upper bounds, increasing, in seconds for
	// timers. Empty means prometheus.DefBuckets (5ms to 10s).
	Buckets []float64 `json:"buckets,omitempty"`
	// Quantiles are the summaries' quantiles, each in (0, 1), computed
	// over the last 10 minutes with an error of (1-q)/10 at most 0.05.
	// Empty means 0.5, 0.9 and 0.99.
	Quantiles []float64 `json:"quantiles,omitempty"`
	// TTL drops the series that have had no sample for that long, at the
	// next scrape, freeing their room under MaxSeries. Zero means never.
	TTL time.Duration `json:"ttl,omitempty"`
}

// StatsDMapping maps the StatsD names that match a glob to a metric.
type StatsDMapping struct {
	// Match is a glob on the name: its dot-separated components match the
	// name's, and "*" matches one or more characters other than '.', with
	// each "*" a capture for $1, $2... in Name and Labels:
	// "api.*.requests" matches "api.users.requests". Required.
	Match string `json:"match"`
	// MatchType restricts the mapping to one kind of metric: "counter",
	// "gauge" or "observer" (timers and histograms). Empty matches all.
	MatchType string `json:"matchType,omitempty"`
	// Drop drops the matching metrics (counted as dropped series with
	// reason "unmapped"); the other fields must then be empty.
	Drop bool `json:"drop,omitempty"`
	// Name is the metric's name; $n refers to the nth capture, which is
	// sanitized. "_total" (counters) and "_seconds" (timers) are appended
	// when missing. Required unless Drop is set.
	Name string `json:"name,omitempty"`
	// Help is the metric's HELP text. Empty means one naming the match.
	Help string `json:"help,omitempty"`
	// Labels are the series' labels; a value may refer to captures.
	Labels map[string]string `json:"labels,omitempty"`
	// ObserverType, Buckets and Quantiles override the source's for the
	// matching timers and histograms.
	ObserverType Type      `json:"observerType,omitempty"`
	Buckets      []float64 `json:"buckets,omitempty"`
	Quantiles    []float64 `json:"quantiles,omitempty"`
}

const (
	// statsdMaxPacket is a UDP datagram's largest payload, and more: no
	// packet is ever truncated.
	statsdMaxPacket = 64 << 10
	// statsdMaxLine bounds a line, and so the key of a cached name.
	statsdMaxLine = 8 << 10
	// statsdCacheSize bounds the cache of resolved names; it starts over
	// when full.
	statsdCacheSize = 4096
	// statsdMaxSummaryWeight bounds the observations a sampled timer
	// makes in a summary (a rate of 0.001 would make 1000).
	statsdMaxSummaryWeight = 100
)

// statsdClass is a kind of StatsD metric.
type statsdClass byte

const (
	statsdCounter   statsdClass = 'c'
	statsdGauge     statsdClass = 'g'
	statsdTimer     statsdClass = 'm' // ms: observed in seconds
	statsdHistogram statsdClass = 'h' // h and d: observed as they are
)

// statsdConfig is a checked StatsDSource.
type statsdConfig struct {
	listen       string
	mappings     []statsdMapping
	dropUnmapped bool
	observer     statsdObserver
	ttl          time.Duration
}

// statsdObserver says what timers and histograms become.
type statsdObserver struct {
	typ        Type
	buckets    []float64
	objectives map[float64]float64
}

type statsdMapping struct {
	match    string
	glob     metricsGlob
	classes  string // the classes it matches; "" for all
	drop     bool
	name     metricsNameTemplate
	help     string
	labels   []metricsLabelTemplate
	observer statsdObserver
}

func (s *StatsDSource) compile(field string) (*statsdConfig, error) {
	c := &statsdConfig{listen: s.Listen, dropUnmapped: s.DropUnmapped, ttl: s.TTL}
	if s.Listen == "" {
		return nil, metricsErrorf(field+".listen", "required")
	}
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		return nil, metricsErrorf(field+".listen", "%q: %v", s.Listen, err)
	}
	if s.TTL < 0 {
		return nil, metricsErrorf(field+".ttl", "%s is negative", s.TTL)
	}
	var err error
	defaults := statsdObserver{typ: Histogram, buckets: prometheus.DefBuckets,
		objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}}
	if c.observer, err = statsdCompileObserver(field, s.ObserverType, s.Buckets, s.Quantiles, defaults); err != nil {
		return nil, err
	}
	for i, m := range s.Mappings {
		f := fmt.Sprintf("%s.mappings[%d]", field, i)
		sm := statsdMapping{match: m.Match, drop: m.Drop}
		if sm.glob, err = metricsParseGlob(m.Match); err != nil {
			return nil, metricsErrorf(f+".match", "%v", err)
		}
		switch m.MatchType {
		case "":
		case "counter":
			sm.classes = string(statsdCounter)
		case "gauge":
			sm.classes = string(statsdGauge)
		case "observer":
			sm.classes = string([]statsdClass{statsdTimer, statsdHistogram})
		default:
			return nil, metricsErrorf(f+".matchType", "%q is not counter, gauge or observer", m.MatchType)
		}
		if m.Drop {
			if m.Name != "" || m.Help != "" || len(m.Labels) > 0 || m.ObserverType != "" || len(m.Buckets) > 0 || len(m.Quantiles) > 0 {
				return nil, metricsErrorf(f+".drop", "a dropping mapping has no name, help, labels or observer settings")
			}
			c.mappings = append(c.mappings, sm)
			continue
		}
		if m.Name == "" {
			return nil, metricsErrorf(f+".name", "required")
		}
		if sm.name, err = metricsParseNameTemplate(m.Name, "", "", sm.glob.wildcards); err != nil {
			return nil, metricsErrorf(f+".name", "%v", err)
		}
		if sm.labels, err = metricsParseLabels(m.Labels, sm.glob.wildcards); err != nil {
			return nil, metricsErrorf(f+".labels", "%v", err)
		}
		if sm.observer, err = statsdCompileObserver(f, m.ObserverType, m.Buckets, m.Quantiles, c.observer); err != nil {
			return nil, err
		}
		sm.help = m.Help
		if sm.help == "" {
			sm.help = fmt.Sprintf("The StatsD metrics matching %q.", m.Match)
		}
		c.mappings = append(c.mappings, sm)
	}
	return c, nil
}

// statsdCompileObserver checks observer settings, defaults taking the place
// of the unset ones.
func statsdCompileObserver(field string, typ Type, buckets, quantiles []float64, defaults statsdObserver) (statsdObserver, error) {
	o := defaults
	switch typ {
	case "":
	case Histogram, Summary:
		o.typ = typ
	default:
		return o, metricsErrorf(field+".observerType", "%q is not histogram or summary", typ)
	}
	if len(buckets) > 0 {
		if len(buckets) > 64 {
			return o, metricsErrorf(field+".buckets", "more than 64")
		}
		for i, b := range buckets {
			if !metricsFinite(b) || (i > 0 && b <= buckets[i-1]) {
				return o, metricsErrorf(field+".buckets", "%v: not finite and increasing", buckets)
			}
		}
		o.buckets = slices.Clone(buckets)
	}
	if len(quantiles) > 0 {
		if len(quantiles) > 16 {
			return o, metricsErrorf(field+".quantiles", "more than 16")
		}
		o.objectives = map[float64]float64{}
		for _, q := range quantiles {
			if !(q > 0 && q < 1) {
				return o, metricsErrorf(field+".quantiles", "%v is not in (0, 1)", q)
			}
			o.objectives[q] = min((1-q)/10, 0.05)
		}
	}
	return o, nil
}

// statsdSource is a running StatsD source: it reads packets and keeps
// their series, and collects them at a scrape.
type statsdSource struct {
	name  string
	cfg   *statsdConfig
	max   int
	stats *metricsStats
	conn  net.PacketConn
	done  chan struct{}

	packets, samples atomic.Uint64

	mu     sync.Mutex
	series map[string]*statsdSeries
	names  metricsNames
	cache  map[string]statsdResolved
	line   statsdLine // scratch
	key    []byte     // scratch
	caps   []string   // scratch
	labels []metricsLabel
}

// statsdResolved is what a name, kind and tags resolve to: a series, or a
// reason to drop.
type statsdResolved struct {
	series *statsdSeries
	drop   metricsDropReason
}

// statsdSeries is a series and its value.
type statsdSeries struct {
	family  *metricsFamily
	desc    *prometheus.Desc
	value   float64 // counter or gauge
	buckets []float64
	counts  []uint64 // per bucket, the last one +Inf; not cumulative
	count   uint64
	sum     float64
	summary prometheus.Summary
	last    time.Time
}

// statsdStart listens for a StatsD source, in the pod when env has one.
func statsdStart(ctx context.Context, env metricsEnv, name string, cfg *statsdConfig, max int, stats *metricsStats) (*statsdSource, error) {
	conn, err := env.listenPacket(ctx, "udp", cfg.listen)
	if err != nil {
		return nil, fmt.Errorf("statsd: %w", err)
	}
	if u, ok := conn.(*net.UDPConn); ok {
		// Absorb bursts; the kernel caps it at net.core.rmem_max.
		_ = u.SetReadBuffer(4 << 20)
	}
	s := statsdNewSource(name, cfg, max, stats)
	s.conn = conn
	s.done = make(chan struct{})
	go s.read()
	return s, nil
}

func statsdNewSource(name string, cfg *statsdConfig, max int, stats *metricsStats) *statsdSource {
	return &statsdSource{name: name, cfg: cfg, max: max, stats: stats, series: map[string]*statsdSeries{},
		names: metricsNewNames(), cache: map[string]statsdResolved{}}
}

// read handles packets until the socket is closed.
func (s *statsdSource) read() {
	defer close(s.done)
	buf := make([]byte, statsdMaxPacket)
	for {
		n, _, err := s.conn.ReadFrom(buf)
		if n > 0 {
			s.handlePacket(buf[:n])
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Nothing else is expected of an unconnected UDP socket;
			// do not spin on it.
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// close closes the socket and waits for the reader.
func (s *statsdSource) close() {
	if s.conn != nil {
		s.conn.Close()
		<-s.done
	}
}

// handlePacket parses a packet and adds its samples.
func (s *statsdSource) handlePacket(p []byte) {
	s.packets.Add(1)
	var now time.Time
	if s.cfg.ttl > 0 {
		now = time.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(p) > 0 {
		var line []byte
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			line, p = p, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 || bytes.HasPrefix(line, []byte("_e{")) || bytes.HasPrefix(line, []byte("_sc|")) {
			// Blank, or a DogStatsD event or service check: no metric.
			continue
		}
		if err := statsdParseLine(line, &s.line); err != nil {
			s.stats.parseErrors.Add(1)
			continue
		}
		for _, smp := range s.line.samples {
			s.samples.Add(1)
			r := s.lookup(smp.class)
			if r.series == nil {
				s.stats.drop(r.drop)
				continue
			}
			r.series.add(smp, now)
		}
	}
}

// lookup resolves the name and tags of s.line for a kind of metric,
// through the cache.
func (s *statsdSource) lookup(class statsdClass) statsdResolved {
	l := &s.line
	k := append(s.key[:0], l.name...)
	k = append(k, 0, byte(class), 0)
	k = append(k, l.influxTags...)
	k = append(k, 0)
	k = append(k, l.dogTags...)
	s.key = k
	if r, ok := s.cache[string(k)]; ok {
		return r
	}
	r := s.resolve(class)
	if len(s.cache) >= statsdCacheSize {
		clear(s.cache)
	}
	s.cache[string(k)] = r
	return r
}

// resolve maps the name and tags of s.line, for a kind of metric, to a
// series, creating it if needed.
func (s *statsdSource) resolve(class statsdClass) statsdResolved {
	l := &s.line
	name := string(l.name)
	var (
		base     string
		help     string
		mapLabel []metricsLabelTemplate
		observer = s.cfg.observer
		mapped   bool
	)
	for i := range s.cfg.mappings {
		m := &s.cfg.mappings[i]
		if m.classes != "" && strings.IndexByte(m.classes, byte(class)) < 0 {
			continue
		}
		var ok bool
		if s.caps, ok = m.glob.match(name, s.caps[:0]); !ok {
			continue
		}
		if m.drop {
			return statsdResolved{drop: metricsDropUnmapped}
		}
		base, help, mapLabel, observer, mapped = m.name.base(s.caps), m.help, m.labels, m.observer, true
		break
	}
	if !mapped {
		if s.cfg.dropUnmapped {
			return statsdResolved{drop: metricsDropUnmapped}
		}
		base = metricsSanitizeName(name)
		help = fmt.Sprintf("The StatsD metric %q.", metricsLabelValueOrEmpty(name))
	}
	if base == "" {
		return statsdResolved{drop: metricsDropInvalid}
	}
	typ, unit := Gauge, ""
	switch class {
	case statsdCounter:
		typ = Counter
	case statsdTimer:
		typ, unit = observer.typ, "seconds"
	case statsdHistogram:
		typ = observer.typ
	}
	full := metricsFinalName(base, typ, unit)
	if !metricsValidName(full) {
		return statsdResolved{drop: metricsDropInvalid}
	}
	if len(full) >= len(metricsOwnPrefix) && full[:len(metricsOwnPrefix)] == metricsOwnPrefix {
		return statsdResolved{drop: metricsDropConflict}
	}

	labels := s.labels[:0]
	labels = statsdTagLabels(labels, l.influxTags, '=')
	labels = statsdTagLabels(labels, l.dogTags, ':')
	for _, t := range mapLabel {
		labels = append(labels, metricsLabel{name: t.name, value: t.value.expand(s.caps, nil)})
	}
	s.labels = labels
	labels, ok := metricsNormalizeLabels(labels, typ)
	if !ok {
		return statsdResolved{drop: metricsDropInvalid}
	}
	key := string(metricsSeriesKey(nil, full, labels))
	if ser := s.series[key]; ser != nil {
		if ser.family.typ != typ {
			return statsdResolved{drop: metricsDropConflict}
		}
		return statsdResolved{series: ser}
	}
	if len(s.series) >= s.max {
		return statsdResolved{drop: metricsDropLimit}
	}
	f := s.names.claim(full, typ, help, unit)
	if f == nil {
		return statsdResolved{drop: metricsDropConflict}
	}
	ser, ok := statsdNewSeries(f, labels, observer)
	if !ok {
		if f.series == 0 {
			s.names.release(f)
		}
		return statsdResolved{drop: metricsDropInvalid}
	}
	f.series++
	s.series[key] = ser
	return statsdResolved{series: ser}
}

// metricsLabelValueOrEmpty makes s printable in a help text.
func metricsLabelValueOrEmpty(s string) string {
	v, _ := metricsLabelValue(s)
	return v
}

// statsdTagLabels appends the labels of tags "k<sep>v,..."; a tag without
// a value, or whose name has nothing valid, is skipped.
func statsdTagLabels(labels []metricsLabel, tags []byte, sep byte) []metricsLabel {
	for len(tags) > 0 {
		var tag []byte
		if i := bytes.IndexByte(tags, ','); i >= 0 {
			tag, tags = tags[:i], tags[i+1:]
		} else {
			tag, tags = tags, nil
		}
		i := bytes.IndexByte(tag, sep)
		if i <= 0 {
			continue
		}
		name := metricsSanitizeName(string(tag[:i]))
		if name == "" {
			continue
		}
		labels = append(labels, metricsLabel{name: name, value: string(tag[i+1:])})
	}
	return labels
}

// statsdNewSeries returns a new series of f; ok is false if its labels
// make an invalid descriptor.
func statsdNewSeries(f *metricsFamily, labels []metricsLabel, o statsdObserver) (*statsdSeries, bool) {
	constLabels := make(prometheus.Labels, len(labels))
	for _, l := range labels {
		constLabels[l.name] = l.value
	}
	ser := &statsdSeries{family: f}
	if f.typ == Summary {
		var err error
		func() {
			defer func() {
				if recover() != nil {
					err = errors.New("invalid summary")
				}
			}()
			ser.summary = prometheus.NewSummary(prometheus.SummaryOpts{Name: f.name, Help: f.help, Unit: f.unit,
				ConstLabels: constLabels, Objectives: o.objectives})
		}()
		return ser, err == nil && ser.summary.Desc().Err() == nil
	}
	ser.desc = metricsNewDesc(f, nil, constLabels)
	if f.typ == Histogram {
		ser.buckets = o.buckets
		ser.counts = make([]uint64, len(o.buckets)+1)
	}
	return ser, ser.desc.Err() == nil
}

// add adds a sample to the series.
func (ser *statsdSeries) add(smp statsdSample, now time.Time) {
	ser.last = now
	v := smp.value
	switch smp.class {
	case statsdCounter:
		ser.value += v / smp.rate
		return
	case statsdGauge:
		if smp.relative {
			ser.value += v
		} else {
			ser.value = v
		}
		return
	case statsdTimer:
		v /= 1000
	}
	weight := uint64(1)
	if smp.rate < 1 {
		weight = uint64(math.Round(1 / smp.rate))
	}
	if ser.summary != nil {
		for range min(weight, statsdMaxSummaryWeight) {
			ser.summary.Observe(v)
		}
		return
	}
	ser.counts[sort.SearchFloat64s(ser.buckets, v)] += weight
	ser.count += weight
	ser.sum += v * float64(weight)
}

// metric returns the series' current value as a metric.
func (ser *statsdSeries) metric() (prometheus.Metric, error) {
	switch ser.family.typ {
	case Counter:
		return prometheus.NewConstMetric(ser.desc, prometheus.CounterValue, ser.value)
	case Gauge:
		return prometheus.NewConstMetric(ser.desc, prometheus.GaugeValue, ser.value)
	case Summary:
		return ser.summary, nil
	}
	buckets := make(map[float64]uint64, len(ser.buckets))
	var cum uint64
	for i, b := range ser.buckets {
		cum += ser.counts[i]
		buckets[b] = cum
	}
	return prometheus.NewConstHistogram(ser.desc, ser.count, ser.sum, buckets)
}

// The StatsD source's own metrics.
var (
	statsdPacketsDesc = prometheus.NewDesc("podkit_adapter_statsd_packets_total",
		"StatsD packets received by the source.", []string{"source"}, nil)
	statsdSamplesDesc = prometheus.NewDesc("podkit_adapter_statsd_samples_total",
		"StatsD samples (values) parsed by the source, kept or dropped.", []string{"source"}, nil)
)

// Describe sends nothing: the series are known only once received, so
// it is an unchecked collector.
func (s *statsdSource) Describe(chan<- *prometheus.Desc) {}

// Collect sends the series, after dropping those past their TTL.
func (s *statsdSource) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	s.mu.Lock()
	if s.cfg.ttl > 0 {
		s.expire(start)
	}
	metrics := make([]prometheus.Metric, 0, len(s.series))
	for _, ser := range s.series {
		if m, err := ser.metric(); err == nil {
			metrics = append(metrics, m)
		}
	}
	s.mu.Unlock()
	// Send without the lock: the channel may block, and packets keep
	// coming.
	for _, m := range metrics {
		ch <- m
	}
	ch <- prometheus.MustNewConstMetric(statsdPacketsDesc, prometheus.CounterValue, float64(s.packets.Load()), s.name)
	ch <- prometheus.MustNewConstMetric(statsdSamplesDesc, prometheus.CounterValue, float64(s.samples.Load()), s.name)
	metricsCollectOwn(ch, s.name, true, time.Since(start), s.stats, len(metrics))
}

// expire drops the series whose last sample is older than the TTL.
func (s *statsdSource) expire(now time.Time) {
	expired := false
	for k, ser := range s.series {
		if now.Sub(ser.last) <= s.cfg.ttl {
			continue
		}
		delete(s.series, k)
		expired = true
		if ser.family.series--; ser.family.series == 0 {
			s.names.release(ser.family)
		}
	}
	if expired {
		// Cached names may point at dropped series, or at the limit.
		clear(s.cache)
	}
}

// statsdLine is a parsed line: its name, tags and samples point into the
// packet.
type statsdLine struct {
	name       []byte
	influxTags []byte
	dogTags    []byte
	samples    []statsdSample
}

// statsdSample is one value of a line.
type statsdSample struct {
	class    statsdClass
	value    float64
	relative bool    // a gauge's change, not its value
	rate     float64 // in (0, 1]
}

// statsdParseLine parses a line into l, reusing its storage.
func statsdParseLine(line []byte, l *statsdLine) error {
	*l = statsdLine{samples: l.samples[:0]}
	if len(line) > statsdMaxLine {
		return errors.New("line too long")
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return errors.New("no name:value")
	}
	l.name = line[:colon]
	if i := bytes.IndexByte(l.name, ','); i >= 0 {
		l.name, l.influxTags = l.name[:i], l.name[i+1:]
		if len(l.name) == 0 {
			return errors.New("empty name")
		}
	}
	rest := line[colon+1:]
	if bytes.Contains(rest, []byte("|#")) {
		// DogStatsD tags hold colons: one value only.
		return l.parseSample(rest)
	}
	for {
		i := bytes.IndexByte(rest, ':')
		if i < 0 {
			return l.parseSample(rest)
		}
		if err := l.parseSample(rest[:i]); err != nil {
			return err
		}
		rest = rest[i+1:]
	}
}

// parseSample parses "value|type[|@rate][|#tags]".
func (l *statsdLine) parseSample(s []byte) error {
	bar := bytes.IndexByte(s, '|')
	if bar < 0 {
		return errors.New("no |type")
	}
	valueText, fields := s[:bar], s[bar+1:]
	var typ []byte
	if i := bytes.IndexByte(fields, '|'); i >= 0 {
		typ, fields = fields[:i], fields[i+1:]
	} else {
		typ, fields = fields, nil
	}
	smp := statsdSample{rate: 1}
	switch string(typ) {
	case "c":
		smp.class = statsdCounter
	case "g":
		smp.class = statsdGauge
	case "ms":
		smp.class = statsdTimer
	case "h", "d":
		smp.class = statsdHistogram
	case "s":
		return errors.New("sets are not supported")
	default:
		return fmt.Errorf("unknown type %q", typ)
	}
	for len(fields) > 0 {
		var f []byte
		if i := bytes.IndexByte(fields, '|'); i >= 0 {
			f, fields = fields[:i], fields[i+1:]
		} else {
			f, fields = fields, nil
		}
		switch {
		case len(f) > 1 && f[0] == '@':
			r, err := strconv.ParseFloat(string(f[1:]), 64)
			if err != nil || !(r > 0 && r <= 1) {
				return fmt.Errorf("bad sample rate %q", f)
			}
			if smp.class != statsdGauge {
				smp.rate = r
			}
		case len(f) > 0 && f[0] == '#':
			l.dogTags = f[1:]
		}
		// Other fields (DogStatsD's container ID, timestamp) are ignored.
	}
	if len(valueText) == 0 {
		return errors.New("empty value")
	}
	if smp.class == statsdGauge && (valueText[0] == '+' || valueText[0] == '-') {
		smp.relative = true
	}
	v, err := strconv.ParseFloat(string(valueText), 64)
	if err != nil || !metricsFinite(v) {
		return fmt.Errorf("bad value %q", valueText)
	}
	if smp.class == statsdCounter && v < 0 {
		return fmt.Errorf("negative counter increment %q", valueText)
	}
	smp.value = v
	l.samples = append(l.samples, smp)
	return nil
}
