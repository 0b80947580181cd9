package timeline_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/timeline"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestTimelineOfAJobWithSidecar(t *testing.T) {
	testenv.RequireRoot(t)
	p, err := pod.New("timeline", pod.Spec{
		RestartPolicy: pod.RestartNever,
		InitContainers: []pod.Container{
			{Name: "prepare", Command: []string{"sh", "-c", "sleep 0.1"}},
			{Name: "proxy", Command: []string{"sleep", "1000"}, RestartPolicy: pod.RestartAlways},
		},
		Containers: []pod.Container{{Name: "job", Command: []string{"sh", "-c", "sleep 0.3"}}},
	})
	require.NoError(t, err)
	rec := timeline.Record(context.Background(), p)
	require.NoError(t, p.Run(context.Background()))
	tl := timeline.Build(rec.Events())

	var names []string
	for _, r := range tl.Rows {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"infra", "prepare", "proxy", "job"}, names, "rows in the order the containers started")
	row := func(name string) timeline.Row {
		for _, r := range tl.Rows {
			if r.Name == name {
				return r
			}
		}
		t.Fatalf("no row %s", name)
		return timeline.Row{}
	}
	// The sidecar started after the init container ended, ran until after
	// the job ended, and got a stop signal then.
	prepareEnd := row("prepare").Spans[1].End
	proxy := row("proxy")
	assert.False(t, proxy.Spans[1].Start.Before(prepareEnd))
	var signalled bool
	for _, m := range proxy.Marks {
		signalled = signalled || m.Kind == "signal" && m.Label == "SIGTERM"
	}
	assert.True(t, signalled)
	assert.Equal(t, timeline.Terminated, proxy.Spans[len(proxy.Spans)-1].State)
	assert.False(t, tl.Grace.IsZero(), "the sidecar's stop is shaded")

	var svg bytes.Buffer
	require.NoError(t, tl.Render(&svg))
	// Well-formed XML, with a bar per state.
	dec := xml.NewDecoder(bytes.NewReader(svg.Bytes()))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	for _, class := range []string{`class="ready"`, `class="running"`, `class="waiting"`, `class="terminated"`, `class="signal"`, `class="grace"`} {
		assert.Contains(t, svg.String(), class)
	}

	// A real renderer draws it.
	testenv.RequireTool(t, "rsvg-convert")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "timeline.svg"), filepath.Join(dir, "timeline.png")
	require.NoError(t, os.WriteFile(in, svg.Bytes(), 0o644))
	msg, err := exec.Command("rsvg-convert", "-o", out, in).CombinedOutput()
	require.NoError(t, err, string(msg))
	png, err := os.ReadFile(out)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")), "not a PNG")
	assert.Greater(t, len(png), 5000, "an empty picture")
	assert.False(t, strings.Contains(string(msg), "rror"), string(msg))
}

func TestEmpty(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, timeline.Render(&b, nil))
	assert.Contains(t, b.String(), "<svg")
}
