package tail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// modes runs a test with inotify alone (the poll is too slow to matter) and
// with the poll alone, so that each detection path is shown to be enough.
var modes = []struct {
	name  string
	hooks hooks
	poll  time.Duration
}{
	{"inotify", hooks{}, time.Hour},
	{"poll", hooks{noInotify: true}, 10 * time.Millisecond},
}

const waitFor = 5 * time.Second

// collector records emitted lines; emit is called from Follow's goroutine,
// the test reads from its own.
type collector struct {
	mu    sync.Mutex
	lines []Line
}

func (c *collector) emit(l Line) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l)
	return nil
}

func (c *collector) all() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines...)
}

// texts returns the texts of the lines whose Path is path, or of all lines
// for "".
func (c *collector) texts(path string) []string {
	var out []string
	for _, l := range c.all() {
		if path == "" || l.Path == path {
			out = append(out, l.Text)
		}
	}
	return out
}

// wait waits until at least len(want) lines of path arrived, then requires
// exactly want: a duplicate or a reordering fails.
func (c *collector) wait(t *testing.T, path string, want ...string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(c.texts(path)) >= len(want) }, waitFor, time.Millisecond,
		"got %q, want %q", c.texts(path), want)
	require.Equal(t, want, c.texts(path))
}

type running struct {
	*collector
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// start runs follow until the test ends, and returns once the files that
// exist now have been opened. At the end it checks that no descriptor of
// dir's files nor any inotify instance is left open.
func start(t *testing.T, dir string, opts Options, h hooks) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{collector: &collector{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	h.ready = func() { close(ready) }
	go func() { r.done <- follow(ctx, opts, r.emit, h) }()
	select {
	case <-ready:
	case err := <-r.done:
		cancel()
		t.Fatalf("follow: %v", err)
	}
	t.Cleanup(func() {
		require.NoError(t, r.stop())
		require.Empty(t, openFDs(t, dir), "descriptors left open")
	})
	return r
}

// stop cancels Follow and returns what it returned.
func (r *running) stop() error {
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
	})
	return r.err
}

// openFDs lists this process's descriptors that point into dir or are an
// inotify instance.
func openFDs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // the directory's own descriptor, closed by now
		}
		if strings.HasPrefix(target, dir+"/") || target == "anon_inode:inotify" {
			out = append(out, target)
		}
	}
	return out
}

// holds reports whether this process has name in dir open, under that
// name or deleted.
func holds(t *testing.T, dir, name string) bool {
	t.Helper()
	for _, target := range openFDs(t, dir) {
		if target == filepath.Join(dir, name) || target == filepath.Join(dir, name)+" (deleted)" {
			return true
		}
	}
	return false
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	_, err = f.WriteString(s)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// writer keeps a log open like a logging application does.
func writer(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func write(t *testing.T, f *os.File, s string) {
	t.Helper()
	_, err := f.WriteString(s)
	require.NoError(t, err)
}

func opts(dir string, poll time.Duration, patterns ...string) Options {
	for i, p := range patterns {
		patterns[i] = filepath.Join(dir, p)
	}
	return Options{Patterns: patterns, PollInterval: poll}
}

func TestAppendedLinesInOrderOnce(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			appendTo(t, path, "before start\n")
			r := start(t, dir, opts(dir, m.poll, "*.log"), m.hooks)

			w := writer(t, path)
			write(t, w, "a\n")
			r.wait(t, path, "a")
			write(t, w, "b\nc\n")
			write(t, w, "\n")
			r.wait(t, path, "a", "b", "c", "")
			for i := range 100 {
				write(t, w, fmt.Sprintf("line %d\n", i))
			}
			want := []string{"a", "b", "c", ""}
			for i := range 100 {
				want = append(want, fmt.Sprintf("line %d", i))
			}
			r.wait(t, path, want...)
			require.NoError(t, r.stop())
			require.Equal(t, want, r.texts(path), "the final pass adds nothing")
		})
	}
}

