package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// watcher keeps inotify watches on the directories whose entries can change
// the watched path's content. It is used by Watch's goroutine only.
type watcher struct {
	fs   *fsnotify.Watcher
	path string // absolute
	// plan is what the last arm watched: it says which events matter.
	plan map[string]*dirFilter
	// armed records the directory each watch was put on, to tell it from
	// another directory that has since taken its name.
	armed map[string]os.FileInfo
}

// dirFilter says which entries of a watched directory matter.
type dirFilter struct {
	info   os.FileInfo // the directory, to merge names of the same one
	all    bool        // every entry
	names  map[string]bool
	dotdot bool // entries named "..*": Kubernetes' atomic writer's
}

// maxArmAttempts bounds how often arm plans again after a directory vanished
// between planning and watching it; a path that churns faster than that is
// left to the next event or poll.
const maxArmAttempts = 5

// arm points the inotify watches at the directories that matter for w.path
// now. It runs before every fingerprint, so a directory that appeared or was
// replaced since the last check is watched before its content is read, and
// no change made after the fingerprint can go unreported.
func (w *watcher) arm() error {
	for range maxArmAttempts {
		w.plan = plan(w.path)
		vanished, err := w.apply()
		if err != nil || !vanished {
			return err
		}
	}
	return nil
}

// apply makes the watches match w.plan. It reports whether a planned
// directory vanished before it could be watched.
func (w *watcher) apply() (vanished bool, err error) {
	listed := make(map[string]bool)
	for _, dir := range w.fs.WatchList() {
		listed[dir] = true
	}
	for dir, a := range w.armed {
		f, planned := w.plan[dir]
		// fsnotify drops the watch of a directory that was removed or
		// moved by itself, hence the listed check.
		if planned && listed[dir] && os.SameFile(a, f.info) {
			continue
		}
		if listed[dir] {
			// The only failure is a watch the kernel already dropped,
			// which is what we want anyway.
			_ = w.fs.Remove(dir)
		}
		delete(w.armed, dir)
	}
	for dir, f := range w.plan {
		if _, ok := w.armed[dir]; ok {
			continue
		}
		if err := w.fs.Add(dir); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				vanished = true
				continue
			}
			return false, fmt.Errorf("watch: watching %s: %w", dir, err)
		}
		w.armed[dir] = f.info
	}
	return vanished, nil
}

// relevant reports whether an event about name (as fsnotify names it: a
// watched directory, or one joined with an entry) may have changed the
// content, per the plan of the last arm.
func (w *watcher) relevant(name string) bool {
	if _, ok := w.plan[name]; ok {
		// A watched directory itself was removed, moved or changed.
		return true
	}
	f := w.plan[filepath.Dir(name)]
	if f == nil {
		return false
	}
	base := filepath.Base(name)
	return f.all || f.names[base] || f.dotdot && strings.HasPrefix(base, "..")
}

// plan returns the directories to watch for path, each with the entries that
// matter. Directories that are one (the same inode reached by two names) are
// merged, because inotify gives them a single watch that fsnotify names
// after the first.
func plan(path string) map[string]*dirFilter {
	p := make(map[string]*dirFilter)
	add := func(dir string, all, dotdot bool, names ...string) {
		info, err := os.Stat(dir)
		if err != nil {
			return // gone: an event on its parent or the poll will tell
		}
		f := p[dir]
		if f == nil {
			for _, g := range p {
				if os.SameFile(g.info, info) {
					f = g
					break
				}
			}
		}
		if f == nil {
			f = &dirFilter{info: info, names: make(map[string]bool)}
			p[dir] = f
		}
		f.all = f.all || all
		f.dotdot = f.dotdot || dotdot
		for _, n := range names {
			f.names[n] = true
		}
	}

	if isDir(path) {
		add(path, true, false)
		// The parent tells when the directory is replaced or removed, or
		// when a symbolic link to it is swapped.
		if parent := filepath.Dir(path); parent != path {
			add(parent, false, false, filepath.Base(path))
		}
		return p
	}

	parent := filepath.Dir(path)
	anc, next := parent, filepath.Base(path)
	for !isDir(anc) && filepath.Dir(anc) != anc {
		anc, next = filepath.Dir(anc), filepath.Base(anc)
	}
	if anc != parent {
		// Waiting for the path to appear: only the next component
		// matters; arm walks down as it appears.
		add(anc, false, false, next)
		return p
	}
	add(parent, false, true, filepath.Base(path))
	// Through a symbolic link the content lives elsewhere: watch it there
	// too, so that it is seen when written in place.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		add(filepath.Dir(real), false, false, filepath.Base(real))
	}
	return p
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
