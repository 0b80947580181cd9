package logs

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// logsRef is the time the test lines are written at.
var logsRef = time.Date(2024, 11, 25, 18, 0, 0, 0, time.UTC)

// logsSyncBuffer is a bytes.Buffer safe for a writer and a reader.
type logsSyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logsSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logsSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logsNewParser returns a parser of l whose clock is stopped at logsRef.
func logsNewParser(t testing.TB, l Adapter) *Parser {
	t.Helper()
	p, err := NewParser(l)
	require.NoError(t, err)
	p.now = func() time.Time { return logsRef }
	return p
}

// logsJSON parses lines (each at logsRef) with l, flushes, and returns the
// records as JSON.
func logsJSON(t testing.TB, l Adapter, lines ...string) []string {
	t.Helper()
	p := logsNewParser(t, l)
	var out []string
	for _, line := range lines {
		for _, r := range p.Parse(Line{Text: line, Time: logsRef}) {
			out = append(out, string(r.AppendJSON(nil)))
		}
	}
	for _, r := range p.Flush() {
		out = append(out, string(r.AppendJSON(nil)))
	}
	return out
}

// logsDecode decodes a record, numbers as json.Number.
func logsDecode(t testing.TB, record string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(record))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m), "record %s", record)
	return m
}

// logsLines splits JSON lines.
func logsLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
