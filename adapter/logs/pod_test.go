package logs

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/pod/podtest"
)

// logsMixedApp prints JSON lines, garbage, a line with invalid UTF-8 and
// a NUL byte to stdout and stderr, then waits.
const logsMixedApp = `echo '{"level":"info","ts":1732554123.5,"msg":"started","port":8080}'
echo 'plain garbage'
echo '{"level":"WARNING","msg":"on stderr"}' >&2
printf '{"level":"error","msg":"bad \377 byte"}\n'
printf 'nul \000 byte\n'
echo '{"level":"error","msg":"cut'
echo '{"level":"debug","msg":"last"}'
sleep 1000`

// TestLogsAdaptsContainer runs an application that prints mixed lines, and
// the adapter in-process beside it.
func TestLogsAdaptsContainer(t *testing.T) {
	out := &logsSyncBuffer{}
	adapter, err := Adapter{FromContainer: "app", Format: FormatJSON, Output: out, Enrich: true}.Container("adapter")
	require.NoError(t, err)
	podtest.Start(t, "logs-mixed", pod.Spec{
		InitContainers: []pod.Container{adapter},
		Containers:     []pod.Container{{Name: "app", Command: []string{"sh", "-c", logsMixedApp}}},
	})

	require.Eventually(t, func() bool { return len(logsLines(out.String())) == 7 }, 10*time.Second, 10*time.Millisecond,
		"records: %s", out)
	host, _ := os.Hostname()
	var got []map[string]any
	for _, line := range logsLines(out.String()) {
		r := logsDecode(t, line)
		assert.Equal(t, "logs-mixed", r["pod"])
		assert.Equal(t, "app", r["container"])
		assert.Equal(t, host, r["host"])
		assert.NotEmpty(t, r["time"])
		got = append(got, r)
	}
	// stdout and stderr are read by two goroutines: find the stderr line.
	byMsg := map[string]map[string]any{}
	for _, r := range got {
		byMsg[r["msg"].(string)] = r
	}
	started := byMsg["started"]
	require.NotNil(t, started, "records: %s", out)
	assert.Equal(t, "2024-11-25T17:02:03.500000000Z", started["time"])
	assert.Equal(t, "info", started["level"])
	assert.Equal(t, "stdout", started["stream"])
	assert.Equal(t, json.Number("8080"), started["port"])

	assert.Equal(t, true, byMsg["plain garbage"]["parse_error"])
	assert.Equal(t, "warn", byMsg["on stderr"]["level"])
	assert.Equal(t, "stderr", byMsg["on stderr"]["stream"])
	assert.Equal(t, "error", byMsg["bad \ufffd byte"]["level"])
	assert.Equal(t, true, byMsg["nul \x00 byte"]["parse_error"])
	assert.Equal(t, true, byMsg[`{"level":"error","msg":"cut`]["parse_error"])
	assert.Equal(t, "debug", byMsg["last"]["level"])
}

