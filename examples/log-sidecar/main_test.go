package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/examples/internal/exampletest"
	"github.com/podkit/podkit/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestLogSidecar(t *testing.T) {
	testenv.RequireRoot(t)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	var records []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "pod log-sidecar finished") {
			assert.Equal(t, "pod log-sidecar finished: phase Succeeded", line)
			continue
		}
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r), "not a JSON line: %s", line)
		records = append(records, r)
	}
	require.Len(t, records, 5, "every line, across the rotation:\n%s", out.String())
	var levels, msgs []string
	for _, r := range records {
		level, _ := r["level"].(string)
		levels = append(levels, level)
		msgs = append(msgs, r["msg"].(string))
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`, r["time"])
		assert.Equal(t, "log-sidecar", r["pod"])
	}
	assert.Equal(t, []string{"info", "warn", "", "error", "info"}, levels, "levels normalised; the bad line has none")
	assert.Equal(t, "this line is not logfmt {{{", msgs[2])
	assert.Equal(t, true, records[2]["parse_error"], "the bad line is flagged, not dropped")
	assert.Equal(t, "bob", records[3]["user"])
}

func TestManifest(t *testing.T) {
	exampletest.CheckManifest(t, ".")
}
