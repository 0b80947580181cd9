package image

import (
	"sync"
	"sync/atomic"
)

// Event says what a Progress report is about.
type Event string

const (
	// EventStart begins an operation on one image; LayersTotal and
	// BytesTotal are known from here on.
	EventStart Event = "start"
	// EventBytes reports bytes written.
	EventBytes Event = "bytes"
	// EventLayerDone reports one layer (Layer) stored; EventLayerSkipped
	// one the store already held.
	EventLayerDone    Event = "layer-done"
	EventLayerSkipped Event = "layer-skipped"
	// EventDone ends the operation on one image.
	EventDone Event = "done"
)

// Progress is one report of a Pull, Load or Import, given to the function
// set with WithProgress. A terminal shows BytesDone/BytesTotal,
// LayersDone/LayersTotal and a rate computed from successive reports.
type Progress struct {
	// Ref is the reference or the path being pulled, loaded or imported.
	Ref   string `json:"ref"`
	Event Event  `json:"event"`
	// Layer is the digest of the layer an event is about, or "".
	Layer string `json:"layer,omitempty"`
	// BytesDone counts bytes written so far, skipped layers included;
	// BytesTotal is -1 when unknown (an import).
	BytesDone   int64 `json:"bytesDone"`
	BytesTotal  int64 `json:"bytesTotal"`
	LayersDone  int   `json:"layersDone"`
	LayersTotal int   `json:"layersTotal"`
}

// tracker reports one operation's progress; its methods are safe for
// concurrent use by the goroutines writing layers.
type tracker struct {
	f           func(Progress)
	ref         string
	bytesTotal  int64
	layersTotal int
	started     bool
	bytes       atomic.Int64
	mu          sync.Mutex // serializes reports so counts never go back
	layers      int
}

func (s *Store) track(ref string) *tracker {
	return &tracker{f: s.progress, ref: ref}
}

func (t *tracker) start(layers int, bytes int64) {
	t.layersTotal, t.bytesTotal, t.started = layers, bytes, true
	t.report(EventStart, "", 0)
}

func (t *tracker) add(n int64) {
	t.bytes.Add(n)
	t.report(EventBytes, "", 0)
}

func (t *tracker) layer(digest string, skipped bool, size int64) {
	ev := EventLayerDone
	if skipped {
		ev = EventLayerSkipped
		t.bytes.Add(size)
	}
	t.report(ev, digest, 1)
}

func (t *tracker) done() { t.report(EventDone, "", 0) }

func (t *tracker) report(ev Event, layer string, layers int) {
	if t == nil || t.f == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.layers += layers
	t.f(Progress{Ref: t.ref, Event: ev, Layer: layer, BytesDone: t.bytes.Load(), BytesTotal: t.bytesTotal, LayersDone: t.layers, LayersTotal: t.layersTotal})
}
