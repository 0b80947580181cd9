package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/podkit/podkit/kube"
)

// readRunnable loads a manifest file, printing its warnings, and returns
// the workloads podkit run runs. Files without any, and CronJobs and paused
// Jobs, are refused, naming what is not run.
func readRunnable(e *env, file string) ([]*kube.Workload, error) {
	data, err := readFile(e, file)
	if err != nil {
		return nil, err
	}
	f, err := kube.LoadFile(data, kube.LoadOptions{Container: runInProcess})
	if err != nil {
		return nil, err
	}
	for _, p := range f.Problems {
		fmt.Fprintln(e.stderr, "warning:", p)
	}
	if len(f.Workloads) == 0 {
		return nil, fmt.Errorf("%s: no workload to run (a Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet or Job)", file)
	}
	seen := make(map[string]string) // pod name or generated prefix: its workload
	for _, w := range f.Workloads {
		switch {
		case w.Kind == "CronJob":
			return nil, fmt.Errorf("%s: podkit run does not run schedules yet", w)
		case w.Kind == "Job" && w.Job.Parallelism == 0:
			return nil, fmt.Errorf("%s: parallelism 0: the Job runs no pod", w)
		}
		// Workloads of one name would share their pods' names.
		if other, ok := seen[w.Name]; ok {
			return nil, fmt.Errorf("%s and %s: one name: their pods' names would clash", other, w)
		}
		seen[w.Name] = w.String()
	}
	for _, name := range sortedNames(f.Services) {
		fmt.Fprintf(e.stderr, "warning: Service %q: not served: podkit run publishes a container's hostPort only\n", name)
	}
	return f.Workloads, nil
}

func sortedNames[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
