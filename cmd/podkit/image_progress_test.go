package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/podkit/podkit/image"
)

// The progress line shows layers, bytes and rate, rewrites itself in place
// and ends with a newline when the image is done.
func TestProgressBar(t *testing.T) {
	var out strings.Builder
	start := time.Now()
	b := &progressBar{w: &out, start: start, now: func() time.Time { return start.Add(2 * time.Second) }}
	b.report(image.Progress{Ref: "busybox:1", Event: image.EventStart, BytesTotal: 4_000_000, LayersTotal: 2})
	b.report(image.Progress{Ref: "busybox:1", Event: image.EventLayerDone, BytesDone: 2_000_000, BytesTotal: 4_000_000, LayersDone: 1, LayersTotal: 2})
	b.report(image.Progress{Ref: "busybox:1", Event: image.EventDone, BytesDone: 4_000_000, BytesTotal: 4_000_000, LayersDone: 2, LayersTotal: 2})
	b.finish()
	lines := strings.Split(out.String(), "\r\033[K")
	assert.Equal(t, "", lines[0])
	assert.Equal(t, "busybox:1: layers 0/2, 0 B of 4.0 MB, 0 B/s", lines[1])
	assert.Regexp(t, `^busybox:1: layers 1/2, 2.0 MB of 4.0 MB, 1.0 MB/s$`, lines[2])
	assert.Regexp(t, `^busybox:1: layers 2/2, 4.0 MB of 4.0 MB, 2.0 MB/s\n$`, lines[3])

	// An import does not know its total.
	out.Reset()
	b = &progressBar{w: &out, start: start, now: time.Now}
	b.report(image.Progress{Ref: "debian:12", Event: image.EventStart, BytesTotal: -1})
	b.finish()
	assert.Contains(t, out.String(), "0 B of ?")
	assert.True(t, strings.HasSuffix(out.String(), "\n"), "an unfinished line is ended")
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 69_000_000: "69.0 MB", 184_300_000_000: "184.3 GB"} {
		assert.Equal(t, want, humanBytes(n))
	}
}
