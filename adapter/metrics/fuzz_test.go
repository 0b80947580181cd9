package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"
)

// Whatever a source reads, the exposition is valid: the registry gathers
// it without an inconsistency, and both formats encode it, the text
// format parsing back.
func metricsCheckExposition(t *testing.T, c prometheus.Collector) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var text, om bytes.Buffer
	textEnc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
	omEnc := expfmt.NewEncoder(&om, expfmt.NewFormat(expfmt.TypeOpenMetrics))
	for _, mf := range mfs {
		if !metricsValidName(mf.GetName()) {
			t.Fatalf("invalid name %q", mf.GetName())
		}
		if err := textEnc.Encode(mf); err != nil {
			t.Fatalf("text: %v", err)
		}
		if err := omEnc.Encode(mf); err != nil {
			t.Fatalf("openmetrics: %v", err)
		}
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	if _, err := parser.TextToMetricFamilies(&text); err != nil {
		t.Fatalf("the text exposition does not parse: %v", err)
	}
}

// metricsFuzzCollector is a scrape-time collector whose source is body.
func metricsFuzzCollector(scrape func(ctx context.Context, e *metricsEmitter) error) *metricsScrapeCollector {
	return &metricsScrapeCollector{source: "fuzz", timeout: time.Second, max: 50, stats: &metricsStats{},
		scrapes: &metricsScrapes{}, logger: zap.NewNop(), descs: metricsNewDescCache(), scrape: scrape}
}

func FuzzMetricsJSONPath(f *testing.F) {
	for _, s := range []string{"a.b.c", "$.a[0].b", `a["x.y"][*]`, "a.*.b[-1]", "$", "", "[*][*]", `["\u00e9\""]`, "a[", "a..b"} {
		f.Add(s)
	}
	doc, _ := metricsDecodeJSON([]byte(`{"a": {"b": [1, {"c": 2}], "x.y": [3]}, "list": [[1], {"k": true}]}`))
	f.Fuzz(func(t *testing.T, path string) {
		steps, wildcards, err := metricsParseJSONPath(path)
		if err != nil {
			return
		}
		metricsWalkJSON(doc, steps, nil, func(v any, caps []string) {
			if len(caps) != wildcards {
				t.Fatalf("%q: %d captures, %d wildcards", path, len(caps), wildcards)
			}
		})
	})
}

func FuzzMetricsJSONSource(f *testing.F) {
	f.Add([]byte(`{"requests": 10, "queues": {"mail": {"depth": 3}}}`), "queues.*.depth", "app_$1")
	f.Add([]byte(`[{"a": "1e3"}, {"a": true}, {"a": null}]`), "[*].a", "v")
	f.Add([]byte(`{"\xff\"\n": {"": -1}}`), "*.*", "x_$1_$2")
	f.Add([]byte(`{"a": 1e999, "b": "NaN", "c": -0}`), "*", "m_$1")
	f.Add([]byte(`{"a": [`), "a", "a")
	f.Fuzz(func(t *testing.T, body []byte, path, name string) {
		src := JSONSource{Address: "127.0.0.1:1", Mappings: []JSONMapping{
			{Path: path, Name: name, Labels: map[string]string{"key": "$1"}},
			{Path: path, Name: name, Type: Counter},
		}}
		cfg, err := src.compile("json")
		if err != nil {
			src.Mappings = src.Mappings[1:]
			if cfg, err = src.compile("json"); err != nil {
				return
			}
		}
		metricsCheckExposition(t, metricsFuzzCollector(func(ctx context.Context, e *metricsEmitter) error {
			doc, err := metricsDecodeJSON(body)
			if err != nil {
				return err
			}
			cfg.emit(doc, e)
			return nil
		}))
	})
}

