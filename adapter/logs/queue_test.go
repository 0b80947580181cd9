package logs

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/adapter/internal/jsonenc"
)

func TestLogQueue(t *testing.T) {
	q := newLogQueue()
	require.NoError(t, q.put(Line{Text: "a"}, Line{Text: "b"}))
	require.NoError(t, q.put(Line{Text: "c"}))
	lines, closed := q.take(nil)
	assert.False(t, closed)
	assert.Equal(t, []Line{{Text: "a"}, {Text: "b"}, {Text: "c"}}, lines, "every line put, in one batch")

	// Empty: the parser waits, and the next line wakes it.
	empty, closed := q.take(lines)
	assert.Empty(t, empty)
	assert.False(t, closed)
	select {
	case <-q.ready:
		t.Fatal("woken without a line")
	default:
	}
	require.NoError(t, q.put(Line{Text: "d"}))
	select {
	case <-q.ready:
	default:
		t.Fatal("a line put while the parser waits does not wake it")
	}
	lines, _ = q.take(empty)
	assert.Equal(t, []Line{{Text: "d"}}, lines)

	_, _ = q.take(lines)
	q.close()
	<-q.ready
	lines, closed = q.take(nil)
	assert.Empty(t, lines)
	assert.True(t, closed)
}

func TestLogQueueFull(t *testing.T) {
	q := newLogQueue()
	helped := make(chan struct{}, 1)
	q.help = func() { helped <- struct{}{} }
	big := Line{Text: strings.Repeat("x", logsQueueBytes)}
	require.NoError(t, q.put(big), "one put is taken whatever its size")
	put := make(chan error, 1)
	go func() { put <- q.put(Line{Text: "next"}) }()
	<-helped // before it waits
	select {
	case err := <-put:
		t.Fatalf("put returned %v while the queue was full", err)
	case <-time.After(50 * time.Millisecond):
	}
	lines, _ := q.take(nil)
	require.Len(t, lines, 1)
	require.NoError(t, <-put, "taking makes room")
	lines, _ = q.take(lines)
	assert.Equal(t, []Line{{Text: "next"}}, lines)

	// Full of lines: once the parser has gone, put fails.
	q.help = nil
	many := make([]Line, logsQueueLines)
	require.NoError(t, q.put(many...))
	go func() { put <- q.put(Line{Text: "lost"}) }()
	time.Sleep(20 * time.Millisecond)
	q.stop()
	assert.ErrorIs(t, <-put, errLogsStopped)
	assert.ErrorIs(t, q.put(Line{Text: "after"}), errLogsStopped)
}

// logsChunkReader returns its data in reads of random sizes, with empty
// reads between them, and then err.
type logsChunkReader struct {
	data string
	rng  *rand.Rand
	err  error
}

func (r *logsChunkReader) Read(b []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	if r.rng.IntN(4) == 0 {
		return 0, nil
	}
	n := min(len(b), len(r.data), 1+r.rng.IntN(3*logsReadBuf/2))
	if r.rng.IntN(2) == 0 {
		n = min(n, 1+r.rng.IntN(300)) // some short reads
	}
	copy(b, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// TestLogsReaderLines reads lines that reads split anywhere: across reads,
// longer than the read buffer, "\r\n", empty, and a last one without a
// newline. Each is one record, in order.
func TestLogsReaderLines(t *testing.T) {
	var want []string
	var in strings.Builder
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var line string
		switch {
		case i%500 == 7:
			line = fmt.Sprintf("long %d %s", i, strings.Repeat("y", 3*logsReadBuf+i)) // pieces, joined
		case i%100 == 3:
			line = "" // skipped
		default:
			line = fmt.Sprintf("line %d %s", i, strings.Repeat("z", rng.IntN(400)))
		}
		in.WriteString(line)
		if i%10 == 1 {
			in.WriteString("\r")
		}
		if line != "" {
			want = append(want, line)
		}
		if i < 2999 {
			in.WriteString("\n")
		}
	}
	for _, seed := range []uint64{1, 2, 3} {
		var out logsSyncBuffer
		r := &logsChunkReader{data: in.String(), rng: rand.New(rand.NewPCG(seed, 0)), err: io.EOF}
		require.NoError(t, Adapter{Reader: r, Format: FormatText, MaxLineBytes: 1 << 20, Output: &out}.Run(t.Context()))
		lines := logsLines(out.String())
		require.Len(t, lines, len(want))
		for i, line := range lines {
			r := logsDecode(t, line)
			require.Equal(t, want[i], r["msg"], "record %d", i)
			require.Nil(t, r["truncated"])
		}
	}

	// Past MaxLineBytes, a line longer than the read buffer is cut, once.
	var out logsSyncBuffer
	long := strings.Repeat("w", 5*logsReadBuf)
	r := &logsChunkReader{data: "a\n" + long + "\nb\n", rng: rand.New(rand.NewPCG(4, 0)), err: io.EOF}
	require.NoError(t, Adapter{Reader: r, Format: FormatText, MaxLineBytes: logsReadBuf + 10, Output: &out}.Run(t.Context()))
	lines := logsLines(out.String())
	require.Len(t, lines, 3)
	cut := logsDecode(t, lines[1])
	assert.Equal(t, long[:logsReadBuf+10], cut["msg"])
	assert.Equal(t, true, cut["truncated"])
	assert.Equal(t, "b", logsDecode(t, lines[2])["msg"])
}

// TestLogsReaderError writes the lines read before an error, the one
// without its newline too, and returns the error.
func TestLogsReaderError(t *testing.T) {
	var out logsSyncBuffer
	r := &logsChunkReader{data: "one\ntwo\nthr", rng: rand.New(rand.NewPCG(5, 0)), err: errors.New("boom")}
	err := Adapter{Reader: r, Format: FormatText, Output: &out}.Run(t.Context())
	require.EqualError(t, err, "logs: input: boom")
	var msgs []any
	for _, line := range logsLines(out.String()) {
		msgs = append(msgs, logsDecode(t, line)["msg"])
	}
	assert.Equal(t, []any{"one", "two", "thr"}, msgs)

	// A reader that makes no progress is an error, as with bufio.
	err = Adapter{Reader: &logsChunkReader{data: "", err: nil}, Output: &out}.Run(t.Context())
	assert.ErrorIs(t, err, io.ErrNoProgress)
}

// TestLogsOutputFlushedWhenIdle checks that buffered output is written as
// soon as the input pauses, not when it ends.
func TestLogsOutputFlushedWhenIdle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Adapter{Reader: pr, Format: FormatText, OutputFile: path}.Run(t.Context()) }()
	written := func(n int) func() bool {
		return func() bool {
			data, _ := os.ReadFile(path)
			return len(logsLines(string(data))) == n
		}
	}
	_, err := io.WriteString(pw, "first\nsecond\n")
	require.NoError(t, err)
	require.Eventually(t, written(2), 5*time.Second, 5*time.Millisecond)
	_, err = io.WriteString(pw, "third\n")
	require.NoError(t, err)
	require.Eventually(t, written(3), 5*time.Second, 5*time.Millisecond)
	require.NoError(t, pw.Close())
	require.NoError(t, <-done)
}

