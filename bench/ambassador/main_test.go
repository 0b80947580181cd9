package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/testenv"
)

func TestMain(m *testing.M) {
	// The benchmark re-executes its own binary, here the test binary, for
	// the upstream server, the load generator and the Go proxies.
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// shortConfig is a run of a fraction of a second per test, enough to see
// every part work.
func shortConfig(variants ...string) config {
	cfg := defaultConfig()
	cfg.Variants = variants
	cfg.Rounds = 1
	cfg.Conns = 2
	cfg.Duration = 300 * time.Millisecond
	cfg.Warmup = 100
	cfg.Iters = 500
	cfg.Install = false
	cfg.MaxOthers = 1 // other tests may run meanwhile: measure anyway
	return cfg
}

// TestSmoke runs the benchmark in a very short mode: direct and podkit, and
// HAProxy and socat where installed. Under CI=true it installs them first
// (as root, with apt-get, as the benchmark does) and a missing one fails
// the test.
func TestSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := shortConfig("direct", "podkit")
	ci := os.Getenv("CI") == "true"
	if ci {
		testenv.RequireRoot(t)
		require.NoError(t, ensureTools(ctx, config{Variants: []string{"haproxy", "socat"}, Install: true}, io.Discard))
	}
	for _, tool := range []string{"haproxy", "socat"} {
		if _, err := exec.LookPath(tool); err != nil && !ci {
			t.Logf("%s is not installed: its variant is left out", tool)
			continue
		}
		testenv.RequireTool(t, tool)
		cfg.Variants = append(cfg.Variants, tool)
	}
	tmpBefore := benchTempDirs(t)
	// The roles run from the program built as `go run` builds it: a test
	// binary built with -race is too slow to stream anything in 0.3s on a
	// busy machine.
	testenv.RequireGo(t)
	cfg.Self = filepath.Join(t.TempDir(), "ambassador")
	build := exec.CommandContext(ctx, "go", "build", "-o", cfg.Self, ".")
	outb, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", outb)

	var out, log bytes.Buffer
	err = run(ctx, cfg, &out, &log)
	require.NoError(t, err, "progress:\n%s", log.String())
	t.Logf("progress:\n%s\nreport:\n%s", log.String(), out.String())
	for _, v := range cfg.Variants {
		require.Contains(t, out.String(), "| "+variants[v].describe+" | ")
	}
	requireCleanedUp(t, tmpBefore)
}

// TestInterrupted cancels a run in the middle of a test: it must stop early
// with the cause and leave no process or temporary file behind.
func TestInterrupted(t *testing.T) {
	cfg := shortConfig("direct", "go-splice")
	cfg.Duration = time.Minute
	tmpBefore := benchTempDirs(t)
	ctx, cancel := context.WithTimeoutCause(context.Background(), 2*time.Second, errInterrupt)
	defer cancel()
	start := time.Now()
	err := run(ctx, cfg, io.Discard, io.Discard)
	require.ErrorIs(t, err, errInterrupt)
	require.Less(t, time.Since(start), 20*time.Second)
	requireCleanedUp(t, tmpBefore)
}

var errInterrupt = errors.New("interrupted by the test")

func TestParseFlags(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		want    []string
		wantErr string
	}{
		{args: nil, want: []string{"direct", "podkit", "haproxy", "socat"}},
		{args: []string{"-variants", "all"}, want: variantNames()},
		{args: []string{"-variants", "direct,go-splice"}, want: []string{"direct", "go-splice"}},
		{args: []string{"-variants", "direct,nginx"}, wantErr: `variants: unknown "nginx"`},
		{args: []string{"-variants", "direct,direct"}, wantErr: `variants: "direct" twice`},
		{args: []string{"-rounds", "0"}, wantErr: "rounds: 0"},
		{args: []string{"extra"}, wantErr: "unexpected arguments"},
	} {
		cfg, err := parseFlags(tt.args, io.Discard)
		if tt.wantErr != "" {
			require.ErrorContains(t, err, tt.wantErr, "%q", tt.args)
			continue
		}
		require.NoError(t, err, "%q", tt.args)
		require.Equal(t, tt.want, cfg.Variants, "%q", tt.args)
	}
}

func TestStatistics(t *testing.T) {
	require.InDelta(t, 2.0, median([]float64{3, 1, 2}), 1e-9)
	require.InDelta(t, 2.5, median([]float64{4, 1, 3, 2}), 1e-9)
	sorted := make([]time.Duration, 1000)
	for i := range sorted {
		sorted[i] = time.Duration(i + 1)
	}
	require.Equal(t, time.Duration(500), percentile(sorted, 50))
	require.Equal(t, time.Duration(990), percentile(sorted, 99))
	require.Equal(t, time.Duration(1), percentile(sorted[:1], 99))
}

func TestHAProxyConfig(t *testing.T) {
	cfg := haproxyConfig(2, "127.0.0.1:1000", "127.0.0.1:2000")
	for _, want := range []string{"nbthread 2", "mode tcp", "option splice-request", "option splice-response",
		"bind 127.0.0.1:1000", "server upstream 127.0.0.1:2000"} {
		require.Contains(t, cfg, want)
	}
}

// benchTempDirs lists the benchmark's temporary directories that exist now.
func benchTempDirs(t *testing.T) []string {
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), "podkit-bench-ambassador-*"))
	require.NoError(t, err)
	return dirs
}

// requireCleanedUp checks that the run left no child process and no new
// temporary directory.
func requireCleanedUp(t *testing.T, tmpBefore []string) {
	t.Helper()
	busy, err := hasChildren(os.Getpid())
	require.NoError(t, err)
	require.False(t, busy, "a process started by the benchmark is still running")
	require.ElementsMatch(t, tmpBefore, benchTempDirs(t))
}