func TestFromStart(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			appendTo(t, path, "x\ny\n")
			o := opts(dir, m.poll, "*.log")
			o.FromStart = true
			r := start(t, dir, o, m.hooks)
			r.wait(t, path, "x", "y")
			appendTo(t, path, "z\n")
			r.wait(t, path, "x", "y", "z")
		})
	}
}

func TestPartialLineHeldUntilNewline(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			appendTo(t, path, "")
			o := opts(dir, 5*time.Millisecond, "*.log")
			r := start(t, dir, o, m.hooks)
			w := writer(t, path)
			write(t, w, "par")
			// Several polls and the write event go by without a line.
			require.Never(t, func() bool { return len(r.all()) > 0 }, 50*time.Millisecond, 5*time.Millisecond)
			write(t, w, "tial\nnext")
			r.wait(t, path, "partial")
		})
	}
}

func TestFinalPassAtCancel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, "")
	r := start(t, dir, opts(dir, time.Hour, "*.log"), hooks{noInotify: true})
	// Nothing but the final pass can see these: no inotify, no poll.
	appendTo(t, path, "last\nunfinished")
	require.NoError(t, r.stop())
	require.Equal(t, []string{"last", "unfinished"}, r.texts(path))
}

func TestRotationByRename(t *testing.T) {
	for _, m := range modes {
		for _, pattern := range []string{"*.log", "app.log*"} {
			t.Run(m.name+"/"+pattern, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "app.log")
				// 20ms, not 10: the rotated file must not be dropped as idle
				// (30 polls) by a slow -race run before the writer reopens.
				r := start(t, dir, opts(dir, 2*m.poll, pattern), m.hooks)

				old := writer(t, path)
				write(t, old, "1\n")
				r.wait(t, path, "1")

				// logrotate "create": rename, create, then the application
				// reopens; until then it keeps writing to the renamed file.
				require.NoError(t, os.Rename(path, path+".1"))
				write(t, old, "2\n")
				cur := writer(t, path)
				write(t, old, "3\n")
				write(t, old, "4 unfinished")
				write(t, cur, "5\n")
				require.NoError(t, old.Close())
				write(t, cur, "6\n")

				r.wait(t, path, "1", "2", "3", "4 unfinished", "5", "6")
				require.Empty(t, r.texts(path+".1"), "lines keep the name they were followed under")
				if pattern == "*.log" && m.hooks.noInotify {
					require.Eventually(t, func() bool { return !holds(t, dir, "app.log.1") }, waitFor, time.Millisecond,
						"the drained file is closed within two polls")
				}
				require.NoError(t, r.stop())
				require.Equal(t, []string{"1", "2", "3", "4 unfinished", "5", "6"}, r.texts(""))
			})
		}
	}
}

func TestRepeatedRotation(t *testing.T) {
	const rounds, lines = 20, 30
	for _, m := range modes {
		for _, pattern := range []string{"*.log", "app.log*"} {
			t.Run(m.name+"/"+pattern, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "app.log")
				r := start(t, dir, opts(dir, 2*m.poll, pattern), m.hooks)
				var want []string
				line := func(f *os.File) {
					s := fmt.Sprintf("line %d", len(want))
					want = append(want, s)
					write(t, f, s+"\n")
				}
				cur := writer(t, path)
				for round := range rounds {
					for range lines {
						line(cur)
					}
					// A file rotated away before Follow first saw it could not
					// be read; real rotations are far apart.
					r.wait(t, path, want...)
					require.NoError(t, os.Rename(path, fmt.Sprintf("%s.%d", path, round)))
					for range lines / 3 {
						line(cur)
					}
					next := writer(t, path)
					for range lines / 3 {
						line(cur)
					}
					require.NoError(t, cur.Close())
					cur = next
				}
				line(cur)
				r.wait(t, path, want...)
				require.NoError(t, r.stop())
				require.Equal(t, want, r.texts(""))
			})
		}
	}
}

