package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/utils/clock"

	"github.com/podkit/podkit/pod"
)

// ContentSyncer keeps a directory, typically a volume that a web server
// serves, in step with a source: it runs a sync step (a command such as
// `git pull` or `rsync`, or a Go function) at once and then on an interval,
// like Kubernetes' git-sync sidecar. Its container is Ready only once a sync
// has succeeded; with WaitForFirstSync it has not even started until then,
// so a native sidecar holds the containers after it back until the content
// is there.
//
// A ContentSyncer is configuration; Container and Run do not change it.
type ContentSyncer struct {
	// Volume names the pod volume to sync into; Dir is then a path inside
	// it ("" for its root). Without Volume, Dir is a directory on the host.
	Volume string `json:"volume,omitempty" help:"volume to sync into"`
	Dir    string `json:"dir,omitempty" help:"directory (inside the volume) to sync into"`
	// Command runs a sync: a process started in the destination
	// directory, with SYNC_DEST set to its path, in the supervising
	// program's namespaces (where it reaches the network, which the pod's
	// namespace does not). Its output goes to the sidecar's log. Exit
	// status 0 is success. Exactly one of Command and Sync is set.
	Command []string `json:"command" member:"args"`
	// Sync runs a sync in this program: nil is success. The containers
	// may read dir while a sync runs: a sync should replace files whole
	// (write elsewhere, then rename), as git-sync swaps a symbolic link.
	Sync func(ctx context.Context, dir string) error `json:"-"`
	// Interval is the time from the end of one sync to the start of the
	// next. Zero means 10 seconds.
	Interval time.Duration `json:"interval,omitempty" help:"time between syncs (default 10s)"`
	// Timeout bounds one sync; a Command still running then is killed.
	// Zero means 2 minutes.
	Timeout time.Duration `json:"timeout,omitempty" help:"bound of one sync (default 2m)"`
	// WaitForFirstSync gives the container a startup probe that passes at
	// the first successful sync.
	WaitForFirstSync bool `json:"waitForFirstSync,omitempty" help:"start (and let the next containers start) only after a first sync"`
	// Clock is for tests; nil means the real clock.
	Clock clock.WithTicker `json:"-"`
}

// Defaults of a ContentSyncer.
const (
	DefaultSyncInterval = 10 * time.Second
	DefaultSyncTimeout  = 2 * time.Minute
	// syncProbePeriod is how often the container's probes look at the
	// outcome of the last sync: a memory read, so it can be short.
	syncProbePeriod = 100 * time.Millisecond
)

// Container returns an in-process sidecar named name that runs s, with a
// readiness probe (and with WaitForFirstSync a startup probe) that passes
// once a sync of the running instance has succeeded. It checks s, and names
// the first bad field.
func (s ContentSyncer) Container(name string) (pod.Container, error) {
	if err := validName("content syncer", name); err != nil {
		return pod.Container{}, err
	}
	if err := s.validate(); err != nil {
		return pod.Container{}, err
	}
	s.Command = append([]string(nil), s.Command...)
	r := &syncRun{cfg: s}
	c := Func(name, r.run)
	synced := func(context.Context) error {
		if !r.synced.Load() {
			return errors.New("no successful sync yet")
		}
		return nil
	}
	if s.Sync == nil {
		var err error
		if c.ExportArgs, err = exportArgs("content-syncer", s); err != nil {
			return pod.Container{}, err
		}
	}
	c.ReadinessProbe = &pod.Probe{Func: synced, Period: syncProbePeriod, FailureThreshold: 1}
	if s.WaitForFirstSync {
		// A failing sync is retried on the interval; it is no reason to
		// restart the sidecar, whose startup therefore never fails.
		c.StartupProbe = &pod.Probe{Func: synced, Period: syncProbePeriod, FailureThreshold: 1 << 30}
	}
	return c, nil
}

func (s ContentSyncer) validate() error {
	switch {
	case len(s.Command) == 0 && s.Sync == nil:
		return errors.New("sidecar: content syncer: command: one of command and sync is required")
	case len(s.Command) > 0 && s.Sync != nil:
		return errors.New("sidecar: content syncer: command: only one of command and sync may be set")
	case len(s.Command) > 0 && s.Command[0] == "":
		return errors.New("sidecar: content syncer: command[0]: empty")
	case s.Volume == "" && s.Dir == "":
		return errors.New("sidecar: content syncer: dir: one of volume and dir is required")
	case s.Interval < 0:
		return fmt.Errorf("sidecar: content syncer: interval: %s is negative", s.Interval)
	case s.Timeout < 0:
		return fmt.Errorf("sidecar: content syncer: timeout: %s is negative", s.Timeout)
	}
	return nil
}

// Run syncs until ctx is done, then returns nil; a sync that fails is
// reported on the container's standard error (with pod.FromContext; this
// program's outside a pod) and retried on the interval, and never ends Run. It returns an error only if
// s is invalid or its volume cannot be found. It blocks; a sync command
// still running when ctx is done is killed and waited for. Run starts no
// goroutine of its own: syncs run on the caller's, and the only others are
// those os/exec runs to copy a sync command's output, which have exited
// when the command has been waited for.
func (s ContentSyncer) Run(ctx context.Context) error {
	if err := s.validate(); err != nil {
		return err
	}
	return (&syncRun{cfg: s}).run(ctx)
}

// syncRun is a ContentSyncer's state, shared by its container's instances
// and probes.
type syncRun struct {
	cfg    ContentSyncer
	synced atomic.Bool // a sync of the running instance succeeded
}

func (r *syncRun) run(ctx context.Context) error {
	r.synced.Store(false)
	s := r.cfg
	dir, err := inVolume(ctx, s.Volume, s.Dir)
	if err != nil {
		return fmt.Errorf("sidecar: content syncer: %w", err)
	}
	var stdout, stderr io.Writer = os.Stdout, os.Stderr
	if self, ok := pod.FromContext(ctx); ok {
		stdout, stderr = self.Stdout, self.Stderr
	}
	clk := s.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	interval, timeout := s.Interval, s.Timeout
	if interval == 0 {
		interval = DefaultSyncInterval
	}
	if timeout == 0 {
		timeout = DefaultSyncTimeout
	}
	for {
		start := clk.Now()
		if err := r.syncOnce(ctx, dir, timeout, stdout, stderr); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintf(stderr, "sync failed: %v\n", err)
		} else {
			r.synced.Store(true)
			fmt.Fprintf(stdout, "synced %s in %s\n", dir, clk.Since(start).Round(time.Millisecond))
		}
		t := clk.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}

// syncOnce runs one sync into dir.
func (r *syncRun) syncOnce(ctx context.Context, dir string, timeout time.Duration, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if r.cfg.Sync != nil {
		return r.cfg.Sync(ctx, dir)
	}
	cmd := exec.CommandContext(ctx, r.cfg.Command[0], r.cfg.Command[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, stdout, stderr
	cmd.Env = append(os.Environ(), "SYNC_DEST="+dir)
	// The command dies with this program, and its children with it when
	// its process group is killed at the timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	return cmd.Run()
}
