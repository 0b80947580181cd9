package health

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/internal/promreg"
)

// healthMetrics are a health adapter's metrics.
type healthMetrics struct {
	up       *prometheus.GaugeVec
	duration *prometheus.HistogramVec
}

func newHealthMetrics(name string) *healthMetrics {
	labels := prometheus.Labels{"adapter": name}
	return &healthMetrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podkit_adapter_health_check_up", Help: "Whether the last run of a health check passed (1) or failed (0).",
			ConstLabels: labels}, []string{"check"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "podkit_adapter_health_check_duration_seconds", Help: "Duration of the runs of a health check.",
			ConstLabels: labels, Buckets: prometheus.DefBuckets}, []string{"check"}),
	}
}

// register registers m's collectors with g, which unregisters them.
func (m *healthMetrics) register(g *promreg.Registration) (err error) {
	if m.up, err = promreg.Register(g, m.up); err != nil {
		return err
	}
	m.duration, err = promreg.Register(g, m.duration)
	return err
}