func TestRotationByRenameWithoutCreate(t *testing.T) {
	// logrotate "nocreate": the application creates the new file itself,
	// after a gap in which the path does not exist.
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			r := start(t, dir, opts(dir, 2*m.poll, "*.log"), m.hooks)
			old := writer(t, path)
			write(t, old, "1\n")
			r.wait(t, path, "1")
			require.NoError(t, os.Rename(path, filepath.Join(dir, "app.old")))
			write(t, old, "2\n")
			r.wait(t, path, "1", "2")
			write(t, old, "3\n")
			cur := writer(t, path)
			write(t, cur, "4\n")
			r.wait(t, path, "1", "2", "3", "4")
		})
	}
}

func TestCopyTruncate(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			r := start(t, dir, opts(dir, m.poll, "*.log"), m.hooks)
			w := writer(t, path)
			write(t, w, "one\ntwo\npart")
			r.wait(t, path, "one", "two")

			require.NoError(t, os.Truncate(path, 0))
			write(t, w, "3\n")
			r.wait(t, path, "one", "two", "part", "3")
			write(t, w, "4\n")
			r.wait(t, path, "one", "two", "part", "3", "4")
		})
	}
}

func TestNewFilesFromTheirBeginning(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			r := start(t, dir, opts(dir, m.poll, "*.log"), m.hooks)
			a := filepath.Join(dir, "a.log")
			require.NoError(t, os.WriteFile(a, []byte("a1\na2\n"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "b.txt"), []byte("no\n"), 0o644))
			r.wait(t, a, "a1", "a2")
			appendTo(t, a, "a3\n")
			r.wait(t, a, "a1", "a2", "a3")
			require.NoError(t, r.stop())
			require.Equal(t, []string{"a1", "a2", "a3"}, r.texts(""), "b.txt does not match")
		})
	}
}

func TestDirectoryAppearsLater(t *testing.T) {
	dir := t.TempDir()
	o := opts(dir, 10*time.Millisecond, "sub/*.log", "pods/*/app.log")
	r := start(t, dir, o, hooks{})

	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	a := filepath.Join(dir, "sub", "a.log")
	require.NoError(t, os.WriteFile(a, []byte("a1\n"), 0o644))
	r.wait(t, a, "a1")
	appendTo(t, a, "a2\n")
	r.wait(t, a, "a1", "a2")

	for _, pod := range []string{"p1", "p2"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "pods", pod), 0o755))
		appendTo(t, filepath.Join(dir, "pods", pod, "app.log"), pod+"\n")
	}
	r.wait(t, filepath.Join(dir, "pods", "p1", "app.log"), "p1")
	r.wait(t, filepath.Join(dir, "pods", "p2", "app.log"), "p2")
}

func TestDeletedFileDrainedAndClosed(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			r := start(t, dir, opts(dir, m.poll, "*.log"), m.hooks)
			w := writer(t, path)
			write(t, w, "1\n")
			r.wait(t, path, "1")
			write(t, w, "2\nlast")
			require.NoError(t, w.Close())
			require.NoError(t, os.Remove(path))
			r.wait(t, path, "1", "2", "last")
			require.Eventually(t, func() bool { return !holds(t, dir, "app.log") }, waitFor, time.Millisecond,
				"the deleted file is closed")
		})
	}
}

func TestRenamedAwayFileClosedWhenIdle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	r := start(t, dir, opts(dir, 2*time.Millisecond, "*.log"), hooks{noInotify: true})
	w := writer(t, path)
	write(t, w, "1\n")
	r.wait(t, path, "1")
	require.NoError(t, os.Rename(path, filepath.Join(dir, "moved")))
	write(t, w, "2\n")
	r.wait(t, path, "1", "2")
	require.NoError(t, w.Close())
	require.Eventually(t, func() bool { return !holds(t, dir, "moved") }, waitFor, time.Millisecond,
		"closed after 30 polls without growth")
}

