package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	testingclock "k8s.io/utils/clock/testing"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Real-clock tests use a short debounce; quiet is how long they wait to be
// sure that no further call comes, long enough for several debounces.
const (
	debounce = 50 * time.Millisecond
	quiet    = 4 * debounce
	wait     = 10 * time.Second
	tick     = 2 * time.Millisecond
)

// start runs Watch in the background until the test ends, returns once its
// watches are armed, and counts the calls of changed. The cleanup requires
// that Watch returned nil.
func start(t *testing.T, opts Options) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	startWith(t, opts, func() error { n.Add(1); return nil })
	return &n
}

func startWith(t *testing.T, opts Options, changed func() error) {
	t.Helper()
	if opts.Debounce == 0 {
		opts.Debounce = debounce
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	opts.Ready = func() { close(ready) }
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, opts, changed) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(wait):
			t.Error("Watch did not return after cancel")
		}
	})
	select {
	case <-ready:
	case err := <-done:
		done <- err // for the cleanup
		t.Fatalf("Watch returned before Ready: %v", err)
	case <-time.After(wait):
		t.Fatal("Watch not ready")
	}
}

// settles requires that n reaches want and stays there.
func settles(t *testing.T, n *atomic.Int64, want int64, msg string) {
	t.Helper()
	settlesFor(t, n, want, quiet, msg)
}

// settlesFor is settles for a watch whose debounce is longer than
// debounce: it waits still for still.
func settlesFor(t *testing.T, n *atomic.Int64, want int64, still time.Duration, msg string) {
	t.Helper()
	require.Eventually(t, func() bool { return n.Load() >= want }, wait, tick, "%s: want %d calls, got %d", msg, want, n.Load())
	require.Never(t, func() bool { return n.Load() != want }, still, tick, "%s: want %d calls", msg, want)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// replace writes content the way editors save: to a temporary file renamed
// over path.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp~"
	write(t, tmp, content)
	require.NoError(t, os.Rename(tmp, path))
}

