package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkScrape measures a scrape of a JSON source: the HTTP GET of a
// 200-value document on the loopback, its decoding and mapping, and the
// gathering of the registry.
func BenchmarkScrape(b *testing.B) {
	doc := map[string]any{"requests": 1234, "uptime_ms": 5000}
	queues := map[string]any{}
	for i := range 200 {
		queues[fmt.Sprintf("queue%d", i)] = map[string]any{"depth": i, "consumers": 2}
	}
	doc["queues"] = queues
	body, _ := json.Marshal(doc)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	h, err := Adapter{Sources: []Source{{Name: "app", JSON: &JSONSource{Address: srv.Listener.Addr().String(),
		Mappings: []JSONMapping{
			{Path: "requests", Name: "app_requests", Type: Counter},
			{Path: "uptime_ms", Name: "app_uptime", Unit: "ms"},
			{Path: "queues.*.depth", Name: "app_queue_depth", Labels: map[string]string{"queue": "$1"}},
		}}}}}.start(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	b.ReportAllocs()
	for b.Loop() {
		mfs, err := h.Gather()
		if err != nil || len(mfs) < 3 {
			b.Fatalf("%v, %d families", err, len(mfs))
		}
	}
}
