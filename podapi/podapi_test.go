package podapi_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/podapi"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// serve runs p with its API in dir until the test ends.
func serve(t *testing.T, dir string, p *pod.Pod) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	require.NoError(t, p.Start(ctx))
	ln, err := podapi.Listen(dir, p.Name())
	require.NoError(t, err)
	srvCtx, endServer := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- (&podapi.Server{Pod: p, Stop: stop}).Serve(srvCtx, ln) }()
	t.Cleanup(func() {
		stop()
		_ = p.Wait()
		endServer()
		require.NoError(t, <-served)
	})
}

func TestAPI(t *testing.T) {
	testenv.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "run")
	p, err := pod.New("api", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"sh", "-c", "echo one; echo two; sleep 1000"}}},
	})
	require.NoError(t, err)
	serve(t, dir, p)
	ctx := context.Background()

	names, err := podapi.List(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"api"}, names)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())

	c := podapi.NewClient(dir, "api")
	defer c.Close()
	require.Eventually(t, func() bool {
		st, err := c.Status(ctx)
		return err == nil && st.Status.Phase == pod.PhaseRunning
	}, 10*time.Second, 20*time.Millisecond)
	st, err := c.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, "api", st.Name)
	assert.Equal(t, os.Getpid(), st.PID)

	var lines []string
	require.Eventually(t, func() bool {
		lines = nil
		require.NoError(t, c.Logs(ctx, "c", pod.LogOptions{}, false, func(e pod.LogEntry) error {
			lines = append(lines, e.Text)
			return nil
		}))
		return len(lines) == 2
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, []string{"one", "two"}, lines)

	// Following delivers the tail and goes on until ctx ends.
	fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	lines = nil
	require.NoError(t, c.Logs(fctx, "c", pod.LogOptions{Tail: 1}, true, func(e pod.LogEntry) error {
		lines = append(lines, e.Text)
		return nil
	}))
	cancel()
	assert.Equal(t, []string{"two"}, lines)

	err = c.Logs(ctx, "nope", pod.LogOptions{}, true, nil)
	assert.ErrorContains(t, err, `no such container: "nope"`)

	var stdout, stderr bytes.Buffer
	exit, err := c.Exec(ctx, "c", []string{"sh", "-c", "cat; echo err >&2; exit 3"}, strings.NewReader("from stdin\n"), &stdout, &stderr)
	require.NoError(t, err)
	assert.Equal(t, 3, exit.ExitCode)
	assert.Equal(t, "from stdin\n", stdout.String())
	assert.Equal(t, "err\n", stderr.String())

	exit, err = c.Exec(ctx, "nope", []string{"true"}, nil, &stdout, &stderr)
	require.NoError(t, err)
	assert.Equal(t, 126, exit.ExitCode)
	assert.Contains(t, exit.Error, "no such container")

	// A second pod of the same name is refused while the first runs.
	_, err = podapi.Listen(dir, "api")
	assert.ErrorContains(t, err, `a pod named "api" is running already`)

	require.NoError(t, c.Stop(ctx))
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the pod did not stop")
	}
	assert.ErrorIs(t, p.Wait(), context.Canceled)
}

func TestStaleSocketAndNoPod(t *testing.T) {
	dir := t.TempDir()
	// A socket nobody serves, as a killed supervisor leaves it.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "old"), 0o700))
	ln, err := net.Listen("unix", podapi.SocketPath(dir, "old"))
	require.NoError(t, err)
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	_, err = podapi.NewClient(dir, "old").Status(context.Background())
	assert.ErrorIs(t, err, podapi.ErrNoPod)
	ln, err = podapi.Listen(dir, "old")
	require.NoError(t, err, "a stale socket blocked a new pod")
	ln.Close()
}

// The directories a killed supervisor leaves (a stale socket, nobody
// holding the directory's lock) are removed when another pod starts
// serving; a live pod's directory, and one served by a server that took no
// lock, stay; a second server of a live pod's name is refused.
func TestListenSweepsDeadPods(t *testing.T) {
	dir := t.TempDir()
	stale := func(name string) {
		require.NoError(t, os.Mkdir(filepath.Join(dir, name), 0o700))
		ln, err := net.Listen("unix", podapi.SocketPath(dir, name))
		require.NoError(t, err)
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close()
	}
	stale("dead-1")
	stale("dead-2")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "unlocked"), 0o700))
	unlocked, err := net.Listen("unix", podapi.SocketPath(dir, "unlocked"))
	require.NoError(t, err)
	defer unlocked.Close()
	live, err := podapi.Listen(dir, "live")
	require.NoError(t, err)
	defer live.Close()

	_, err = podapi.Listen(dir, "live")
	require.ErrorContains(t, err, `a pod named "live" is running already`)

	ln, err := podapi.Listen(dir, "new")
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"live", "new", "unlocked"}, names)
	require.NoError(t, ln.Close())
	assert.NoDirExists(t, filepath.Join(dir, "new"), "a closed server left its directory")
}