func TestOptions(t *testing.T) {
	t.Parallel()
	nop := func() error { return nil }
	for _, tc := range []struct {
		name    string
		opts    Options
		changed func() error
		want    string
	}{
		{"empty path", Options{}, nop, "watch: Path: empty"},
		{"negative debounce", Options{Path: "x", Debounce: -time.Second}, nop, "watch: Debounce: negative"},
		{"nil changed", Options{Path: "x"}, nil, "watch: changed: nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Watch(context.Background(), tc.opts, tc.changed)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestBurstGivesOneCall is the real-clock counterpart of
// TestDebounceFakeClock. Its debounce is longer than the other tests': on a
// loaded machine the writing goroutine has been seen descheduled for over
// 100ms, a real pause that rightly splits the burst.
func TestBurstGivesOneCall(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "app.conf")
	write(t, cfg, "v0")
	const long = 4 * debounce
	n := start(t, Options{Path: cfg, Debounce: long})

	for i := range 20 {
		write(t, cfg, fmt.Sprint("v", i+1))
	}
	require.Eventually(t, func() bool { return n.Load() >= 1 }, wait, tick)
	require.Never(t, func() bool { return n.Load() != 1 }, 2*long, tick, "20 writes")

	write(t, cfg, "v21")
	require.Eventually(t, func() bool { return n.Load() >= 2 }, wait, tick)
	require.Never(t, func() bool { return n.Load() != 2 }, 2*long, tick, "one more write")
}

// TestDebounceFakeClock checks with a fake clock, so however slowly the test
// writes, that a burst gives no call before the quiet period and one after
// it, and that a change undone within the burst gives none.
func TestDebounceFakeClock(t *testing.T) {
	t.Parallel()
	clk := testingclock.NewFakeClock(time.Now())
	cfg := filepath.Join(t.TempDir(), "app.conf")
	write(t, cfg, "v0")
	n := start(t, Options{Path: cfg, Debounce: time.Second, PollInterval: -1, Clock: clk})
	step := func() bool { clk.Step(time.Second); return true }

	write(t, cfg, "changed for a moment")
	replace(t, cfg, "v0")
	require.Eventually(t, clk.HasWaiters, wait, tick, "debounce timer")
	require.Never(t, func() bool { return step() && n.Load() != 0 }, quiet, tick, "change undone")

	for i := range 20 {
		write(t, cfg, fmt.Sprint("v", i+1))
	}
	require.Eventually(t, clk.HasWaiters, wait, tick, "debounce timer")
	require.Never(t, func() bool { return n.Load() != 0 }, quiet, tick, "called before the clock moved")
	require.Eventually(t, func() bool { return step() && n.Load() == 1 }, wait, tick, "burst")
	require.Never(t, func() bool { return step() && n.Load() != 1 }, quiet, tick, "burst")
}

func TestAtomicReplace(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "app.conf")
	write(t, cfg, "v0")
	n := start(t, Options{Path: cfg})

	replace(t, cfg, "v1")
	settles(t, n, 1, "first replace")
	replace(t, cfg, "v2")
	settles(t, n, 2, "second replace")
	write(t, cfg, "v3")
	settles(t, n, 3, "write in place after replaces")
}

// TestSymlinkedFile watches a link to a file in another directory, without
// polling: writes to the target in place are seen there, and so is the link
// being pointed elsewhere, after which the new target is watched.
func TestSymlinkedFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, d := range []string{"etc", "data1", "data2"} {
		require.NoError(t, os.Mkdir(filepath.Join(root, d), 0o755))
	}
	target1, target2 := filepath.Join(root, "data1", "app.conf"), filepath.Join(root, "data2", "app.conf")
	write(t, target1, "v0")
	write(t, target2, "w0")
	link := filepath.Join(root, "etc", "app.conf")
	require.NoError(t, os.Symlink(target1, link))
	n := start(t, Options{Path: link, PollInterval: -1})

	write(t, target1, "v1")
	settles(t, n, 1, "target written in place")
	tmp := link + ".new"
	require.NoError(t, os.Symlink(target2, tmp))
	require.NoError(t, os.Rename(tmp, link))
	settles(t, n, 2, "link re-pointed")
	write(t, target1, "v2")
	settles(t, n, 2, "old target")
	write(t, target2, "w1")
	settles(t, n, 3, "new target written in place")
}

// updateConfigMap updates dir the way the kubelet's atomic writer updates a
// ConfigMap volume: the files go to a new timestamped directory, the
// symbolic link "..data" is swapped to it with a rename, each key is a
// symbolic link through "..data", and the old directory is removed.
func updateConfigMap(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	ts, err := os.MkdirTemp(dir, "..2006_01_02_15_04_05.")
	require.NoError(t, err)
	for name, content := range files {
		write(t, filepath.Join(ts, name), content)
	}
	tmp := filepath.Join(dir, "..data_tmp")
	require.NoError(t, os.Symlink(filepath.Base(ts), tmp))
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, "..data")))
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); errors.Is(err, os.ErrNotExist) {
			require.NoError(t, os.Symlink(filepath.Join("..data", name), link))
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if _, ok := files[e.Name()]; !ok && e.Type() == os.ModeSymlink && e.Name() != "..data" {
			require.NoError(t, os.Remove(filepath.Join(dir, e.Name())))
		}
	}
	if old != "" {
		require.NoError(t, os.RemoveAll(filepath.Join(dir, old)))
	}
}

func TestConfigMap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		path string // relative to the volume
		// wants is the number of calls after each of the updates below.
		wants []int64
	}{
		{"directory", ".", []int64{1, 2, 3, 4}},
		{"key", "config.yaml", []int64{1, 1, 2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vol := t.TempDir()
			updateConfigMap(t, vol, map[string]string{"config.yaml": "a: 1", "other": "x"})
			// An update is a burst of a dozen file operations; the
			// longer debounce keeps a loaded machine's pause in its
			// middle from splitting it, as in TestBurstGivesOneCall.
			const long = 4 * debounce
			n := start(t, Options{Path: filepath.Join(vol, tc.path), Debounce: long})

			updates := []map[string]string{
				{"config.yaml": "a: 2", "other": "x"},
				{"config.yaml": "a: 2", "other": "y"}, // only the other key changes
				{"config.yaml": "a: 3"},               // a key is removed
				{"config.yaml": "a: 3", "new": "z"},   // a key is added
			}
			for i, u := range updates {
				updateConfigMap(t, vol, u)
				settlesFor(t, n, tc.wants[i], 4*long, fmt.Sprint("update ", i))
			}
		})
	}
}

func TestDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a"), "a")
	n := start(t, Options{Path: dir})

	write(t, filepath.Join(dir, "b"), "b")
	settles(t, n, 1, "create")
	write(t, filepath.Join(dir, "b"), "b2")
	settles(t, n, 2, "write")
	require.NoError(t, os.Rename(filepath.Join(dir, "b"), filepath.Join(dir, "c")))
	settles(t, n, 3, "rename")
	require.NoError(t, os.Remove(filepath.Join(dir, "a")))
	settles(t, n, 4, "remove")
	for _, name := range []string{"d", "e", "f", "g"} {
		write(t, filepath.Join(dir, name), name)
	}
	require.NoError(t, os.Remove(filepath.Join(dir, "d")))
	settles(t, n, 5, "burst")

	// Subdirectories are not part of the content.
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	write(t, filepath.Join(sub, "x"), "x")
	require.NoError(t, os.RemoveAll(sub))
	settles(t, n, 5, "subdirectory")
}

func TestSameContentDoesNotCall(t *testing.T) {
	t.Parallel()
	for _, dirMode := range []bool{false, true} {
		t.Run(fmt.Sprint("directory=", dirMode), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := filepath.Join(dir, "app.conf")
			write(t, cfg, "v0")
			path := cfg
			if dirMode {
				path = dir
			}
			n := start(t, Options{Path: path})

			later := time.Now().Add(time.Hour)
			require.NoError(t, os.Chtimes(cfg, later, later)) // touch
			require.NoError(t, os.Chmod(cfg, 0o600))
			write(t, cfg, "v0")
			replace(t, cfg, "v0")
			settles(t, n, 0, "same content")

			// The watch still works: the events above were seen and
			// judged, not missed.
			write(t, cfg, "v1")
			settles(t, n, 1, "real change")
		})
	}
}

func TestPathAppearsAndDisappears(t *testing.T) {
	t.Parallel()
	t.Run("file", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		cfg := filepath.Join(root, "a", "b", "app.conf")
		n := start(t, Options{Path: cfg})

		require.NoError(t, os.MkdirAll(filepath.Dir(cfg), 0o755))
		settles(t, n, 0, "parents only")
		write(t, cfg, "v1")
		settles(t, n, 1, "appeared")
		write(t, cfg, "v2")
		settles(t, n, 2, "written after appearing")
		require.NoError(t, os.RemoveAll(filepath.Join(root, "a")))
		settles(t, n, 3, "disappeared")
		require.NoError(t, os.MkdirAll(filepath.Dir(cfg), 0o755))
		replace(t, cfg, "v3")
		settles(t, n, 4, "appeared again")
	})
	t.Run("directory", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "conf.d")
		n := start(t, Options{Path: dir})

		require.NoError(t, os.Mkdir(dir, 0o755))
		settles(t, n, 1, "appeared")
		write(t, filepath.Join(dir, "x"), "x")
		settles(t, n, 2, "file in it")
		require.NoError(t, os.RemoveAll(dir))
		settles(t, n, 3, "removed")
		require.NoError(t, os.Mkdir(dir, 0o755))
		write(t, filepath.Join(dir, "x"), "x")
		settles(t, n, 4, "created again")
		write(t, filepath.Join(dir, "x"), "x2")
		settles(t, n, 5, "watched again")
	})
}

