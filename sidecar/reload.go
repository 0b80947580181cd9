package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/utils/clock"

	"github.com/podkit/podkit/internal/watch"
	"github.com/podkit/podkit/pod"
)

// ConfigReloader watches a configuration file or directory and, when its
// content changes, sends a signal (SIGHUP by default) to another container
// of the pod, so the application reloads its configuration without a
// restart: the role of Kubernetes' configmap-reload sidecar. Changes are
// debounced (an editor's save, or a ConfigMap update touching many files,
// gives one signal) and compared by content (a touch or a rewrite with the
// same bytes gives none); an editor's atomic replace and Kubernetes'
// "..data" symbolic-link swap are followed.
//
// Kubernetes can only signal another container with shareProcessNamespace;
// podkit's supervisor signals it in any pod.
//
// A ConfigReloader is configuration; Container and Run do not change it.
type ConfigReloader struct {
	// Volume names the pod volume holding the configuration; Path is then
	// relative to it ("" for the whole volume). Without Volume, Path is a
	// file or directory on the host.
	Volume string `json:"volume,omitempty" help:"volume holding the configuration; --path is relative to it"`
	Path   string `json:"path,omitempty" help:"file or directory to watch"`
	// Target is the name of the container to signal. Required.
	Target string `json:"target" help:"container to signal"`
	// TargetProcess is, for the process form of the reloader (the podkit
	// sidecar config-reloader command, in a pod exported to Kubernetes),
	// the name of the target's process (its /proc/PID/comm), by which the
	// process form finds it; that pod needs shareProcessNamespace. The
	// in-process reloader signals Target and ignores it.
	TargetProcess string `json:"targetProcess,omitempty" flag:"process" help:"outside podkit run: name of the target's process (needs shareProcessNamespace)"`
	// Signal is the signal sent. Zero means SIGHUP.
	Signal syscall.Signal `json:"signal,omitempty" help:"signal to send, by name or number (default SIGHUP)"`
	// Debounce is the quiet time after the last change before the signal
	// is sent. Zero means 500ms.
	Debounce time.Duration `json:"debounce,omitempty" help:"quiet time before signalling (default 500ms)"`
	// Clock is for tests; nil means the real clock.
	Clock clock.WithTicker `json:"-"`
}

// Container returns an in-process sidecar named name that runs r. It checks
// r, and names the first bad field.
func (r ConfigReloader) Container(name string) (pod.Container, error) {
	if err := validName("config reloader", name); err != nil {
		return pod.Container{}, err
	}
	if err := r.validate(); err != nil {
		return pod.Container{}, err
	}
	c := Func(name, r.Run)
	var err error
	c.ExportArgs, err = exportArgs("config-reloader", r)
	return c, err
}

func (r ConfigReloader) validate() error {
	switch {
	case r.Volume == "" && r.Path == "":
		return errors.New("sidecar: config reloader: path: one of volume and path is required")
	case r.Target == "":
		return errors.New("sidecar: config reloader: target: required")
	case r.Signal < 0 || r.Signal > 64:
		return fmt.Errorf("sidecar: config reloader: signal: %d is not a signal number", int(r.Signal))
	case r.Debounce < 0:
		return fmt.Errorf("sidecar: config reloader: debounce: %s is negative", r.Debounce)
	}
	return nil
}

// Run watches until ctx is done, and returns nil then. When ctx is an
// in-process container's (see pod.FromContext), Run signals the container
// Target of its pod, and reports on its output streams; a change while the
// target is not running (between restarts) sends nothing: it starts with the
// new configuration. Outside a pod (the process form, in a pod exported to
// Kubernetes) it signals every process whose name (/proc/PID/comm) is
// TargetProcess, and reports on this program's standard output and error.
// Run returns an error if r is invalid, the target is not in the pod, or
// the watch cannot be set up. It blocks, and leaves no goroutine or inotify
// watch behind: it starts no goroutine, and reads the inotify descriptor and
// sends signals on the caller's.
func (r ConfigReloader) Run(ctx context.Context) error {
	if err := r.validate(); err != nil {
		return err
	}
	sig := r.Signal
	if sig == 0 {
		sig = syscall.SIGHUP
	}
	var (
		stdout, stderr io.Writer = os.Stdout, os.Stderr
		signal         func() error
	)
	if self, ok := pod.FromContext(ctx); ok {
		if _, ok := self.Pod.Status().Container(r.Target); !ok {
			return fmt.Errorf("sidecar: config reloader: target: pod %q has no container %q", self.Pod.Name(), r.Target)
		}
		stdout, stderr = self.Stdout, self.Stderr
		signal = func() error { return self.Pod.Signal(r.Target, sig) }
	} else {
		if r.TargetProcess == "" {
			return errors.New("sidecar: config reloader: targetProcess: required outside a pod, where the target is found by its process name")
		}
		signal = func() error { return signalProcesses(r.TargetProcess, sig) }
	}
	path, err := inVolume(ctx, r.Volume, r.Path)
	if err != nil {
		return fmt.Errorf("sidecar: config reloader: %w", err)
	}
	err = watch.Watch(ctx, watch.Options{
		Path:     path,
		Debounce: r.Debounce,
		Clock:    r.Clock,
		Ready:    func() { fmt.Fprintf(stdout, "watching %s\n", path) },
	}, func() error {
		err := signal()
		switch {
		case errors.Is(err, pod.ErrNotRunning):
			fmt.Fprintf(stdout, "%s changed; container %s is not running\n", path, r.Target)
		case err != nil:
			fmt.Fprintf(stderr, "%s changed; cannot signal container %s: %v\n", path, r.Target, err)
		default:
			fmt.Fprintf(stdout, "%s changed; sent %s to container %s\n", path, unixSignalName(sig), r.Target)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sidecar: config reloader: %w", err)
	}
	return nil
}

// signalProcesses sends sig to every process named comm; none is an error
// wrapping pod.ErrNotRunning.
func signalProcesses(comm string, sig syscall.Signal) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	sent := 0
	var errs []error
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		name, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(name)) != comm {
			continue
		}
		if err := syscall.Kill(pid, sig); err != nil {
			errs = append(errs, fmt.Errorf("pid %d: %w", pid, err))
			continue
		}
		sent++
	}
	if sent == 0 && len(errs) == 0 {
		return fmt.Errorf("no process named %q: %w", comm, pod.ErrNotRunning)
	}
	return errors.Join(errs...)
}

// unixSignalName names sig the way kill -l does, with its SIG prefix.
func unixSignalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", int(sig))
}
