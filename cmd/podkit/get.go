package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/podapi"
)

func getCommand(e *env) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "get pods|pod [NAME...]",
		Short: "Show pods as kubectl get does: a table, or the Pod objects as YAML or JSON",
		Long: `Show the pods that podkit run is running, as kubectl get pods does: a table with
NAME, READY, STATUS, RESTARTS and AGE (-o wide adds IP and the supervisor's PID),
their names (-o name), or the v1 Pod objects (-o yaml, -o json): the manifest's
metadata and spec with the status the Kubernetes API server would hold. Several
pods, or none named, print a v1 List. Without NAME, every pod.`,
		Args:      cobra.MinimumNArgs(1),
		ValidArgs: []string{"pods", "pod", "po"},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "pods", "pod", "po":
			default:
				return fmt.Errorf("get: %q: podkit knows only pods (podkit get pods)", args[0])
			}
			switch output {
			case "", "wide", "name", "json", "yaml":
			default:
				return fmt.Errorf("--output: %q: must be wide, name, json or yaml", output)
			}
			names, listAll := args[1:], len(args) == 1
			if listAll {
				var err error
				if names, err = podapi.List(e.runDir); err != nil {
					return err
				}
			}
			pods, err := fetchPods(cmd, e, names, listAll)
			switch output {
			case "json", "yaml":
				// One pod named is a Pod, as with kubectl; anything
				// else a List.
				var obj any
				switch {
				case len(names) == 1 && !listAll && len(pods) == 0:
				case len(names) == 1 && !listAll:
					obj = pods[0].pod
				default:
					list := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}, Items: []corev1.Pod{}}
					for _, p := range pods {
						list.Items = append(list.Items, *p.pod)
					}
					obj = list
				}
				if obj != nil {
					if perr := printObject(e.stdout, obj, output); perr != nil {
						return perr
					}
				}
			case "name":
				for _, p := range pods {
					fmt.Fprintln(e.stdout, "pod/"+p.pod.Name)
				}
			default:
				if len(pods) == 0 {
					if listAll {
						fmt.Fprintln(e.stderr, "No pods found.")
					}
					break
				}
				if terr := podTable(e.stdout, pods, output == "wide", time.Now()); terr != nil {
					return terr
				}
			}
			return err
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "wide, name, json or yaml (default: a table)")
	return c
}

// listedPod is a pod as podkit get shows it.
type listedPod struct {
	pod           *corev1.Pod
	supervisorPID int
	// sidecars names the pod's sidecars, which a pod not made from a
	// manifest has no spec to tell.
	sidecars map[string]bool
}

// fetchPods asks every named pod for its status (askStatus). A pod whose supervisor died
// is left out when listing them all (its socket goes with the next pod of
// that name); otherwise every failure is printed, and an error returned
// once every pod that answered is.
func fetchPods(cmd *cobra.Command, e *env, names []string, listAll bool) ([]listedPod, error) {
	answers := askStatus(cmd.Context(), e, names)
	var (
		pods   []listedPod
		failed error
	)
	for _, a := range answers {
		if listAll && errors.Is(a.err, podapi.ErrNoPod) {
			continue
		}
		var kp *corev1.Pod
		if a.err == nil {
			kp, a.err = podObject(a.st)
		}
		if a.err != nil {
			fmt.Fprintln(e.stderr, "podkit:", a.err)
			failed = exitError{exitFailed}
			continue
		}
		sidecars := make(map[string]bool)
		for _, cs := range a.st.Status.Containers {
			sidecars[cs.Name] = cs.Role == pod.RoleSidecar
		}
		pods = append(pods, listedPod{pod: kp, supervisorPID: a.st.PID, sidecars: sidecars})
	}
	return pods, failed
}

// statusAnswer is a pod's answer to a status request.
type statusAnswer struct {
	st  podapi.Status
	err error
}

// askStatus asks every named pod for its status at once, so that one that
// does not answer costs one timeout, not one each, and returns their
// answers in the order of names.
func askStatus(ctx context.Context, e *env, names []string) []statusAnswer {
	answers := make([]statusAnswer, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			c := podapi.NewClient(e.runDir, name)
			defer c.Close()
			answers[i].st, answers[i].err = c.Status(ctx)
		})
	}
	wg.Wait()
	return answers
}

// podObject is the v1 Pod of a pod's API status: its manifest, if it was
// made from one, with its status, and the supervisor's PID as an
// annotation.
func podObject(st podapi.Status) (*corev1.Pod, error) {
	var manifest *corev1.Pod
	if len(st.Manifest) > 0 {
		manifest = &corev1.Pod{}
		strict, err := kjson.UnmarshalStrict(st.Manifest, manifest)
		if err == nil && len(strict) > 0 {
			err = errors.Join(strict...)
		}
		if err != nil {
			return nil, fmt.Errorf("pod %q: the manifest its supervisor serves: %w", st.Name, err)
		}
	}
	kp := kube.PodWithStatus(st.Name, manifest, st.Status)
	if kp.Annotations == nil {
		kp.Annotations = make(map[string]string)
	}
	kp.Annotations[kube.SupervisorPIDAnnotation] = strconv.Itoa(st.PID)
	return kp, nil
}

