package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/podkit/podkit/internal/tail"
	"github.com/podkit/podkit/pod"
)

// LogShipper follows log files, typically in a volume the application
// writes to, and forwards their lines to a writer: the log-shipping sidecar
// of the pattern's classic example, without a process. It follows files
// across rotation (rename-and-create or copytruncate), files that appear
// later, and a directory that does not exist yet; each line is forwarded
// once, in order within its file.
//
// A LogShipper is configuration; Container and Run do not change it.
type LogShipper struct {
	// Volume names the pod volume that holds the files; Patterns are then
	// relative to it. Empty means Patterns are paths on the host.
	Volume string `json:"volume,omitempty" help:"volume holding the files; patterns are relative to it"`
	// Patterns select the files to follow, as filepath.Match patterns
	// (wildcards may be in directories too), such as "*.log". Required.
	Patterns []string `json:"patterns" flag:"pattern" help:"files to follow (filepath.Match pattern)"`
	// Output receives the lines, written one line per Write from one
	// goroutine. Nil means the shipper's own standard output: the
	// container's log (see pod.FromContext).
	Output io.Writer `json:"-"`
	// Format turns a line into the bytes written to Output. Nil writes
	// the line's text and a newline.
	Format func(Line) []byte `json:"-"`
	// FromStart ships what the files hold when the shipper starts. By
	// default it starts at their end; files created later are always
	// shipped from their beginning. A shipper of a fresh emptyDir volume
	// wants FromStart, so that lines written before it first looked are
	// not skipped; the price is that a restarted shipper ships the files
	// again, since it keeps no position.
	FromStart bool `json:"fromStart,omitempty" help:"ship what the files hold at start"`
	// MaxLineBytes splits longer lines, bounding memory. Zero means 64 KiB.
	MaxLineBytes int `json:"maxLineBytes,omitempty" help:"split longer lines (default 64 KiB)"`
	// PollInterval bounds the delay of a change that inotify missed. Zero
	// means one second.
	PollInterval time.Duration `json:"pollInterval,omitempty" help:"poll period behind inotify (default 1s)"`
}

// Line is one line of a followed file.
type Line struct {
	// Path is the file's path relative to the volume (with Volume set), or
	// on the host. It stays the same across the file's rotations.
	Path string
	// Text is the line without its newline, byte for byte.
	Text string
	// Time is when the line was read.
	Time time.Time
}

// Container returns an in-process sidecar named name that runs s. It checks
// s, and names the first bad field. Unless s has a Format, the container can
// be exported to Kubernetes, as a "podkit sidecar log-shipper" container
// writing to its own log.
func (s LogShipper) Container(name string) (pod.Container, error) {
	if err := validName("log shipper", name); err != nil {
		return pod.Container{}, err
	}
	if err := s.validate(); err != nil {
		return pod.Container{}, err
	}
	s.Patterns = append([]string(nil), s.Patterns...)
	c := Func(name, s.Run)
	var err error
	if s.Format == nil {
		if c.ExportArgs, err = exportArgs("log-shipper", s); err != nil {
			return pod.Container{}, err
		}
	}
	return c, nil
}

func (s LogShipper) validate() error {
	if len(s.Patterns) == 0 {
		return errors.New("sidecar: log shipper: patterns: at least one is required")
	}
	for i, p := range s.Patterns {
		if _, err := filepath.Match(p, ""); err != nil || p == "" {
			return fmt.Errorf("sidecar: log shipper: patterns[%d]: invalid pattern %q", i, p)
		}
		if s.Volume != "" && filepath.IsAbs(p) {
			return fmt.Errorf("sidecar: log shipper: patterns[%d]: %q must be relative to volume %q", i, p, s.Volume)
		}
	}
	if s.MaxLineBytes < 0 {
		return fmt.Errorf("sidecar: log shipper: maxLineBytes: %d is negative", s.MaxLineBytes)
	}
	if s.PollInterval < 0 {
		return fmt.Errorf("sidecar: log shipper: pollInterval: %s is negative", s.PollInterval)
	}
	return nil
}

// Run ships lines until ctx is done, then ships what the files hold at
// that moment and returns nil; it returns an error if s is invalid, its
// volume cannot be found, or Output fails. With Volume set, ctx must be an
// in-process container's (see pod.FromContext). It blocks, and leaves no
// goroutine or file open when it returns: it starts no goroutine, and
// follows the files and writes Output on the caller's.
func (s LogShipper) Run(ctx context.Context) error {
	if err := s.validate(); err != nil {
		return err
	}
	root := ""
	if s.Volume != "" {
		var err error
		if root, err = inVolume(ctx, s.Volume, ""); err != nil {
			return fmt.Errorf("sidecar: log shipper: %w", err)
		}
	}
	patterns := make([]string, len(s.Patterns))
	for i, p := range s.Patterns {
		patterns[i] = filepath.Join(root, p)
		if root == "" {
			patterns[i] = p
		}
	}
	out := s.Output
	if out == nil {
		self, ok := pod.FromContext(ctx)
		if !ok {
			return fmt.Errorf("sidecar: log shipper: output: nil, and %w", errNoPod)
		}
		out = self.Stdout
	}
	format := s.Format
	if format == nil {
		format = func(l Line) []byte { return append([]byte(l.Text), '\n') }
	}
	report := func(path string, err error) { fmt.Fprintf(os.Stderr, "log shipper: not following %s: %v\n", path, err) }
	if self, ok := pod.FromContext(ctx); ok {
		report = func(path string, err error) {
			fmt.Fprintf(self.Stderr, "log shipper: not following %s: %v\n", path, err)
		}
	}
	err := tail.Follow(ctx, tail.Options{
		Patterns:     patterns,
		FromStart:    s.FromStart,
		MaxLineBytes: s.MaxLineBytes,
		PollInterval: s.PollInterval,
		Skipped:      report,
	}, func(l tail.Line) error {
		path := l.Path
		if root != "" {
			if rel, err := filepath.Rel(root, l.Path); err == nil {
				path = rel
			}
		}
		_, err := out.Write(format(Line{Path: path, Text: l.Text, Time: l.Time}))
		return err
	})
	if err != nil {
		return fmt.Errorf("sidecar: log shipper: %w", err)
	}
	return nil
}
