package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/podkit/podkit/pod/console"

	"github.com/spf13/cobra"

	"github.com/podkit/podkit/image"
	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/timeline"
)

// maxManifestBytes bounds a manifest file; Kubernetes' API server takes
// requests of up to 3 MiB.
const maxManifestBytes = 3 << 20

// Exit statuses of podkit run, besides a signal's 128+n.
const (
	exitSucceeded = 0
	exitFailed    = 1
	exitUsage     = 2 // a bad command line or manifest: nothing ran
)

func runCommand(e *env) *cobra.Command {
	var (
		file, events, logDir, timelineFile string
		jobBackoff                         time.Duration
	)
	c := &cobra.Command{
		Use:   "run -f FILE",
		Short: "Run a Kubernetes manifest's workloads in the foreground until they end",
		Long: `Run the workloads of a Kubernetes manifest file (YAML or JSON, one or more documents,
- for standard input) as podkit pods in the foreground, each as its controller would: a
Pod until it is Succeeded or Failed; a Job's pods until it completes or fails (completions,
parallelism, backoffLimit, activeDeadlineSeconds); a Deployment's, ReplicaSet's and
DaemonSet's replicas, replaced when they end, and a StatefulSet's NAME-0, NAME-1, ... in
order, until stopped. Container output is shown prefixed by container name. Ctrl-C or
SIGTERM stops the pods gracefully within their grace periods; a second one kills them at once.

Exit status: 0 if the pod Succeeded (every Job completed, every Pod succeeded); 1 if it
Failed (a Job or Pod failed); 2 if the manifest is invalid; 128+N if signal N stopped it;
143 if podkit stop did, 137 if podkit stop --now did (a lone Pod: podkit stop of a
workload's pod stops that pod, which its controller replaces).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if events != "text" && events != "json" && events != "none" {
				return fmt.Errorf("--events: %q: must be text, json or none", events)
			}
			return runManifest(cmd.Context(), e, file, events, logDir, timelineFile, jobBackoff)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "the manifest file (- for standard input)")
	c.Flags().StringVar(&events, "events", "text", "events on standard output as text, json (one object per line) or none")
	c.Flags().StringVar(&logDir, "log-dir", "", "write each container's output to DIR/<container>.log (CRI format) instead of the terminal")
	c.Flags().StringVar(&timelineFile, "timeline", "", "when the pod ends, draw its life as an SVG timeline in FILE")
	// Tests shorten the Job controller's back-off; the flag is not
	// documented.
	c.Flags().DurationVar(&jobBackoff, "job-backoff", jobBackoffInitial, "the first back-off before a Job replaces a failed pod")
	_ = c.Flags().MarkHidden("job-backoff")
	_ = c.MarkFlagRequired("file")
	return c
}

// runInProcess turns the containers that run ready-made members into
// in-process ones, as podkit run runs them.
func runInProcess(c pod.Container) (pod.Container, []string, error) {
	ip, warnings, _, err := inProcess(c)
	return ip, warnings, err
}

// readManifest reads and loads a single-Pod manifest, printing its
// warnings.
func readManifest(e *env, file string) (*kube.Manifest, error) {
	data, err := readFile(e, file)
	if err != nil {
		return nil, err
	}
	m, err := kube.LoadOptions{Container: runInProcess}.Load(data)
	if err != nil {
		return nil, err
	}
	for _, w := range m.Warnings {
		fmt.Fprintln(e.stderr, "warning:", w)
	}
	return m, nil
}

// readFile reads a manifest file, - for standard input, of at most
// maxManifestBytes.
func readFile(e *env, file string) ([]byte, error) {
	in := e.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, maxManifestBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxManifestBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB: not a manifest", file, maxManifestBytes>>20)
	}
	return data, nil
}

// runManifest runs the workloads of a manifest until they end.
func runManifest(ctx context.Context, e *env, file, events, logDir, timelineFile string, jobBackoff time.Duration) error {
	// Everything that can fail before a pod starts fails with exitUsage:
	// nothing ran.
	usage := func(err error) error {
		fmt.Fprintln(e.stderr, "podkit:", err)
		return exitError{exitUsage}
	}
	workloads, err := readRunnable(e, file)
	if err != nil {
		return usage(err)
	}
	// A lone Pod runs as before: its phase is the exit status; the other
	// workloads run under their controllers.
	m := workloads[0].Template
	if len(workloads) > 1 || workloads[0].Kind != "Pod" {
		m = nil
		if logDir != "" {
			return usage(fmt.Errorf("--log-dir: %s: runs pods of workloads; their output goes to the terminal so far", file))
		}
		if timelineFile != "" {
			return usage(fmt.Errorf("--timeline: %s: runs pods of workloads; podkit draws a lone Pod's timeline only so far", file))
		}
	}
	// Container output goes to the terminal, or to standard error when
	// standard output carries JSON events, or to a log directory.
	out := e.stdout
	if events == "json" {
		out = e.stderr
	}
	var names []string
	for _, w := range workloads {
		spec := w.Template.Spec
		for _, c := range append(append([]pod.Container(nil), spec.InitContainers...), spec.Containers...) {
			names = append(names, c.Name)
		}
	}
	prefix := console.New(out, names...)
	var logs logFiles
	defer logs.close()
	if logDir != "" {
		if err := logs.open(logDir); err != nil {
			return usage(err)
		}
	}
	images := false
	for _, w := range workloads {
		spec := w.Template.Spec
		images = images || runsImages(spec)
		for _, list := range [][]pod.Container{spec.InitContainers, spec.Containers} {
			for j := range list {
				c := &list[j]
				if logDir != "" {
					if c.Stdout, err = logs.writer(c.Name, pod.Stdout); err != nil {
						return usage(err)
					}
					if c.Stderr, err = logs.writer(c.Name, pod.Stderr); err != nil {
						return usage(err)
					}
				} else {
					c.Stdout = prefix.Writer(c.Name)
					c.Stderr = c.Stdout
				}
			}
		}
	}
	var svg *os.File
	if timelineFile != "" {
		if svg, err = createOutput(timelineFile); err != nil {
			return usage(fmt.Errorf("--timeline: %w", err))
		}
		defer svg.Close()
	}
	runDir, err := filepath.Abs(e.runDir)
	if err != nil {
		return usage(err)
	}
	// No container may reach the pods' API sockets.
	opts := []pod.Option{pod.WithMaskedPaths(runDir)}
	if images {
		store, err := image.Open(e.imagesDir)
		if err != nil {
			return usage(fmt.Errorf("--images-dir: %w", err))
		}
		opts = append(opts, pod.WithImages(store))
	}

	if m == nil {
		// A workload's pods are made by its controller, once running: a
		// spec pod.New refuses is found before any starts.
		for _, w := range workloads {
			if _, err := pod.New(firstPodName(w), w.Template.Spec, opts...); err != nil {
				return usage(fmt.Errorf("%s: %w", w, err))
			}
		}
	}

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r := &podRunner{e: e, events: events, runDir: runDir, opts: opts, qualify: m == nil}
	if m != nil {
		r.stop = func() { stop(errStopRequested) }
	}
	defer r.wait()

	// The first signal stops the pods gracefully, the second kills them.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	finished := make(chan struct{})
	defer close(finished)
	var stoppedBy atomic.Int32
	go func() {
		for n := 0; ; n++ {
			select {
			case s := <-sigs:
				if n == 0 {
					stoppedBy.Store(int32(s.(syscall.Signal)))
					stop(fmt.Errorf("%w: %s", errStopSignal, signalName(s.(syscall.Signal))))
				} else {
					r.killAll()
				}
			case <-finished:
				return
			}
		}
	}()
	stopped := func(err error) (error, bool) {
		switch {
		case errors.Is(err, errStopSignal):
			return exitError{128 + int(stoppedBy.Load())}, true
		case errors.Is(err, errStopRequested):
			return exitError{128 + int(syscall.SIGTERM)}, true
		case errors.Is(err, pod.ErrKilled):
			return exitError{128 + int(syscall.SIGKILL)}, true
		}
		return nil, false
	}

	if m == nil {
		err := runWorkloads(runCtx, r, workloads, jobBackoff)
		if code, ok := stopped(context.Cause(runCtx)); ok {
			return code
		}
		if err != nil {
			fmt.Fprintln(e.stderr, "podkit:", err)
			return exitError{exitFailed}
		}
		return nil
	}

	var rec *timeline.Recorder
	p, err := r.start(runCtx, m.Name, m, nil, func(p *pod.Pod) {
		if timelineFile != "" {
			rec = timeline.Record(context.Background(), p)
		}
	})
	if err != nil {
		if p == nil {
			return usage(err)
		}
		return err
	}
	err = p.Wait()
	r.wait()
	if rec != nil {
		if terr := writeTimeline(svg, rec.Events()); terr != nil {
			fmt.Fprintln(e.stderr, "podkit: timeline:", terr)
		}
	}
	if code, ok := stopped(err); ok {
		return code
	}
	if p.Status().Phase == pod.PhaseSucceeded {
		return nil
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "podkit:", err)
	}
	return exitError{exitFailed}
}

// runWorkloads runs the workloads together, each under its controller,
// until all have ended (a Deployment's, ReplicaSet's, DaemonSet's and
// StatefulSet's once ctx is done), and returns their errors joined.
func runWorkloads(ctx context.Context, r *podRunner, workloads []*kube.Workload, jobBackoff time.Duration) error {
	backoff := pod.Backoff{Initial: jobBackoff, Max: jobBackoffMax}
	errs := make([]error, len(workloads))
	var wg sync.WaitGroup
	for i, w := range workloads {
		event := r.workloadEvent(w.Kind, w.Name)
		start := func(ctx context.Context, name string) (*pod.Pod, error) {
			if w.Kind == "Pod" {
				return r.start(ctx, name, w.Template, nil, nil)
			}
			// The controller records the pod's creation before the pod
			// records anything.
			return r.start(ctx, name, w.Template, podLabels(w, name), func(*pod.Pod) {
				msg := "Created pod: " + name
				if w.Kind == "StatefulSet" {
					msg = fmt.Sprintf("create Pod %s in StatefulSet %s successful", name, w.Name)
				}
				event(pod.EventNormal, reasonSuccessfulCreate, msg)
			})
		}
		var run func(context.Context) error
		switch w.Kind {
		case "Pod":
			run = func(ctx context.Context) error {
				// The pod stops gracefully when ctx is done.
				p, err := start(ctx, w.Name)
				if err != nil {
					if p != nil {
						_ = p.Wait()
					}
					return err
				}
				err = p.Wait()
				if ctx.Err() == nil && p.Status().Phase != pod.PhaseSucceeded {
					return fmt.Errorf("pod %q: %s: %w", w.Name, p.Status().Phase, err)
				}
				return nil
			}
		case "Job":
			run = (&jobRun{name: w.Name, params: *w.Job, backoff: backoff, start: start, event: event,
				onFailure: w.Template.Spec.RestartPolicy == pod.RestartOnFailure}).run
		default:
			s := setRunFor(w)
			s.backoff, s.start = backoff, start
			run = s.run
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// podLabels returns the labels w's controller gives its pod name, besides
// the template's: a Job's job-name, a Deployment's pod-template-hash, a
// StatefulSet's pod-name and pod-index.
func podLabels(w *kube.Workload, name string) map[string]string {
	switch w.Kind {
	case "Job":
		return map[string]string{"batch.kubernetes.io/job-name": w.Name, "job-name": w.Name}
	case "Deployment":
		return map[string]string{"pod-template-hash": templateHash(w.Template)}
	case "StatefulSet":
		return map[string]string{"statefulset.kubernetes.io/pod-name": name,
			"apps.kubernetes.io/pod-index": strings.TrimPrefix(name, w.Name+"-")}
	}
	return nil
}

// firstPodName returns the name of the first pod w's controller makes.
func firstPodName(w *kube.Workload) string {
	switch w.Kind {
	case "Pod":
		return w.Name
	case "Job":
		return generateName(w.Name)
	}
	return setRunFor(w).podName(0)()
}

// writeTimeline draws events as an SVG timeline in f, from its start.
func writeTimeline(f *os.File, events []pod.Event) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if err := timeline.Render(f, events); err != nil {
		return err
	}
	return f.Close()
}

var (
	errStopSignal    = errors.New("stopped by a signal")
	errStopRequested = errors.New("stopped by podkit stop")
)

// runsImages reports whether a process container of spec names an image.
func runsImages(spec pod.Spec) bool {
	for _, c := range append(append([]pod.Container(nil), spec.InitContainers...), spec.Containers...) {
		if c.Image != "" && c.Func == nil {
			return true
		}
	}
	return false
}
