package tail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Line is one line read from a followed file.
type Line struct {
	// Path is the name under which the file was first followed. Lines
	// drained from a file after it was rotated away keep that name, so one
	// log stream keeps one Path across rotations.
	Path string
	// Text is the line without its newline, byte for byte (not necessarily
	// valid UTF-8). A line longer than Options.MaxLineBytes arrives as
	// several consecutive Lines.
	Text string
	// Time is when the line was read, from Options.Now.
	Time time.Time
}

// Options says which files Follow follows and how. The zero value of every
// field but Patterns is usable.
type Options struct {
	// Patterns are the files to follow, as filepath.Match patterns such as
	// "/vol/logs/*.log"; wildcards may appear in directories too. Files that
	// match later are followed too. At least one is required.
	Patterns []string
	// FromStart reads files that exist when Follow starts from their
	// beginning. By default they are read from their end at that moment.
	// Files that appear later are always read from their beginning.
	FromStart bool
	// MaxLineBytes bounds the memory held per file: longer lines are
	// emitted in chunks of this many bytes. Zero means 64 KiB.
	MaxLineBytes int
	// PollInterval is how often files are checked without an inotify event,
	// which bounds the latency when an event was missed, a directory
	// appears later, or inotify is unavailable. Zero means one second.
	PollInterval time.Duration
	// Now stamps Line.Time. Nil means time.Now.
	Now func() time.Time
	// Skipped, when set, is told of a matching file that Follow does not
	// open, once per path until the path can be opened again: a file whose
	// resolution leaves its pattern's directory (ErrOutside), or one it
	// may not read. It is called from Follow's goroutine.
	Skipped func(path string, err error)
}

const (
	defaultMaxLineBytes = 64 << 10
	defaultPollInterval = time.Second

	// orphanIdlePolls is how many poll intervals a file that no pattern
	// matches any more (renamed away) is kept open without growing. A writer
	// that has not reopened its log by then is assumed gone; keeping it
	// forever would leak a descriptor per file moved out of the patterns.
	orphanIdlePolls = 30

	// maxBatch bounds how many queued inotify events are merged into one
	// pass, so the poll ticker and ctx are still looked at under a flood.
	maxBatch = 1024

	readBufSize = 64 << 10
)

// Follow follows the files matching opts.Patterns and calls emit with every
// line, from the goroutine that called Follow, one line at a time. Line.Text
// is a fresh string that emit may keep.
//
// Follow blocks until ctx is done, emit fails, or reading a file fails. When
// ctx is done it makes a final pass: each followed file is read up to its
// size at that moment, held partial lines are emitted, and Follow returns
// nil (a cancelled ctx is the normal way to stop). ctx is not looked at while
// emit runs, so emit must return for Follow to stop. When emit returns an
// error, Follow returns it wrapped, without a final pass.
//
// A pattern whose directory does not exist yet is no error: Follow waits
// for it, and notices it within a PollInterval of its creation.
//
// Every file is opened beneath the directory its pattern names before its
// first wildcard ("/vol/logs" for "/vol/logs/*.log"), with openat2(2)'s
// RESOLVE_BENEATH: a symbolic link that points out of that directory is
// skipped (and reported to Options.Skipped), never followed, so a writer
// of the directory cannot make a privileged follower read another file.
//
// Invalid options are reported before anything is opened, for instance
// "tail: pattern "[": syntax error in pattern" (wrapping
// filepath.ErrBadPattern). Files that cannot be opened (permissions, a race
// with deletion) are skipped and retried at every poll.
//
// When Follow returns, every goroutine, inotify watcher and file descriptor
// it made has been closed.
func Follow(ctx context.Context, opts Options, emit func(Line) error) error {
	return follow(ctx, opts, emit, hooks{})
}

// hooks let the tests reach paths that the public API only takes by chance.
type hooks struct {
	// noInotify makes Follow poll only, as when inotify cannot be set up.
	noInotify bool
	// ready is called once the files existing at start have been opened, so
	// a test knows from when on an appended line must be emitted.
	ready func()
}