// TestLogsDefaultOutput writes the records to the adapter's own log, and
// follows the application across a restart. The application marks its
// first run in an emptyDir volume, which outlives its restarts (its other
// writes do not).
func TestLogsDefaultOutput(t *testing.T) {
	app := `if [ -e /run/state/ran ]; then echo 'level=info msg="second run"'; sleep 1000; fi
touch /run/state/ran; echo 'level=error msg="first run"'; exit 1`
	adapter, err := Adapter{FromContainer: "app", Format: FormatLogfmt}.Container("adapter")
	require.NoError(t, err)
	p := podtest.Start(t, "logs-default", pod.Spec{
		Volumes:        []pod.Volume{{Name: "state", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{adapter},
		Containers: []pod.Container{{Name: "app", Command: []string{"sh", "-c", app},
			VolumeMounts: []pod.VolumeMount{{Name: "state", MountPath: "/run/state"}}}},
	})
	var lines []string
	require.Eventually(t, func() bool {
		entries, err := p.Logs("adapter", pod.LogOptions{})
		require.NoError(t, err)
		lines = lines[:0]
		for _, e := range entries {
			lines = append(lines, e.Text)
		}
		return len(lines) == 2
	}, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, "first run", logsDecode(t, lines[0])["msg"])
	assert.Equal(t, "error", logsDecode(t, lines[0])["level"])
	assert.Equal(t, "second run", logsDecode(t, lines[1])["msg"])
	c, _ := p.Status().Container("adapter")
	assert.Zero(t, c.RestartCount)
}

// TestLogsLastLines: an application that prints and exits; the pod stops
// the adapter after it, and the adapter still writes its last lines.
func TestLogsLastLines(t *testing.T) {
	out := &logsSyncBuffer{}
	adapter, err := Adapter{FromContainer: "app", Format: FormatText, Output: out,
		Multiline: &Multiline{Indented: true, FlushAfter: time.Hour}}.Container("adapter")
	require.NoError(t, err)
	p := podtest.Start(t, "logs-last", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		InitContainers: []pod.Container{adapter},
		Containers: []pod.Container{{Name: "app", Command: []string{"sh", "-c",
			`for i in $(seq 1 200); do echo "line $i"; done; echo 'panic: boom'; printf '\tmain.go:1\n'`}}},
	})
	require.NoError(t, p.Wait())
	lines := logsLines(out.String())
	require.Len(t, lines, 201)
	assert.Equal(t, "line 1", logsDecode(t, lines[0])["msg"])
	assert.Equal(t, "panic: boom\n\tmain.go:1", logsDecode(t, lines[200])["msg"], "the held record is written at the stop")
}

// TestLogsFilesInVolume adapts files an application writes into a volume,
// across a rotation by rename.
func TestLogsFilesInVolume(t *testing.T) {
	out := &logsSyncBuffer{}
	adapter, err := Adapter{
		Files:  &Files{Volume: "logs", Patterns: []string{"*.log"}, FromStart: true, PollInterval: 50 * time.Millisecond},
		Format: FormatLogfmt, Output: out, Types: map[string]FieldType{"n": Int},
	}.Container("adapter")
	require.NoError(t, err)
	// A file created and rotated away before the adapter first looked would
	// not be seen (see internal/tail): the app gives it time to start.
	app := `cd /mnt; sleep 0.5
echo 'level=info n=1 msg=one' >> app.log; echo 'level=info n=2 msg=two' >> app.log
mv app.log app.log.1; echo 'level=warn n=3 msg=three' >> app.log.1
echo 'not logfmt' >> app.log; echo 'level=error n=5 msg=five' >> app.log
sleep 1000`
	podtest.Start(t, "logs-files", pod.Spec{
		Volumes:        []pod.Volume{{Name: "logs", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{adapter},
		Containers: []pod.Container{{Name: "app", Command: []string{"sh", "-c", app},
			VolumeMounts: []pod.VolumeMount{{Name: "logs", MountPath: "/mnt"}}}},
	})
	require.Eventually(t, func() bool { return len(logsLines(out.String())) == 5 }, 10*time.Second, 20*time.Millisecond,
		"records: %s", out)
	time.Sleep(200 * time.Millisecond)
	lines := logsLines(out.String())
	require.Len(t, lines, 5, "a line was adapted twice")
	var msgs []string
	var ns []any
	for _, line := range lines {
		r := logsDecode(t, line)
		assert.Equal(t, "app.log", r["file"], "one stream across the rotation")
		msgs = append(msgs, r["msg"].(string))
		ns = append(ns, r["n"])
	}
	assert.Equal(t, []string{"one", "two", "three", "not logfmt", "five"}, msgs)
	assert.Equal(t, []any{json.Number("1"), json.Number("2"), json.Number("3"), nil, json.Number("5")}, ns, "cast to int")
	assert.Equal(t, true, logsDecode(t, lines[3])["parse_error"])
}

// TestLogsFilesLongLines cuts a line of megabytes that a file holds.
func TestLogsFilesLongLines(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 3<<20)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.log"),
		[]byte(`{"msg":"before"}`+"\n"+long+"\n"+`{"msg":"after"}`+"\n"), 0o644))
	out := &logsSyncBuffer{}
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(t.Context())
	go func() {
		done <- Adapter{Files: &Files{Patterns: []string{filepath.Join(dir, "*.log")}, FromStart: true},
			Format: FormatJSON, MaxLineBytes: 1000, Output: out}.Run(runCtx)
	}()
	require.Eventually(t, func() bool { return len(logsLines(out.String())) == 3 }, 10*time.Second, 10*time.Millisecond)
	stop()
	require.NoError(t, <-done)
	lines := logsLines(out.String())
	assert.Equal(t, "before", logsDecode(t, lines[0])["msg"])
	cut := logsDecode(t, lines[1])
	assert.Equal(t, true, cut["truncated"])
	assert.Equal(t, true, cut["parse_error"])
	assert.Len(t, cut["msg"], 1000)
	assert.Equal(t, "after", logsDecode(t, lines[2])["msg"])
}

// TestLogsInPodErrors: a container that the pod does not have, and an
// input that ends in-process.
func TestLogsInPodErrors(t *testing.T) {
	out := &logsSyncBuffer{}
	reader, err := Adapter{Reader: strings.NewReader("a\nb"), Format: FormatText, Output: out}.Container("reader")
	require.NoError(t, err)
	unknown, err := Adapter{FromContainer: "nope", Output: out}.Container("unknown")
	require.NoError(t, err)
	stdin, err := Adapter{Stdin: true, Output: out}.Container("stdin")
	require.NoError(t, err)
	p := podtest.Start(t, "logs-errors", pod.Spec{
		InitContainers: []pod.Container{
			reader,
			unknown,
			stdin,
		},
		Containers: []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	}, pod.WithBackoff(pod.Backoff{Initial: time.Hour, Max: time.Hour}))
	for name, want := range map[string]string{
		"unknown": `logs: fromContainer: pod "logs-errors": logs: no such container: "nope"`,
		"stdin":   "logs: stdin: only in the process form, not in-process",
	} {
		var c pod.ContainerStatus
		require.Eventually(t, func() bool {
			c, _ = p.Status().Container(name)
			return c.LastTerminationState.Terminated != nil
		}, 10*time.Second, 10*time.Millisecond, name)
		assert.Equal(t, want, c.LastTerminationState.Terminated.Message, name)
	}
	require.Eventually(t, func() bool { return len(logsLines(out.String())) == 2 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	c, _ := p.Status().Container("reader")
	assert.Zero(t, c.RestartCount, "a reader that ended is not restarted")
	assert.True(t, c.Ready)
}
