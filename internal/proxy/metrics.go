package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector exposes a proxy's counters as Prometheus metrics. It reads the
// same atomics as Stats at scrape time, so the hot path pays one atomic add
// per event and the two views cannot disagree.
type collector struct {
	p                 *Proxy
	active            *prometheus.Desc
	total             *prometheus.Desc
	bytes             *prometheus.Desc
	up                *prometheus.Desc
	upstreamActive    *prometheus.Desc
	connectErrors     *prometheus.Desc
	retries           *prometheus.Desc
	rejected          *prometheus.Desc
	maxConnsWaits     *prometheus.Desc
	idleTimeoutsTotal *prometheus.Desc
}

func newCollector(p *Proxy, constLabels prometheus.Labels) *collector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("podkit_proxy_"+name, help, labels, constLabels)
	}
	return &collector{
		p:                 p,
		active:            desc("connections_active", "Client connections open now, including those connecting to an upstream."),
		total:             desc("connections_total", "Client connections accepted."),
		bytes:             desc("bytes_total", "Bytes delivered, by direction: upstream (client to upstream) or downstream (upstream to client).", "direction"),
		up:                desc("upstream_up", "1 if the upstream may receive connections (healthy and not ejected), else 0.", "upstream"),
		upstreamActive:    desc("upstream_connections_active", "Connections on the upstream now, including those connecting.", "upstream"),
		connectErrors:     desc("upstream_connect_errors_total", "Failed connects (and TLS handshakes) to the upstream.", "upstream"),
		retries:           desc("retries_total", "Connects retried on another upstream after a failure."),
		rejected:          desc("rejected_connections_total", "Client connections closed at once, by reason (no_upstream: every upstream unhealthy or ejected).", "reason"),
		maxConnsWaits:     desc("max_conns_waits_total", "Times accepting paused because MaxConns connections were open."),
		idleTimeoutsTotal: desc("idle_timeouts_total", "Connections closed after IdleTimeout without traffic."),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.active, c.total, c.bytes, c.up, c.upstreamActive,
		c.connectErrors, c.retries, c.rejected, c.maxConnsWaits, c.idleTimeoutsTotal} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	p := c.p
	metric := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, t, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	metric(c.active, prometheus.GaugeValue, float64(p.active.Load()))
	metric(c.total, prometheus.CounterValue, float64(p.total.Load()))
	metric(c.bytes, prometheus.CounterValue, float64(p.bytesUp.Load()), "upstream")
	metric(c.bytes, prometheus.CounterValue, float64(p.bytesDown.Load()), "downstream")
	metric(c.retries, prometheus.CounterValue, float64(p.retried.Load()))
	metric(c.rejected, prometheus.CounterValue, float64(p.rejected.Load()), "no_upstream")
	metric(c.maxConnsWaits, prometheus.CounterValue, float64(p.waits.Load()))
	metric(c.idleTimeoutsTotal, prometheus.CounterValue, float64(p.idleClosed.Load()))
	now := p.clock.Now()
	for _, u := range p.ups {
		up := 0.0
		if u.available(now) {
			up = 1
		}
		metric(c.up, prometheus.GaugeValue, up, u.addr)
		metric(c.upstreamActive, prometheus.GaugeValue, float64(u.active.Load()), u.addr)
		metric(c.connectErrors, prometheus.CounterValue, float64(u.connectErrors.Load()), u.addr)
	}
}