// TestSlowChanged checks that changes made while changed runs, even in
// separate bursts, give exactly one more call.
func TestSlowChanged(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "app.conf")
	write(t, cfg, "v0")
	var n atomic.Int64
	entered, release := make(chan struct{}), make(chan struct{})
	startWith(t, Options{Path: cfg}, func() error {
		if n.Add(1) == 1 {
			close(entered)
			<-release
		}
		return nil
	})

	write(t, cfg, "v1")
	select {
	case <-entered:
	case <-time.After(wait):
		t.Fatal("changed not called")
	}
	for i := range 4 {
		write(t, cfg, fmt.Sprint("v", i+2))
		time.Sleep(2 * debounce) // separate bursts
	}
	close(release)
	settles(t, &n, 2, "after the slow call")
}

// TestPollFallback changes the content where inotify does not see it, in a
// subdirectory a watched file links into, and checks that the poll reports
// it, on time.
func TestPollFallback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	write(t, filepath.Join(sub, "app.conf"), "v0")
	require.NoError(t, os.Symlink("sub/app.conf", filepath.Join(dir, "app.conf")))

	clk := testingclock.NewFakeClock(time.Now())
	n := start(t, Options{Path: dir, Debounce: time.Second, PollInterval: time.Minute, Clock: clk})
	write(t, filepath.Join(sub, "app.conf"), "v1")
	require.True(t, clk.HasWaiters(), "poll ticker")
	clk.Step(time.Minute - time.Nanosecond)
	require.Never(t, func() bool { return n.Load() != 0 }, quiet, tick, "before the poll")
	clk.Step(time.Nanosecond)
	require.Eventually(t, func() bool { return n.Load() == 1 }, wait, tick, "at the poll")
	clk.Step(time.Minute)
	require.Never(t, func() bool { return n.Load() != 1 }, quiet, tick, "next poll, no change")
}

// TestEndlessBurst checks that changes that never pause still give calls,
// through the poll: the debounce is too long to ever end during the test.
func TestEndlessBurst(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "app.conf")
	write(t, cfg, "v0")
	n := start(t, Options{Path: cfg, Debounce: time.Hour, PollInterval: 4 * tick})

	deadline := time.Now().Add(wait)
	for i := 1; n.Load() == 0; i++ {
		require.True(t, time.Now().Before(deadline), "no call during an endless burst")
		write(t, cfg, fmt.Sprint("v", i))
		time.Sleep(tick)
	}
}

func TestPollOff(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	write(t, filepath.Join(sub, "app.conf"), "v0")
	require.NoError(t, os.Symlink("sub/app.conf", filepath.Join(dir, "app.conf")))

	clk := testingclock.NewFakeClock(time.Now())
	n := start(t, Options{Path: dir, PollInterval: -1, Clock: clk})
	require.False(t, clk.HasWaiters(), "no ticker")
	write(t, filepath.Join(sub, "app.conf"), "v1")
	require.Never(t, func() bool { clk.Step(time.Hour); return n.Load() != 0 }, quiet, tick)
}

func TestChangedError(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "app.conf")
	write(t, cfg, "v0")
	boom := errors.New("boom")
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- Watch(context.Background(), Options{Path: cfg, Debounce: debounce, Ready: func() { close(ready) }},
			func() error { return boom })
	}()
	<-ready
	write(t, cfg, "v1")
	select {
	case err := <-done:
		require.ErrorIs(t, err, boom)
		require.ErrorContains(t, err, "watch: "+cfg+" changed: boom")
	case <-time.After(wait):
		t.Fatal("Watch did not return the error")
	}
}

// TestReleasesFDs checks that Watch closes every file descriptor it opened.
// It is not parallel, so that no other test opens or closes any meanwhile.
func TestReleasesFDs(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "app.conf")
	write(t, cfg, "v0")
	once := func() {
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- Watch(ctx, Options{Path: cfg, Debounce: debounce, Ready: func() { close(ready) }},
				func() error { return nil })
		}()
		<-ready
		write(t, cfg, "changed")
		cancel()
		require.NoError(t, <-done)
	}
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		require.NoError(t, err)
		return len(entries)
	}
	once() // the runtime's poller opens descriptors of its own, once
	before := fds()
	once()
	require.Equal(t, before, fds())
}