func TestLongLinesSplit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	o := opts(dir, 10*time.Millisecond, "*.log")
	o.MaxLineBytes = 8
	r := start(t, dir, o, hooks{})
	w := writer(t, path)
	write(t, w, "12345678\n123456789\n1234567812345678\n12345678123456781234\nshort\n")
	r.wait(t, path,
		"12345678",
		"12345678", "9",
		"12345678", "12345678",
		"12345678", "12345678", "1234",
		"short")

	// Held bytes are bounded too: a line without its newline yet is shipped
	// in chunks as it grows past the limit.
	write(t, w, "abcd")
	write(t, w, "efghijklm")
	r.wait(t, path,
		"12345678",
		"12345678", "9",
		"12345678", "12345678",
		"12345678", "12345678", "1234",
		"short", "abcdefgh")
	write(t, w, "\n")
	r.wait(t, path,
		"12345678",
		"12345678", "9",
		"12345678", "12345678",
		"12345678", "12345678", "1234",
		"short", "abcdefgh", "ijklm")
}

func TestBytesPassedThrough(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	r := start(t, dir, opts(dir, 10*time.Millisecond, "*.log"), hooks{})
	appendTo(t, path, "\xff\xfe ok \xc3\nwindows\r\n\x00nul\n")
	r.wait(t, path, "\xff\xfe ok \xc3", "windows\r", "\x00nul")
}

func TestManyFiles(t *testing.T) {
	const files, lines = 50, 100
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			r := start(t, dir, opts(dir, m.poll, "*.log"), m.hooks)
			var wg sync.WaitGroup
			for i := range files {
				wg.Go(func() {
					f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("f%02d.log", i)), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
					if err != nil {
						t.Error(err)
						return
					}
					defer f.Close()
					for j := range lines {
						if _, err := fmt.Fprintf(f, "%d %d\n", i, j); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			require.Eventually(t, func() bool { return len(r.all()) >= files*lines }, waitFor, time.Millisecond)
			for i := range files {
				var want []string
				for j := range lines {
					want = append(want, fmt.Sprintf("%d %d", i, j))
				}
				require.Equal(t, want, r.texts(filepath.Join(dir, fmt.Sprintf("f%02d.log", i))))
			}
		})
	}
}

func TestSkipsNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.log"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dir.log"), 0o755))
	path := filepath.Join(dir, "app.log")
	o := opts(dir, 10*time.Millisecond, "*.log")
	o.FromStart = true
	appendTo(t, path, "1\n")
	r := start(t, dir, o, hooks{})
	r.wait(t, "", "1")
}

func TestClock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	o := opts(dir, time.Hour, "*.log")
	o.Now = func() time.Time { return now }
	r := start(t, dir, o, hooks{})
	appendTo(t, path, "x\n")
	r.wait(t, path, "x")
	require.Equal(t, []Line{{Path: path, Text: "x", Time: now}}, r.all())
}

func TestEmitError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, "1\n2\n")
	errFull := errors.New("disk full")
	var got []string
	err := Follow(context.Background(), Options{Patterns: []string{filepath.Join(dir, "*.log")}, FromStart: true},
		func(l Line) error {
			got = append(got, l.Text)
			return errFull
		})
	require.ErrorIs(t, err, errFull)
	require.ErrorContains(t, err, "tail: ")
	require.Equal(t, []string{"1"}, got, "nothing is emitted after a failure")
	require.Empty(t, openFDs(t, dir))
}

func TestInvalidOptions(t *testing.T) {
	nop := func(Line) error { return nil }
	for _, tc := range []struct {
		name string
		opts Options
		emit func(Line) error
		want string
		is   error
	}{
		{"no patterns", Options{}, nop, "tail: no patterns", nil},
		{"empty pattern", Options{Patterns: []string{""}}, nop, "tail: empty pattern", nil},
		{"bad pattern", Options{Patterns: []string{"/ok/*.log", "/logs/[.log"}}, nop, `tail: pattern "/logs/[.log"`, filepath.ErrBadPattern},
		{"negative max line", Options{Patterns: []string{"/x"}, MaxLineBytes: -1}, nop, "tail: MaxLineBytes -1", nil},
		{"negative poll", Options{Patterns: []string{"/x"}, PollInterval: -time.Second}, nop, "tail: PollInterval -1s", nil},
		{"nil emit", Options{Patterns: []string{"/x"}}, nil, "tail: emit is nil", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Follow(context.Background(), tc.opts, tc.emit)
			require.ErrorContains(t, err, tc.want)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
		})
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	dir := t.TempDir()
	appendTo(t, filepath.Join(dir, "app.log"), "1\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var got []string
	o := opts(dir, 0, "*.log")
	o.FromStart = true
	err := Follow(ctx, o, func(l Line) error { got = append(got, l.Text); return nil })
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, got)
	require.Empty(t, openFDs(t, dir))
}