func FuzzMetricsText(f *testing.F) {
	f.Add([]byte("requests 42\nbytes.sent=1024\nuptime: 3\n# comment\n\n"), "db*_keys")
	f.Add([]byte("\x00\xff garbage\n\xc3\x28 2\nkey\t\t-1.5e3\r\nk NaN\nk +Inf\n"), "*")
	f.Add([]byte(strings.Repeat("x", metricsMaxTextLine+10)+" 1\nok 1"), "*.*")
	f.Add([]byte("le 1\nquantile 2\n__name__ 3\npodkit_adapter_source_up 1\n1st 1\n"), "a")
	f.Fuzz(func(t *testing.T, body []byte, match string) {
		rules := TextRules{Prefix: "app_", Mappings: []TextMapping{
			{Match: match, Name: "mapped_$1", Labels: map[string]string{"k": "$1"}},
			{Match: "db*_keys", Name: "app_db_keys", Type: Counter, Labels: map[string]string{"db": "$1"}},
		}}
		r, err := rules.compile("text", "fuzz")
		if err != nil {
			rules.Mappings = rules.Mappings[1:]
			if r, err = rules.compile("text", "fuzz"); err != nil {
				t.Fatal(err)
			}
		}
		metricsCheckExposition(t, metricsFuzzCollector(func(ctx context.Context, e *metricsEmitter) error {
			r.emit(body, e)
			return nil
		}))
	})
}

func FuzzMetricsGlob(f *testing.F) {
	for _, s := range [][2]string{{"a.*.b", "a.x.b"}, {"db*_keys", "db0_keys"}, {"*_*", "a_b_c"}, {"x*y*z", "xAyBz"}, {"*", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		g, err := metricsParseGlob(pattern)
		if err != nil {
			return
		}
		caps, ok := g.match(name, nil)
		if !ok {
			return
		}
		if len(caps) != g.wildcards {
			t.Fatalf("%q ~ %q: %d captures, %d wildcards", pattern, name, len(caps), g.wildcards)
		}
		// Putting the captures back into the pattern gives the name.
		var b strings.Builder
		i := 0
		for j := 0; j < len(pattern); j++ {
			if pattern[j] == '*' {
				if caps[i] == "" || strings.Contains(caps[i], ".") {
					t.Fatalf("%q ~ %q: capture %q", pattern, name, caps[i])
				}
				b.WriteString(caps[i])
				i++
			} else {
				b.WriteByte(pattern[j])
			}
		}
		if b.String() != name {
			t.Fatalf("%q ~ %q: captures %q rebuild %q", pattern, name, caps, b.String())
		}
	})
}

func FuzzMetricsTemplate(f *testing.F) {
	for _, s := range []string{"app_$1", "${2}_x$$", "$", "${", "a$1b$2c", "$99"} {
		f.Add(s, "getUser", "\xff.9")
	}
	f.Fuzz(func(t *testing.T, tpl, c1, c2 string) {
		nt, err := metricsParseNameTemplate(tpl, Counter, "seconds", 2)
		if err != nil {
			return
		}
		if n := nt.expand([]string{c1, c2}); n != "" && (!metricsValidName(n) || !strings.HasSuffix(n, "_seconds_total")) {
			t.Fatalf("%q with %q, %q: %q", tpl, c1, c2, n)
		}
	})
}

func FuzzMetricsSanitize(f *testing.F) {
	for _, s := range []string{"requestCount", "a..b", "\xff", "9x", "HTTPServer", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := metricsSanitizeName(s); n != "" && (!metricsValidName(n) || !metricsValidLabelName(n)) {
			t.Fatalf("%q: %q", s, n)
		}
	})
}

// A configuration that reads and checks is written back as the same
// configuration.
func FuzzMetricsConfig(f *testing.F) {
	f.Add([]byte(`{"listen":":9102","sources":[{"name":"a","json":{"address":"127.0.0.1:8080","mappings":[{"path":"a.*","name":"a_$1"}]}}]}`))
	f.Add([]byte(`{"listen":":9102","scrapeTimeout":"2s","sources":[{"name":"s","statsd":{"listen":":8125","ttl":"1m","buckets":[0.1,1]}}]}`))
	f.Add([]byte(`{"listen":":9102","sources":[{"name":"c","command":{"container":"x","command":["sh"],"prefix":"p_"}}]}`))
	f.Add([]byte(`{"listen":":1","sources":[{"name":"t","text":{"address":"h:1","mappings":[{"match":"a","drop":true}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Adapter
		if json.Unmarshal(data, &m) != nil {
			return
		}
		if _, err := m.compile(true); err != nil {
			if !strings.HasPrefix(err.Error(), "metrics: ") {
				t.Fatalf("error without the prefix: %v", err)
			}
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back Adapter
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		again, _ := json.Marshal(back)
		if !bytes.Equal(out, again) {
			t.Fatalf("not stable:\n%s\n%s", out, again)
		}
	})
}
