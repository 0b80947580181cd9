package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/podkit/podkit/kube"
)

// readRunnable loads a manifest file, printing its warnings, and returns
// what podkit run runs: the pod of the file's one workload (a Pod, a
// Deployment, ReplicaSet or StatefulSet of one replica, a DaemonSet), or a
// Job's pod template with the Job, whose controller runs its pods. Files
// needing more, and CronJobs, are refused, naming what is not run yet.
func readRunnable(e *env, file string) (*kube.Manifest, *kube.Workload, error) {
	data, err := readFile(e, file)
	if err != nil {
		return nil, nil, err
	}
	f, err := kube.LoadFile(data, kube.LoadOptions{Container: runInProcess})
	if err != nil {
		return nil, nil, err
	}
	for _, p := range f.Problems {
		fmt.Fprintln(e.stderr, "warning:", p)
	}
	var names []string
	for _, w := range f.Workloads {
		names = append(names, w.String())
	}
	switch len(f.Workloads) {
	case 0:
		return nil, nil, fmt.Errorf("%s: no workload to run (a Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet or Job)", file)
	case 1:
	default:
		return nil, nil, fmt.Errorf("%s: %d workloads (%s): podkit run runs one pod so far", file, len(names), strings.Join(names, ", "))
	}
	w := f.Workloads[0]
	if err := runsOnePod(w); err != nil {
		return nil, nil, err
	}
	for _, name := range sortedNames(f.Services) {
		fmt.Fprintf(e.stderr, "warning: Service %q: not served: podkit run publishes a container's hostPort only\n", name)
	}
	m := *w.Template
	if w.Kind == "Job" {
		// The Job controller runs the template's pods.
		return &m, w, nil
	}
	return &m, nil, nil
}

// runsOnePod returns nil when w reduces to one pod, and otherwise an error
// naming what podkit run does not run yet.
func runsOnePod(w *kube.Workload) error {
	switch w.Kind {
	case "CronJob":
		return fmt.Errorf("%s: podkit run does not run schedules yet", w)
	case "Job":
		j := w.Job
		switch {
		case j.Parallelism == 0:
			return fmt.Errorf("%s: parallelism 0: the Job runs no pod", w)
		}
		return nil
	}
	if w.Replicas != 1 {
		return fmt.Errorf("%s: replicas %d: podkit run runs one pod so far", w, w.Replicas)
	}
	return nil
}

func sortedNames[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
