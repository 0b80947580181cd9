package metrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/testenv"
)

// Accept headers of the two exposition formats.
const (
	metricsAcceptText        = "text/plain;version=0.0.4"
	metricsAcceptOpenMetrics = "application/openmetrics-text;version=1.0.0"
)

// metricsCollected returns the collected metrics as "name{labels}" ->
// value; histograms and summaries give their count.
func metricsCollected(t *testing.T, ch <-chan prometheus.Metric) map[string]float64 {
	t.Helper()
	got := map[string]float64{}
	for m := range ch {
		var pb dto.Metric
		require.NoError(t, m.Write(&pb))
		name := metricsDescName(m.Desc())
		got[metricsSeriesName(name, pb.GetLabel())] = metricsValueOf(&pb)
	}
	return got
}

// metricsDescName digs the name out of a Desc's String.
func metricsDescName(d *prometheus.Desc) string {
	s := d.String()
	s = s[strings.Index(s, `fqName: "`)+len(`fqName: "`):]
	return s[:strings.IndexByte(s, '"')]
}

func metricsSeriesName(name string, labels []*dto.LabelPair) string {
	if len(labels) == 0 {
		return name
	}
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
	}
	slices.Sort(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

func metricsValueOf(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Summary != nil:
		return float64(m.Summary.GetSampleCount())
	}
	return m.Untyped.GetValue()
}

// metricsFamilies flattens gathered families to "name{labels}" -> value,
// as metricsCollected does.
func metricsFamilies(mfs []*dto.MetricFamily) map[string]float64 {
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			got[metricsSeriesName(mf.GetName(), m.GetLabel())] = metricsValueOf(m)
		}
	}
	return got
}

// metricsScrape GETs url with an Accept header, and returns the body and
// content type of a 200 answer.
func metricsScrape(t *testing.T, client *http.Client, url, accept string) (string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body), resp.Header.Get("Content-Type")
}

// metricsParseText parses the text format 0.0.4, as Prometheus' client
// library reads it, into "name{labels}" -> value.
func metricsParseText(t *testing.T, text string) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	require.NoError(t, err, text)
	list := make([]*dto.MetricFamily, 0, len(mfs))
	for _, mf := range mfs {
		list = append(list, mf)
	}
	return metricsFamilies(list)
}

// metricsPromtool checks an exposition in the text format with
// `promtool check metrics`, which parses it and lints the names (base
// units, _total, help, snake_case). It skips t without promtool, but under
// CI=true.
func metricsPromtool(t *testing.T, text string) {
	t.Helper()
	testenv.RequireTool(t, "promtool")
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil {
		f, ferr := os.CreateTemp("", "metrics-*.txt")
		if ferr == nil {
			f.WriteString(text)
			f.Close()
		}
		t.Fatalf("promtool check metrics: %v\n%s\n(exposition saved in %s)", err, out, f.Name())
	}
	require.Empty(t, strings.TrimSpace(string(out)), "promtool check metrics")
}

// metricsWrite returns m as a protobuf.
func metricsWrite(t *testing.T, m prometheus.Metric) *dto.Metric {
	t.Helper()
	var pb dto.Metric
	require.NoError(t, m.Write(&pb))
	return &pb
}

// start starts m as Handler does, for a test that stops it with Close.
func (m Adapter) start(ctx context.Context) (*handler, error) {
	cfg, err := m.compile(false)
	if err != nil {
		return nil, err
	}
	return cfg.start(ctx)
}

// Gather reads the sources, as a scrape does.
func (h *handler) Gather() ([]*dto.MetricFamily, error) { return h.registry.Gather() }

// Close stops the adapter, as the end of Handler's context does.
func (h *handler) Close() error {
	h.close()
	return nil
}
