package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"
)

const logsMixed = `{"level":"info","ts":1732554123.5,"msg":"started","port":8080}
garbage, not JSON
{"level":"WARNING","ts":1732554124,"msg":"slow","ms":1500}
{"level":"error","msg":"cut
`

func TestLogsRunToWriter(t *testing.T) {
	var out bytes.Buffer
	reg := prometheus.NewRegistry()
	err := Adapter{Reader: strings.NewReader(logsMixed), Format: FormatJSON, Output: &out, Registerer: reg}.Run(t.Context())
	require.NoError(t, err)
	lines := logsLines(out.String())
	require.Len(t, lines, 4)
	assert.Equal(t, `{"time":"2024-11-25T17:02:03.500000000Z","level":"info","msg":"started","port":8080}`, lines[0])
	assert.Equal(t, true, logsDecode(t, lines[1])["parse_error"])
	assert.Equal(t, "garbage, not JSON", logsDecode(t, lines[1])["msg"])
	assert.Equal(t, `{"time":"2024-11-25T17:02:04.000000000Z","level":"warn","msg":"slow","ms":1500}`, lines[2])
	assert.Equal(t, `{"level":"error","msg":"cut`, logsDecode(t, lines[3])["msg"])

	// The metrics are unregistered once Run has returned; counted meanwhile.
	families, err := reg.Gather()
	require.NoError(t, err)
	assert.Empty(t, families)
}

func TestLogsMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	var out logsSyncBuffer
	go func() {
		done <- Adapter{Reader: pr, Format: FormatJSON, Output: &out, Registerer: reg, MaxLineBytes: 11}.Run(t.Context())
	}()
	_, err := io.WriteString(pw, "{\"msg\":\"a\"}\nnot json\n\n"+strings.Repeat("x", 25)+"\n\xff\n")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(logsLines(out.String())) == 4 }, 5*time.Second, 5*time.Millisecond)
	expected := `
# HELP podkit_adapter_log_dropped_bytes_total Bytes cut off lines longer than the limit.
# TYPE podkit_adapter_log_dropped_bytes_total counter
podkit_adapter_log_dropped_bytes_total{adapter="logs"} 14
# HELP podkit_adapter_log_parse_errors_total Lines that did not parse, written raw, by format.
# TYPE podkit_adapter_log_parse_errors_total counter
podkit_adapter_log_parse_errors_total{adapter="logs",format="json"} 3
# HELP podkit_adapter_log_records_total Records written.
# TYPE podkit_adapter_log_records_total counter
podkit_adapter_log_records_total{adapter="logs"} 4
# HELP podkit_adapter_log_sanitized_total Records repaired or skipped, by kind (truncated, invalid_utf8, nul, field_error, empty).
# TYPE podkit_adapter_log_sanitized_total counter
podkit_adapter_log_sanitized_total{adapter="logs",kind="empty"} 1
podkit_adapter_log_sanitized_total{adapter="logs",kind="invalid_utf8"} 1
podkit_adapter_log_sanitized_total{adapter="logs",kind="truncated"} 1
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(expected)))
	require.NoError(t, pw.Close())
	require.NoError(t, <-done)

	// An adapter of the same name as one that runs counts in the
	// registered counter, and leaves it registered for its owner.
	records := prometheus.NewCounter(prometheus.CounterOpts{Name: "podkit_adapter_log_records_total", Help: "Records written.",
		ConstLabels: prometheus.Labels{"adapter": "logs"}})
	require.NoError(t, reg.Register(records))
	require.NoError(t, Adapter{Reader: strings.NewReader("a\n"), Registerer: reg, Output: io.Discard}.Run(t.Context()))
	assert.Equal(t, 1.0, testutil.ToFloat64(records))
	assert.False(t, reg.Register(records) == nil, "still registered")

	// A collector of the same name that is not equal is an error.
	reg = prometheus.NewRegistry()
	require.NoError(t, reg.Register(prometheus.NewCounter(prometheus.CounterOpts{Name: "podkit_adapter_log_records_total",
		Help: "Other help.", ConstLabels: prometheus.Labels{"adapter": "logs"}})))
	err = Adapter{Reader: strings.NewReader(""), Registerer: reg, Output: io.Discard}.Run(t.Context())
	assert.ErrorContains(t, err, "logs: metrics: ")
}

func TestLogsRunToFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out", "app.jsonl")
	require.NoError(t, Adapter{Reader: strings.NewReader("one\n"), Format: FormatText, OutputFile: path}.Run(t.Context()))
	require.NoError(t, Adapter{Reader: strings.NewReader("two"), Format: FormatText, OutputFile: path}.Run(t.Context()))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := logsLines(string(data))
	require.Len(t, lines, 2, "appended")
	assert.Equal(t, "one", logsDecode(t, lines[0])["msg"])
	assert.Equal(t, "two", logsDecode(t, lines[1])["msg"])

	err = Adapter{Reader: strings.NewReader(""), OutputFile: filepath.Join(path, "not-a-dir", "x")}.Run(t.Context())
	assert.ErrorContains(t, err, "logs: outputFile: ")

	// Outside a pod, the process form finds its volumes where an exported
	// pod mounts them.
	vols := t.TempDir()
	t.Setenv("PODKIT_VOLUMES_DIR", vols)
	require.NoError(t, Adapter{Reader: strings.NewReader("in a volume\n"), Format: FormatText,
		OutputVolume: "logs", OutputFile: "adapted/app.jsonl"}.Run(t.Context()))
	data, err = os.ReadFile(filepath.Join(vols, "logs", "adapted", "app.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, "in a volume", logsDecode(t, string(data))["msg"])
}

func TestLogsRunToZapCore(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	in := `{"level":"warn","ts":1732554123,"msg":"slow","ms":1500,"ratio":0.5,"user":{"id":1},"ok":true,"none":null}
{"level":"fatal","msg":"does not exit"}
{"level":"audit","msg":"custom level"}
not json
`
	require.NoError(t, Adapter{Reader: strings.NewReader(in), Format: FormatJSON, ZapCore: core}.Run(t.Context()))
	entries := logs.AllUntimed()
	require.Len(t, entries, 4)
	assert.Equal(t, zapcore.WarnLevel, entries[0].Level)
	assert.Equal(t, "slow", entries[0].Message)
	assert.Equal(t, map[string]any{"ms": int64(1500), "ratio": 0.5, "user": map[string]any{"id": map[string]any{}}, "ok": true, "none": nil},
		logsWithoutNumbers(entries[0].ContextMap()))
	all := logs.All()
	assert.Equal(t, time.Unix(1732554123, 0).UTC(), all[0].Time.UTC())
	assert.Equal(t, zapcore.FatalLevel, entries[1].Level)
	assert.Equal(t, zapcore.InfoLevel, entries[2].Level)
	assert.Equal(t, "audit", entries[2].ContextMap()["app_level"])
	assert.Equal(t, true, entries[3].ContextMap()["parse_error"])
	assert.Equal(t, "not json", entries[3].Message)

	// A core's level filters.
	core, logs = observer.New(zapcore.ErrorLevel)
	require.NoError(t, Adapter{Reader: strings.NewReader(in), Format: FormatJSON, ZapCore: core}.Run(t.Context()))
	assert.Equal(t, 1, logs.Len())
}

// logsWithoutNumbers replaces the json.Numbers zap reflects into objects,
// whose encoding the observer does not keep, with empty maps.
func logsWithoutNumbers(m map[string]any) map[string]any {
	if u, ok := m["user"].(map[string]any); ok {
		for k := range u {
			u[k] = map[string]any{}
		}
	}
	return m
}

type logsFailingWriter struct{ n int }

func (w *logsFailingWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestLogsOutputFailure(t *testing.T) {
	in := strings.Repeat("line\n", 10000)
	err := Adapter{Reader: strings.NewReader(in), Format: FormatText, Output: &logsFailingWriter{n: 3}}.Run(t.Context())
	assert.EqualError(t, err, "logs: output: disk full")
}

func TestLogsReaderStops(t *testing.T) {
	t.Run("with a deadline", func(t *testing.T) {
		r, w, err := os.Pipe()
		require.NoError(t, err)
		defer r.Close()
		defer w.Close()
		ctx, cancel := context.WithCancel(t.Context())
		var out logsSyncBuffer
		done := make(chan error, 1)
		go func() {
			done <- Adapter{Reader: r, Format: FormatText, Output: &out, Multiline: &Multiline{Indented: true, FlushAfter: time.Hour}}.Run(ctx)
		}()
		_, err = w.WriteString("held\n\tuntil the end\n")
		require.NoError(t, err)
		time.Sleep(50 * time.Millisecond)
		assert.Empty(t, out.String(), "the multiline record waits for its next line")
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return once its context was done")
		}
		assert.Equal(t, "held\n\tuntil the end", logsDecode(t, out.String())["msg"], "written at the end")
	})
	t.Run("without a deadline", func(t *testing.T) {
		pr, pw := io.Pipe()
		ctx, cancel := context.WithCancel(t.Context())
		var out logsSyncBuffer
		done := make(chan error, 1)
		go func() { done <- Adapter{Reader: pr, Format: FormatText, Output: &out}.Run(ctx) }()
		cancel()
		_, err := io.WriteString(pw, "last\nmore\n")
		require.NoError(t, err)
		require.NoError(t, <-done, "returns after the next read")
		assert.Len(t, logsLines(out.String()), 2)
		pw.Close()
	})
	t.Run("multiline flushed when quiet", func(t *testing.T) {
		pr, pw := io.Pipe()
		var out logsSyncBuffer
		done := make(chan error, 1)
		go func() {
			done <- Adapter{Reader: pr, Format: FormatText, Output: &out, Multiline: &Multiline{Indented: true, FlushAfter: 20 * time.Millisecond}}.Run(t.Context())
		}()
		_, err := io.WriteString(pw, "panic: boom\n\tmain.go:1\n")
		require.NoError(t, err)
		require.Eventually(t, func() bool { return out.String() != "" }, 5*time.Second, 5*time.Millisecond)
		assert.Equal(t, "panic: boom\n\tmain.go:1", logsDecode(t, out.String())["msg"])
		pw.Close()
		require.NoError(t, <-done)
	})
}

// TestLogsStdin runs the process form's input: the test puts a pipe in
// place of its standard input.
func TestLogsStdin(t *testing.T) {
	saved, err := unix.Dup(0)
	require.NoError(t, err)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, unix.Dup2(int(r.Fd()), 0))
	r.Close()
	defer func() {
		require.NoError(t, unix.Dup2(saved, 0))
		unix.Close(saved)
	}()

	ctx, cancel := context.WithCancel(t.Context())
	var out logsSyncBuffer
	done := make(chan error, 1)
	go func() { done <- Adapter{Stdin: true, Format: FormatLogfmt, Output: &out}.Run(ctx) }()
	_, err = w.WriteString("level=info msg=piped\n")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return out.String() != "" }, 5*time.Second, 5*time.Millisecond)
	// The writer stays open: the stop interrupts the read.
	cancel()
	require.NoError(t, <-done)
	w.Close()
	assert.Equal(t, "piped", logsDecode(t, out.String())["msg"])
	flags, err := unix.FcntlInt(0, unix.F_GETFL, 0)
	require.NoError(t, err)
	assert.Zero(t, flags&unix.O_NONBLOCK, "standard input is blocking again")
}

// logsLineWriter records each Write.
type logsLineWriter struct{ writes []string }

func (w *logsLineWriter) Write(b []byte) (int, error) {
	w.writes = append(w.writes, string(b))
	return len(b), nil
}

// TestLogsWriterSinkShares makes the records of many jobs on several
// encoders at once: the records come out in the order of the jobs, each
// once, the same as made one by one, and counted.
func TestLogsWriterSinkShares(t *testing.T) {
	var lines []string
	for i := range 1001 {
		switch {
		case i%97 == 0:
			lines = append(lines, "  ") // no record
		case i%13 == 0:
			lines = append(lines, fmt.Sprintf(`not json %d`, i))
		default:
			lines = append(lines, fmt.Sprintf(`{"level":"info","ts":%d.5,"msg":"m%d","i":%d}`, 1732554123+i, i, i))
		}
	}
	want := logsJSON(t, Adapter{Format: FormatJSON}, lines...)
	for _, buffered := range []bool{false, true} {
		for _, encoders := range []int{1, 2, 3, 8} {
			t.Run(fmt.Sprintf("buffered=%v,encoders=%d", buffered, encoders), func(t *testing.T) {
				p := logsNewParser(t, Adapter{Format: FormatJSON})
				m := logsTestMetrics(t, p)
				w := &logsLineWriter{}
				s := newWriterSink(w, buffered, nil)
				s.enc = make([]*logEncoder, encoders)
				for i := range s.enc {
					s.enc[i] = &logEncoder{}
				}
				for _, line := range lines {
					p.parseLine(Line{Text: line, Time: logsRef}, logsRef)
				}
				require.Len(t, p.jobs, len(lines))
				require.NoError(t, s.write(p, p.jobs))
				require.NoError(t, s.close())
				out := strings.Join(w.writes, "")
				assert.Equal(t, strings.Join(want, "\n")+"\n", out)
				if !buffered {
					assert.Len(t, w.writes, len(want), "a Write per record")
				}
				assert.Equal(t, float64(len(want)), testutil.ToFloat64(m.records))
				assert.Equal(t, float64(76), testutil.ToFloat64(m.parseErrors.WithLabelValues("json")))
			})
		}
	}
}

// TestLogGrowPipe enlarges a pipe's buffer, and leaves a file alone.
func TestLogGrowPipe(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	size := func(f *os.File) int {
		n, err := unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0)
		require.NoError(t, err)
		return n
	}
	require.Less(t, size(w), logsPipeSize)
	logGrowPipe(w)
	assert.Equal(t, logsPipeSize, size(w))

	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	logGrowPipe(f) // not a pipe: nothing to do, nothing fails
	_, err = unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0)
	assert.Error(t, err)
}

// TestLogsBufferedOutputFailure fails the writes of a buffered sink, which
// happen on its own goroutine: the failure comes back from a later write,
// or from close, and nothing is written after it.
func TestLogsBufferedOutputFailure(t *testing.T) {
	p := logsNewParser(t, Adapter{Format: FormatText})
	w := &logsFailingWriter{n: 2}
	s := newWriterSink(w, true, nil)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		for range 1000 {
			p.parseLine(Line{Text: strings.Repeat("x", 100), Time: logsRef}, logsRef)
		}
		err = s.write(p, p.jobs)
		p.clearJobs()
	}
	assert.EqualError(t, err, "disk full", "a later write fails")
	assert.EqualError(t, s.close(), "disk full")
	assert.Zero(t, w.n)
}

// TestLogWriteAll writes many buffers, some empty, more than a writev
// takes and than a pipe holds, to a pipe (non-blocking: writes wait for
// room) and to a writer that is not a file.
func TestLogWriteAll(t *testing.T) {
	var bufs [][]byte
	var want bytes.Buffer
	for i := range 3000 {
		b := bytes.Repeat([]byte{byte('a' + i%26)}, (i*37)%2000)
		bufs = append(bufs, b)
		want.Write(b)
	}
	saved := slices.Clone(bufs)

	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	got := make(chan []byte)
	go func() {
		data, _ := io.ReadAll(r)
		got <- data
	}()
	require.NoError(t, logWriteAll(w, bufs))
	require.NoError(t, w.Close())
	assert.Equal(t, want.Bytes(), <-got)
	assert.Equal(t, saved, bufs, "the buffers are as they were")

	var other bytes.Buffer
	require.NoError(t, logWriteAll(&other, bufs))
	assert.Equal(t, want.Bytes(), other.Bytes())

	assert.ErrorContains(t, logWriteAll(w, bufs), "write |1: use of closed file")

	// No reader: a pipe other than standard output fails with EPIPE.
	r, w, err = os.Pipe()
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, r.Close())
	assert.ErrorIs(t, logWriteAll(w, bufs), unix.EPIPE)
}

// TestLogEncodePlain checks that the records of passthrough are written
// as the records made of the same lines are, and counted alike.
func TestLogEncodePlain(t *testing.T) {
	lines := []Line{{Text: "plain"}, {Text: "  "}, {Text: "\ufeffbom"}, {Text: "cr\r"},
		{Text: strings.Repeat("long ", 10)}, {Text: `{"quoted":"json\\n"}`}, {Text: "bad \xff utf8 \x00"},
		{Text: "at a time", Time: logsRef.Add(time.Second)}}
	var outs [2]string
	var metrics [2]*logMetrics
	for k, plain := range []bool{false, true} {
		p := logsNewParser(t, Adapter{Format: FormatText, MaxLineBytes: 20})
		metrics[k] = logsTestMetrics(t, p)
		require.True(t, p.plain())
		var e logEncoder
		var j logJob
		for i := range lines {
			p.wholeLine(&j, &lines[i], logsRef)
			if plain {
				e.encodePlain(p, &j)
			} else {
				e.encodeJob(p, &j)
			}
		}
		outs[k] = string(e.buf)
		assert.Len(t, e.ends, len(lines)-1, "a record a line but the blank one")
	}
	assert.Equal(t, outs[0], outs[1])
	for _, kind := range []string{"empty", "truncated", "invalid_utf8", "nul"} {
		assert.Equal(t, testutil.ToFloat64(metrics[0].sanitizedVec.WithLabelValues(kind)),
			testutil.ToFloat64(metrics[1].sanitizedVec.WithLabelValues(kind)), kind)
	}
	assert.False(t, logsNewParser(t, Adapter{Format: FormatText, Enrich: true}).plain())
	assert.False(t, logsNewParser(t, Adapter{Format: FormatText, Drop: []string{"time"}}).plain())
	assert.False(t, logsNewParser(t, Adapter{Format: FormatAuto}).plain())
}