// BenchmarkFollow measures lines per second through Follow for one file
// with a backlog of 100-byte lines.
func BenchmarkFollow(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "app.log")
	line := strings.Repeat("x", 99) + "\n"
	f, err := os.Create(path)
	require.NoError(b, err)
	chunk := strings.Repeat(line, 1000)
	for n := b.N; n > 0; n -= 1000 {
		if n >= 1000 {
			_, err = f.WriteString(chunk)
		} else {
			_, err = f.WriteString(chunk[:n*len(line)])
		}
		require.NoError(b, err)
	}
	require.NoError(b, f.Close())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	b.ResetTimer()
	err = Follow(ctx, Options{Patterns: []string{path}, FromStart: true}, func(Line) error {
		if n++; n == b.N {
			cancel()
		}
		return nil
	})
	b.StopTimer()
	require.NoError(b, err)
	require.Equal(b, b.N, n)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// A symbolic link that leads out of the pattern's directory is skipped and
// reported, never followed: a writer of the directory cannot make the
// follower read another file. A link that stays beneath it is followed.
func TestLinksOutOfTheDirectoryAreNotFollowed(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			logs := filepath.Join(dir, "logs")
			require.NoError(t, os.Mkdir(logs, 0o755))
			secret := filepath.Join(dir, "secret")
			require.NoError(t, os.WriteFile(secret, []byte("do not ship\n"), 0o600))
			require.NoError(t, os.Symlink(secret, filepath.Join(logs, "abs.log")))
			require.NoError(t, os.Symlink("../secret", filepath.Join(logs, "rel.log")))
			require.NoError(t, os.Symlink("/proc/self/root"+secret, filepath.Join(logs, "proc.log")))
			require.NoError(t, os.Mkdir(filepath.Join(logs, "sub"), 0o755))
			require.NoError(t, os.Symlink("../../secret", filepath.Join(logs, "sub", "deep.log")))
			appendTo(t, filepath.Join(logs, "real"), "inside\n")
			require.NoError(t, os.Symlink("real", filepath.Join(logs, "in.log")))

			var mu sync.Mutex
			skipped := map[string]error{}
			o := opts(logs, m.poll, "*.log", "*/*.log")
			o.FromStart = true
			o.Skipped = func(path string, err error) {
				mu.Lock()
				defer mu.Unlock()
				_, again := skipped[path]
				assert.False(t, again, "%s reported twice", path)
				skipped[path] = err
			}
			r := start(t, dir, o, m.hooks)
			r.wait(t, "", "inside")
			appendTo(t, secret, "more\n")
			appendTo(t, filepath.Join(logs, "real"), "after\n")
			r.wait(t, "", "inside", "after")
			require.NoError(t, r.stop())
			mu.Lock()
			defer mu.Unlock()
			for _, name := range []string{"abs.log", "rel.log", "proc.log", "sub/deep.log"} {
				err := skipped[filepath.Join(logs, name)]
				require.Error(t, err, name)
				assert.ErrorIs(t, err, ErrOutside, name)
			}
			assert.Len(t, skipped, 4)
		})
	}
}

func TestStaticDir(t *testing.T) {
	for pattern, want := range map[string]string{
		"/vol/logs/*.log":     "/vol/logs",
		"/vol/logs/*/app.log": "/vol/logs",
		"/vol/l?gs/app.log":   "/vol",
		"/vol/logs/app.log":   "/vol/logs",
		"*.log":               ".",
		"logs/[ab]/x.log":     "logs",
		"/*/x.log":            "/",
	} {
		assert.Equal(t, want, staticDir(pattern), pattern)
	}
}
