package logs

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/internal/promreg"
)

// logMetrics are a log adapter's metrics. Its methods do nothing on nil.
type logMetrics struct {
	records      prometheus.Counter
	parseErrors  *prometheus.CounterVec
	droppedBytes prometheus.Counter
	sanitizedVec *prometheus.CounterVec
}

func newLogMetrics(name string) *logMetrics {
	labels := prometheus.Labels{"adapter": name}
	return &logMetrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podkit_adapter_log_records_total", Help: "Records written.", ConstLabels: labels}),
		parseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podkit_adapter_log_parse_errors_total", Help: "Lines that did not parse, written raw, by format.",
			ConstLabels: labels}, []string{"format"}),
		droppedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podkit_adapter_log_dropped_bytes_total", Help: "Bytes cut off lines longer than the limit.",
			ConstLabels: labels}),
		sanitizedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "podkit_adapter_log_sanitized_total",
			Help:        "Records repaired or skipped, by kind (truncated, invalid_utf8, nul, field_error, empty).",
			ConstLabels: labels}, []string{"kind"}),
	}
}

// register registers m's collectors with g, which unregisters them.
func (m *logMetrics) register(g *promreg.Registration) (err error) {
	if m.records, err = promreg.Register(g, m.records); err != nil {
		return err
	}
	if m.parseErrors, err = promreg.Register(g, m.parseErrors); err != nil {
		return err
	}
	if m.droppedBytes, err = promreg.Register(g, m.droppedBytes); err != nil {
		return err
	}
	m.sanitizedVec, err = promreg.Register(g, m.sanitizedVec)
	return err
}

func (m *logMetrics) recorded(n int) {
	if m != nil && n > 0 {
		m.records.Add(float64(n))
	}
}

func (m *logMetrics) parseError(format Format) {
	if m != nil {
		m.parseErrors.WithLabelValues(string(format)).Inc()
	}
}

func (m *logMetrics) dropped(n int) {
	if m != nil && n > 0 {
		m.droppedBytes.Add(float64(n))
	}
}

func (m *logMetrics) sanitized(kind string) {
	if m != nil {
		m.sanitizedVec.WithLabelValues(kind).Inc()
	}
}
