package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"k8s.io/utils/clock"
)

// Default values of the Options fields left zero.
const (
	DefaultDebounce     = 500 * time.Millisecond
	DefaultPollInterval = 10 * time.Second
)

// Options says what Watch watches and how. Only Path is required; each zero
// field has the default its comment gives.
type Options struct {
	// Path is the file or directory to watch. A relative path is made
	// absolute when Watch starts. It need not exist yet.
	Path string

	// Debounce is the quiet period: a burst of changes gives one call this
	// long after its last change. Zero means DefaultDebounce; negative is an
	// error.
	Debounce time.Duration

	// PollInterval is the period at which the content is also compared
	// without any event, to catch changes inotify does not report. It also
	// bounds the wait during changes that never pause: a burst that has
	// lasted PollInterval no longer holds the poll back. Zero means
	// DefaultPollInterval; negative turns polling off.
	PollInterval time.Duration

	// Clock times the debounce and the polling; tests pass a fake clock.
	// Nil means the real clock.
	Clock clock.WithTicker

	// Ready, if not nil, is called once on Watch's goroutine when the
	// watches are set up and the initial fingerprint is taken: a change made
	// after Ready is called is reported. A sidecar reports its readiness
	// from it. Watch handles no event until Ready returns.
	Ready func()
}

// Watch watches opts.Path and calls changed after each burst of changes that
// leaves its content different from the previous call (or from the start;
// changed is not called for the initial state). See the package
// documentation for what counts as a change.
//
// Watch blocks. changed is called on Watch's goroutine, never concurrently
// with itself; while it runs, changes are queued, and they give at most one
// more call after it returns. Watch returns nil once ctx is done, but not
// before a running changed returns. It returns an error, prefixed "watch: ",
// when opts is invalid (naming the field), when changed is nil, when a watch
// cannot be set up (for example when inotify's limits are reached), or,
// wrapped, the first error changed returns. In every case, every goroutine,
// watch, timer and file descriptor Watch created is released before it
// returns.
func Watch(ctx context.Context, opts Options, changed func() error) (err error) {
	if err := opts.setDefaults(); err != nil {
		return err
	}
	if changed == nil {
		return errors.New("watch: changed: nil function")
	}
	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return fmt.Errorf("watch: Path: %w", err)
	}

	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer func() {
		if cerr := fw.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("watch: closing inotify: %w", cerr))
		}
	}()
	w := &watcher{fs: fw, path: path, armed: make(map[string]os.FileInfo)}
	if err := w.arm(); err != nil {
		return err
	}
	last := fingerprint(path)

	// The ticker is made before Ready so that a fake clock already has it
	// when a test steps the clock after Ready.
	var poll <-chan time.Time
	if opts.PollInterval > 0 {
		t := opts.Clock.NewTicker(opts.PollInterval)
		defer t.Stop()
		poll = t.C()
	}
	if opts.Ready != nil {
		opts.Ready()
	}

	// debounce is non-nil while a burst is in progress; a new timer per
	// event is simpler than Reset, whose draining rules differ between the
	// real and the fake clocks.
	var (
		debounce   clock.Timer
		fire       <-chan time.Time
		burstStart time.Time
	)
	defer func() {
		if debounce != nil {
			debounce.Stop()
		}
	}()
	restartDebounce := func() {
		if debounce != nil {
			debounce.Stop()
		} else {
			burstStart = opts.Clock.Now()
		}
		debounce = opts.Clock.NewTimer(opts.Debounce)
		fire = debounce.C()
	}

	check := func() error {
		if err := w.arm(); err != nil {
			return err
		}
		fp := fingerprint(path)
		// A cancelled Watch is stopping: starting a reload now would only
		// delay that.
		if fp == last || ctx.Err() != nil {
			return nil
		}
		last = fp
		if err := changed(); err != nil {
			return fmt.Errorf("watch: %s changed: %w", path, err)
		}
		return nil
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return errors.New("watch: inotify event channel closed")
			}
			if w.relevant(ev.Name) {
				restartDebounce()
			}
		case _, ok := <-fw.Errors:
			if !ok {
				return errors.New("watch: inotify error channel closed")
			}
			// Every error fsnotify reports at run time (a queue
			// overflow, a failed read) means events may have been lost:
			// a check through the debounce recovers from all of them.
			restartDebounce()
		case <-fire:
			debounce, fire = nil, nil
			if err := check(); err != nil {
				return err
			}
		case <-poll:
			// During a burst the debounce will check soon enough; a
			// check now could call in the middle of the burst. Unless
			// the burst does not end: then a call in its middle is
			// better than none.
			if debounce != nil && opts.Clock.Since(burstStart) < opts.PollInterval {
				continue
			}
			if err := check(); err != nil {
				return err
			}
		}
	}
}

// setDefaults validates o and fills in its zero fields.
func (o *Options) setDefaults() error {
	if o.Path == "" {
		return errors.New("watch: Path: empty")
	}
	switch {
	case o.Debounce < 0:
		return fmt.Errorf("watch: Debounce: negative (%v)", o.Debounce)
	case o.Debounce == 0:
		o.Debounce = DefaultDebounce
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return nil
}
