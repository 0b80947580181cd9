package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// args06 picks a free host port for the adapter.
func args06(s *session) []string {
	addr := "127.0.0.1:9100"
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		addr = ln.Addr().String()
		ln.Close()
	}
	s.vals["addr"] = addr
	return []string{"-metrics-addr", addr}
}

// check06 checks exercise 6 by scraping the adapter twice while the program
// runs: valid Prometheus text, the app's numbers with the right names and
// types, app_up 1, and fresh values at every scrape; then that the adapter
// is a sidecar and returned when the pod stopped.
func check06(s *session) {
	url := "http://" + s.vals["addr"] + "/metrics"
	if _, ok := s.awaitEvent(10*time.Second, func(ev event) bool { return ev.is("Started", "app") }); !ok {
		s.fail("the app never started: keep its container as given")
		s.finish()
		return
	}
	first, err := scrapeAdapter(url, 5*time.Second)
	if err != nil {
		if _, ok := s.awaitEvent(0, func(ev event) bool { return ev.is("Started", "adapter") }); !ok {
			s.fail(`no container named "adapter" ran: declare it with the spec's InitContainers (TODO 1)`)
		}
		s.fail("%s: %v", url, err)
		s.finish()
		return
	}
	s.ok("the adapter serves %s on the host", url)
	checkMetrics(s, first)
	if second, err := scrapeAdapter(url, time.Second); err == nil && first.families != nil && second.families != nil {
		a, aok := value(first.families, "app_scrapes_total")
		b, bok := value(second.families, "app_scrapes_total")
		switch {
		case !aok || !bok:
		case b > a:
			s.ok("the adapter reads the app afresh at every scrape (app_scrapes_total went from %g to %g)", a, b)
		default:
			s.fail("app_scrapes_total stayed %g from one scrape to the next: read the app at every scrape, do not keep old values (TODO 4)", a)
		}
	}
	s.finish()
	evs := s.events()
	if ev, ok := evs.first("Started", "adapter"); ok && ev.fields["role"] != "sidecar" {
		s.fail("the adapter ran as a %s container: declare it as a sidecar, RestartPolicy pod.RestartAlways in the spec's InitContainers (TODO 1)", ev.fields["role"])
	} else if ok {
		s.ok("the adapter ran as an in-process sidecar")
	}
	if ev, ok := evs.first("Exited", "adapter"); ok && ev.fields["signal"] != "" {
		s.fail("the adapter did not return when its context was done, and was reported killed: shut the server down and return nil (TODO 6)")
	} else if ok {
		s.ok("the adapter returned when the pod stopped it")
	}
}

// scraped is one answer of the adapter.
type scraped struct {
	contentType string
	body        string
	families    map[string]*dto.MetricFamily
	parseErr    error
}

// scrapeAdapter GETs url, retrying for up to wait until it answers 200
// with app_up 1 (the app may not listen yet) or with text that does not
// parse, and returns its last answer.
func scrapeAdapter(url string, wait time.Duration) (scraped, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var last scraped
	var answered bool
	var lastErr error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case err != nil:
				lastErr = err
			case resp.StatusCode != http.StatusOK:
				lastErr = fmt.Errorf("answered %s, not 200 OK: serve GET /metrics (TODO 3)", resp.Status)
			default:
				last = scraped{contentType: resp.Header.Get("Content-Type"), body: string(body)}
				parser := expfmt.NewTextParser(model.LegacyValidation)
				last.families, last.parseErr = parser.TextToMetricFamilies(strings.NewReader(last.body))
				answered = true
				if up, ok := value(last.families, "app_up"); last.parseErr != nil || (ok && up == 1) {
					return last, nil
				}
			}
		} else if !answered {
			lastErr = fmt.Errorf("nothing answers: the adapter must listen on the host at the -metrics-addr address, with net.Listen (in.Pod.Listen listens inside the pod), and serve GET /metrics (TODO 2 and 3)")
		}
		select {
		case <-ctx.Done():
			if answered {
				return last, nil
			}
			return scraped{}, lastErr
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkMetrics checks one scrape's content.
func checkMetrics(s *session, sc scraped) {
	if strings.HasPrefix(sc.contentType, "text/plain") {
		s.ok("the answer's Content-Type is %q", sc.contentType)
	} else {
		s.fail(`the answer's Content-Type is %q: set "text/plain; version=0.0.4" (TODO 3)`, sc.contentType)
	}
	if strings.TrimSpace(sc.body) == "" {
		s.fail("the adapter answered with no metrics: scrape must read the app (TODO 4) and convert its lines (TODO 5)")
		return
	}
	if sc.parseErr != nil {
		s.fail("the answer is not valid Prometheus text format (%v): each sample is \"name value\" with a number as value, after a \"# TYPE name counter|gauge\" line (TODO 5); it was:\n%s",
			sc.parseErr, indent(sc.body))
		return
	}
	s.ok("the answer is valid Prometheus text format")
	want := []struct {
		name  string
		kind  dto.MetricType
		value float64
	}{
		{"app_requests_total", dto.MetricType_COUNTER, 1234},
		{"app_errors_total", dto.MetricType_COUNTER, 5},
		{"app_queue_depth", dto.MetricType_GAUGE, 7},
		{"app_temperature_celsius", dto.MetricType_GAUGE, 21.5},
		{"app_scrapes_total", dto.MetricType_COUNTER, -1}, // any value
	}
	good := 0
	for _, w := range want {
		f, ok := sc.families[w.name]
		switch {
		case !ok:
			s.fail("there is no %s: convert each key=value line into app_<key> (TODO 5)", w.name)
		case f.GetType() != w.kind:
			s.fail("%s is a %s, not a %s: keys ending in _total are counters, the others gauges (TODO 5)",
				w.name, strings.ToLower(f.GetType().String()), strings.ToLower(w.kind.String()))
		default:
			v, _ := value(sc.families, w.name)
			if w.value >= 0 && v != w.value {
				s.fail("%s is %g, but the app says %g (TODO 5)", w.name, v, w.value)
			} else {
				good++
			}
		}
	}
	if good == len(want) {
		s.ok("the app's five numbers are there, named app_<key>, counters for _total keys and gauges otherwise")
	}
	if _, ok := sc.families["app_version"]; !ok && good > 0 {
		s.ok("the line that is not a number (version=1.4.2) and the others that are not key=number were skipped")
	}
	if v, ok := value(sc.families, "app_up"); !ok || sc.families["app_up"].GetType() != dto.MetricType_GAUGE {
		s.fail("there is no gauge app_up: add app_up 1 when the app answered, app_up 0 alone when it did not (TODO 4)")
	} else if v != 1 {
		s.fail("app_up is %g while the app runs: is the app reached inside the pod, with in.Pod.DialContext? (TODO 4)", v)
	} else {
		s.ok("app_up is 1: the adapter reached the app inside the pod")
	}
}

// value returns the value of the first sample of a counter or gauge.
func value(families map[string]*dto.MetricFamily, name string) (float64, bool) {
	f, ok := families[name]
	if !ok || len(f.GetMetric()) == 0 {
		return 0, false
	}
	m := f.GetMetric()[0]
	switch f.GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue(), true
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue(), true
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}