// TestLogsRunOrder runs many multiline records through the whole adapter
// (reads of random sizes, batches, records made on several goroutines): they
// come out joined, in order, once each.
func TestLogsRunOrder(t *testing.T) {
	var in strings.Builder
	var want []string
	for i := range 20000 {
		rec := fmt.Sprintf("record %d", i)
		for j := range i % 4 {
			rec += fmt.Sprintf("\n\tat line %d", j)
		}
		want = append(want, rec)
		in.WriteString(rec + "\n")
	}
	path := filepath.Join(t.TempDir(), "out.jsonl")
	r := &logsChunkReader{data: in.String(), rng: rand.New(rand.NewPCG(6, 0)), err: io.EOF}
	require.NoError(t, Adapter{Reader: r, Format: FormatText, Multiline: &Multiline{Indented: true}, OutputFile: path}.Run(t.Context()))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := logsLines(string(data))
	require.Len(t, lines, len(want))
	for i, line := range lines {
		require.Equal(t, want[i], logsDecode(t, line)["msg"], "record %d", i)
	}
}

// TestLogsRunMatchesParse runs inputs of every kind through Run, read in
// pieces whose buffers are reused (the lines are views of them), and
// compares the records with those Parse makes of the same lines: a text
// that the adapter kept past its batch (a held partial or multiline
// record, a CRI stream) would have changed under it.
func TestLogsRunMatchesParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	word := func() string {
		return []string{"alpha", "beta", `"quoted"`, "é", "x=1", "long " + strings.Repeat("w", 300)}[rng.IntN(6)]
	}
	gen := map[string]func(i int) string{
		"json": func(i int) string {
			return fmt.Sprintf(`{"level":"info","ts":%d.25,"msg":%q,"i":%d,"w":%q}`, 1732554123+i, word(), i, word())
		},
		"logfmt": func(i int) string { return fmt.Sprintf(`level=warn msg=%q i=%d w=%s`, word(), i, "v"+word()[:1]) },
		"text":   func(i int) string { return fmt.Sprintf("line %d %s", i, word()) },
		"cri": func(i int) string {
			stream, tag := []string{"stdout", "stderr"}[i%2], []string{"P", "F", "F"}[i%3]
			return fmt.Sprintf(`2024-11-25T17:02:%02d.%09dZ %s %s {"msg":"%d %s`, i%60, i, stream, tag, i, strings.ReplaceAll(word(), `"`, "'")) + `"}`
		},
		"multiline": func(i int) string {
			if i%3 > 0 {
				return fmt.Sprintf("\tat frame %d %s", i, word())
			}
			return fmt.Sprintf("Exception %d %s", i, word())
		},
	}
	configs := map[string]Adapter{
		"json":      {Format: FormatJSON},
		"logfmt":    {Format: FormatLogfmt},
		"text":      {Format: FormatText, MaxLineBytes: 200},
		"cri":       {Format: FormatCRI},
		"multiline": {Format: FormatText, Multiline: &Multiline{Indented: true, FlushAfter: time.Hour}},
	}
	for name, l := range configs {
		t.Run(name, func(t *testing.T) {
			var lines []string
			var in strings.Builder
			for i := 0; in.Len() < 2<<20; i++ {
				lines = append(lines, gen[name](i))
				in.WriteString(lines[len(lines)-1] + "\n")
			}
			want := logsJSON(t, l, lines...)
			var out logsSyncBuffer
			l.Reader = &logsChunkReader{data: in.String(), rng: rand.New(rand.NewPCG(10, 0)), err: io.EOF}
			l.Output = &out
			require.NoError(t, l.Run(t.Context()))
			got := logsLines(out.String())
			require.Len(t, got, len(want))
			ref := logsRef.Format(jsonenc.TimeLayout)
			for i := range want {
				w, g := logsDecode(t, want[i]), logsDecode(t, got[i])
				if w["time"] == ref { // the time it was read
					delete(w, "time")
					delete(g, "time")
				}
				require.Equal(t, w, g, "record %d", i)
			}
		})
	}
}