// printObject prints a Pod or a list as JSON or YAML, as kubectl does.
func printObject(w io.Writer, obj any, format string) error {
	var (
		out []byte
		err error
	)
	if format == "yaml" {
		out, err = yaml.Marshal(obj)
	} else {
		out, err = json.MarshalIndent(obj, "", "    ")
		out = append(out, '\n')
	}
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// podTable prints pods as kubectl get pods does.
func podTable(w io.Writer, pods []listedPod, wide bool, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	header := "NAME\tREADY\tSTATUS\tRESTARTS\tAGE"
	if wide {
		header += "\tIP\tPID"
	}
	fmt.Fprintln(tw, header)
	for _, p := range pods {
		s := summarize(p.pod, p.sidecars)
		restarts := strconv.Itoa(s.restarts)
		if s.restarts > 0 && !s.lastRestart.IsZero() {
			restarts += " (" + duration.HumanDuration(now.Sub(s.lastRestart)) + " ago)"
		}
		age := "<unknown>"
		if ct := p.pod.CreationTimestamp; !ct.IsZero() {
			age = duration.HumanDuration(now.Sub(ct.Time))
		}
		row := fmt.Sprintf("%s\t%d/%d\t%s\t%s\t%s", p.pod.Name, s.ready, s.total, s.status, restarts, age)
		if wide {
			ip := p.pod.Status.PodIP
			if ip == "" {
				ip = "<none>"
			}
			row += fmt.Sprintf("\t%s\t%d", ip, p.supervisorPID)
		}
		fmt.Fprintln(tw, row)
	}
	return tw.Flush()
}

// podSummary is a pod's row in kubectl's table.
type podSummary struct {
	ready, total, restarts int
	status                 string
	lastRestart            time.Time
}

// summarize computes the READY, STATUS and RESTARTS columns with kubectl's
// rules: STATUS is the phase, or the reason of what holds the pod up (an
// init container's "Init:1/2" or "Init:Error", a container's
// "CrashLoopBackOff", "Completed" or "Error").
func summarize(kp *corev1.Pod, sidecars map[string]bool) podSummary {
	s := podSummary{status: string(kp.Status.Phase)}
	if kp.Status.Reason != "" {
		s.status = kp.Status.Reason
	}
	s.total = len(kp.Status.ContainerStatuses)
	for _, cs := range kp.Status.InitContainerStatuses {
		if sidecars[cs.Name] {
			s.total++
		}
	}
	noteRestart := func(cs corev1.ContainerStatus) {
		s.restarts += int(cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil && t.FinishedAt.After(s.lastRestart) {
			s.lastRestart = t.FinishedAt.Time
		}
	}
	initializing := false
	for i, cs := range kp.Status.InitContainerStatuses {
		noteRestart(cs)
		if sidecars[cs.Name] && cs.Started != nil && *cs.Started {
			if cs.Ready {
				s.ready++
			}
			continue
		}
		t, w := cs.State.Terminated, cs.State.Waiting
		switch {
		case t != nil && t.ExitCode == 0:
			continue
		case t != nil && t.Reason != "":
			s.status = "Init:" + t.Reason
		case t != nil && t.Signal != 0:
			s.status = fmt.Sprintf("Init:Signal:%d", t.Signal)
		case t != nil:
			s.status = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
		case w != nil && w.Reason != "" && w.Reason != "PodInitializing":
			s.status = "Init:" + w.Reason
		default:
			s.status = fmt.Sprintf("Init:%d/%d", i, len(kp.Status.InitContainerStatuses))
		}
		initializing = true
		break
	}
	if initializing && !conditionTrue(kp, corev1.PodInitialized) {
		return s
	}
	running := false
	for i := len(kp.Status.ContainerStatuses) - 1; i >= 0; i-- {
		cs := kp.Status.ContainerStatuses[i]
		noteRestart(cs)
		t, w := cs.State.Terminated, cs.State.Waiting
		switch {
		case w != nil && w.Reason != "":
			s.status = w.Reason
		case t != nil && t.Reason != "":
			s.status = t.Reason
		case t != nil && t.Signal != 0:
			s.status = fmt.Sprintf("Signal:%d", t.Signal)
		case t != nil:
			s.status = fmt.Sprintf("ExitCode:%d", t.ExitCode)
		case cs.Ready && cs.State.Running != nil:
			running = true
			s.ready++
		}
	}
	if s.status == "Completed" && running {
		s.status = "NotReady"
		if conditionTrue(kp, corev1.PodReady) {
			s.status = "Running"
		}
	}
	return s
}

func conditionTrue(kp *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range kp.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