func follow(ctx context.Context, opts Options, emit func(Line) error, h hooks) (err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return err
	}
	if emit == nil {
		return errors.New("tail: emit is nil")
	}
	t := &tailer{
		opts:    opts,
		emit:    emit,
		files:   make(map[fileID]*file),
		at:      make(map[string]*file),
		orphans: make(map[*file]struct{}),
		left:    make(map[string]*file),
		buf:     make([]byte, readBufSize),
	}
	defer func() { err = errors.Join(err, t.close()) }()

	var (
		events <-chan fsnotify.Event
		errs   <-chan error
	)
	if !h.noInotify {
		// Without a watcher (the per-user inotify instance limit is a common
		// reason) the poll still finds everything, only later.
		if w, werr := fsnotify.NewWatcher(); werr == nil {
			t.watcher = w
			events, errs = w.Events, w.Errors
		}
	}
	// rescan adds the directory watches before it globs, so a file created
	// meanwhile is seen by one or the other.
	if err := t.rescan(true); err != nil {
		return err
	}
	if h.ready != nil {
		h.ready()
	}

	tick := time.NewTicker(opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return t.finish()
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			err = t.handleEvents(ev, events)
		case _, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// An overflow or read error means events were lost: look at
			// everything rather than wait for the next poll.
			err = t.rescan(false)
			if err == nil {
				err = t.sweep(false)
			}
		case <-tick.C:
			err = t.rescan(false)
			if err == nil {
				err = t.sweep(true)
			}
		}
		if err != nil {
			return err
		}
	}
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Patterns) == 0 {
		return o, errors.New("tail: no patterns")
	}
	patterns := make([]string, 0, len(o.Patterns))
	for _, p := range o.Patterns {
		if p == "" {
			return o, errors.New("tail: empty pattern")
		}
		// Match checks the whole pattern's syntax even when it fails early.
		if _, err := filepath.Match(p, ""); err != nil {
			return o, fmt.Errorf("tail: pattern %q: %w", p, err)
		}
		// Event names are built from the cleaned directory, so the pattern
		// must be clean to match them.
		patterns = append(patterns, filepath.Clean(p))
	}
	o.Patterns = patterns
	switch {
	case o.MaxLineBytes < 0:
		return o, fmt.Errorf("tail: MaxLineBytes %d: negative", o.MaxLineBytes)
	case o.MaxLineBytes == 0:
		o.MaxLineBytes = defaultMaxLineBytes
	}
	switch {
	case o.PollInterval < 0:
		return o, fmt.Errorf("tail: PollInterval %v: negative", o.PollInterval)
	case o.PollInterval == 0:
		o.PollInterval = defaultPollInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// tailer is the state of one Follow call. It is used by one goroutine only,
// so it needs no locks.
type tailer struct {
	opts    Options
	emit    func(Line) error
	watcher *fsnotify.Watcher // nil when polling only

	files map[fileID]*file // every open file, by identity
	// at maps each matching path to the file last seen there. A file can be
	// at several paths (hard links, a rotated name that still matches).
	at map[string]*file
	// orphans are open files no longer at any matching path: renamed away
	// or deleted, but maybe still written to.
	orphans map[*file]struct{}
	// left maps a path to the file that last left it, which a new file at
	// that path must wait for (see file.pred).
	left map[string]*file
	seq  uint64 // orders openings

	buf []byte // shared read buffer; only one file is read at a time
	// reported holds, by path, the error last given to Options.Skipped.
	reported map[string]string
}

// skipped reports a file Follow does not open, once per path and error.
func (t *tailer) skipped(path string, err error) {
	if t.opts.Skipped == nil || t.reported[path] == err.Error() {
		return
	}
	if t.reported == nil {
		t.reported = map[string]string{}
	}
	t.reported[path] = err.Error()
	t.opts.Skipped(path, err)
}

// handleEvents merges ev with the events already queued behind it, so a
// burst of writes to one file costs one read, then looks at each path once.
func (t *tailer) handleEvents(ev fsnotify.Event, events <-chan fsnotify.Event) error {
	names := map[string]struct{}{ev.Name: {}}
batch:
	for len(names) < maxBatch {
		select {
		case ev, ok := <-events:
			if !ok {
				break batch
			}
			names[ev.Name] = struct{}{}
		default:
			break batch
		}
	}
	for name := range names {
		if !t.matches(name) {
			// Most likely a rotated file being written to under its new
			// name; sweep reads it below.
			continue
		}
		if err := t.observe(name, false); err != nil {
			return err
		}
	}
	return t.sweep(false)
}

func (t *tailer) matches(name string) bool {
	for _, p := range t.opts.Patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

// rescan re-globs the patterns and looks at every matching path and every
// path that matched before. It is the safety net for everything inotify
// does not report.
func (t *tailer) rescan(initial bool) error {
	t.watchDirs()
	for p, f := range t.left {
		if f.closed {
			delete(t.left, p) // paths that never come back must not pile up
		}
	}
	var paths []string
	seen := make(map[string]struct{})
	for _, p := range t.opts.Patterns {
		// Glob only fails on a bad pattern, which withDefaults ruled out.
		matches, _ := filepath.Glob(p)
		for _, m := range matches {
			if _, dup := seen[m]; !dup {
				seen[m] = struct{}{}
				paths = append(paths, m)
			}
		}
	}
	for p := range t.at {
		if _, ok := seen[p]; !ok {
			paths = append(paths, p)
		}
	}
	for _, p := range paths {
		if err := t.observe(p, initial); err != nil {
			return err
		}
	}
	return nil
}

// watchDirs adds an inotify watch on every directory a pattern can match
// in. It runs at every poll because directories can appear, or be deleted
// and recreated (which drops their watch), at any time; adding a watch that
// exists is a cheap no-op.
func (t *tailer) watchDirs() {
	if t.watcher == nil {
		return
	}
	for _, p := range t.opts.Patterns {
		dir := filepath.Dir(p)
		dirs := []string{dir}
		if strings.ContainsAny(dir, `*?[\`) {
			dirs, _ = filepath.Glob(dir)
		}
		for _, d := range dirs {
			// A directory that does not exist yet is retried at the next
			// poll.
			_ = t.watcher.Add(d)
		}
	}
}

// sweep reads the orphans and closes those that are finished: deleted,
// superseded by a new file at their path, or idle for too long.
//
// Not being at a matching path is not proof enough that a file has none:
// inotify events and globs lag behind the Stat calls, so a file renamed to
// a matching name can look orphaned until that name is looked at. Only a
// deleted file closes at once; any other stays open until it was idle for
// two poll ticks, so that at least one whole rescan, whose glob started
// after it was orphaned, did not find it. Reopening it would read it twice.
func (t *tailer) sweep(tick bool) error {
	for f := range t.orphans {
		before := f.consumed
		if err := t.drain(f); err != nil {
			return err
		}
		if tick {
			if f.consumed == before {
				f.idle++
			} else {
				f.idle = 0
			}
		}
		if f.nlink == 0 || (f.superseded && f.idle >= 2) || f.idle >= orphanIdlePolls {
			if err := t.drop(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish is the final pass when ctx is done: read what is there now and
// emit the partial lines, since nothing will come back for them.
func (t *tailer) finish() error {
	files := make([]*file, 0, len(t.files))
	for _, f := range t.files {
		files = append(files, f)
	}
	// Predecessors first, so that their partial lines precede their
	// successors' ones, and a stable order for everything else.
	slices.SortFunc(files, func(a, b *file) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, f := range files {
		if f.closed {
			continue
		}
		if err := t.drain(f); err != nil {
			return err
		}
	}
	for _, f := range files {
		if f.closed {
			continue
		}
		if err := t.flush(f); err != nil {
			return err
		}
	}
	return nil
}

// close releases everything without emitting anything more.
func (t *tailer) close() error {
	var errs []error
	if t.watcher != nil {
		// Close waits for fsnotify's reader goroutine to exit.
		errs = append(errs, t.watcher.Close())
	}
	for _, f := range t.files {
		errs = append(errs, f.fd.Close())
	}
	clear(t.files)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tail: close: %w", err)
	}
	return nil
}
