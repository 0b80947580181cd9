package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/podapi"
)

func psCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "ps",
		Short: "List the pods that podkit run is running",
		Long: `List the pods that podkit run is running. A pod whose supervisor does not answer
within ` + podapi.DefaultTimeout.String() + ` (stopped or stuck) is listed as NotResponding.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := podapi.List(e.runDir)
			if err != nil {
				return err
			}
			answers := askStatus(cmd.Context(), e, names)
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPHASE\tREADY\tRESTARTS\tAGE\tPID")
			var failed error
			for i, name := range names {
				st, err := answers[i].st, answers[i].err
				switch {
				case errors.Is(err, podapi.ErrNoPod):
					continue // its supervisor died; the next pod podkit starts removes its directory
				case errors.Is(err, podapi.ErrNotResponding):
					fmt.Fprintf(tw, "%s\tNotResponding\t-\t-\t-\t-\n", name)
					continue
				case err != nil:
					fmt.Fprintln(e.stderr, "podkit:", err)
					failed = exitError{exitFailed}
					continue
				}
				ready, total, restarts := 0, 0, 0
				for _, cs := range st.Status.Containers {
					if cs.Role == pod.RoleMain || cs.Role == pod.RoleSidecar {
						total++
						if cs.Ready {
							ready++
						}
					}
					restarts += cs.RestartCount
				}
				age := "-"
				if !st.Status.StartTime.IsZero() {
					age = time.Since(st.Status.StartTime).Round(time.Second).String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%s\t%d\n", name, st.Status.Phase, ready, total, restarts, age, st.PID)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return failed
		},
	}
}

func statusCommand(e *env) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "status POD",
		Short: "Show a pod's status",
		Long: `Show a pod's status: as text, or (-o json, -o yaml) as the v1 Pod the Kubernetes
API server would hold, as podkit get pod POD -o json|yaml prints it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := podapi.NewClient(e.runDir, args[0])
			defer c.Close()
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			switch output {
			case "json", "yaml":
				kp, err := podObject(st)
				if err != nil {
					return err
				}
				return printObject(e.stdout, kp, output)
			case "text":
			default:
				return fmt.Errorf("--output: %q: must be text, json or yaml", output)
			}
			s := st.Status
			fmt.Fprintf(e.stdout, "Name:      %s\nPhase:     %s\n", st.Name, s.Phase)
			if s.Reason != "" {
				fmt.Fprintf(e.stdout, "Reason:    %s\n", s.Reason)
			}
			fmt.Fprintf(e.stdout, "Started:   %s\nInfra PID: %d\n", s.StartTime.Format(time.RFC3339), s.InfraPID)
			if s.PodIP != "" {
				fmt.Fprintf(e.stdout, "Pod IP:    %s (host: %s)\n", s.PodIP, s.HostIP)
			}
			fmt.Fprintln(e.stdout, "Conditions:")
			for _, cond := range s.Conditions {
				fmt.Fprintf(e.stdout, "  %-26s %v\n", cond.Type, cond.Status)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "CONTAINER\tROLE\tSTATE\tREADY\tRESTARTS\tPID")
			for _, cs := range s.Containers {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%d\t%d\n", cs.Name, cs.Role, stateText(cs.State), cs.Ready, cs.RestartCount, cs.PID)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return writeTerminationMessages(e.stdout, s.Containers)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "text, or the v1 Pod with its status as json or yaml")
	return c
}

// stateText describes a container state in a few words, as kubectl does.
func stateText(s pod.ContainerState) string {
	switch {
	case s.Running != nil:
		return "Running"
	case s.Waiting != nil:
		return "Waiting (" + s.Waiting.Reason + ")"
	case s.Terminated != nil:
		return fmt.Sprintf("Terminated (%s, exit %d)", s.Terminated.Reason, s.Terminated.ExitCode)
	}
	return "-"
}

func logsCommand(e *env) *cobra.Command {
	var (
		container  string
		follow     bool
		opts       pod.LogOptions
		timestamps bool
	)
	c := &cobra.Command{
		Use:   "logs POD -c CONTAINER",
		Short: "Print a container's log",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			c := podapi.NewClient(e.runDir, args[0])
			defer c.Close()
			return c.Logs(ctx, container, opts, follow, func(le pod.LogEntry) error {
				var err error
				switch {
				case timestamps:
					_, err = fmt.Fprintf(e.stdout, "%s %s\n", le.Time.Format(time.RFC3339Nano), le.Text)
				case le.Partial:
					_, err = fmt.Fprint(e.stdout, le.Text)
				default:
					_, err = fmt.Fprintln(e.stdout, le.Text)
				}
				return err
			})
		},
	}
	c.Flags().StringVarP(&container, "container", "c", "", "the container")
	c.Flags().BoolVarP(&follow, "follow", "f", false, "go on printing new lines, across restarts, until the container ends")
	c.Flags().BoolVarP(&opts.Previous, "previous", "p", false, "the container's instance before its last restart")
	c.Flags().IntVar(&opts.Tail, "tail", 0, "only the last N lines (0: all that are kept)")
	c.Flags().BoolVar(&timestamps, "timestamps", false, "prefix each line with its time")
	_ = c.MarkFlagRequired("container")
	return c
}

func execCommand(e *env) *cobra.Command {
	var (
		container string
		stdin     bool
	)
	c := &cobra.Command{
		Use:   "exec POD -c CONTAINER -- COMMAND [ARGS...]",
		Short: "Run a command in a running container",
		Long: `Run a command in the namespaces (and filesystem) of a running container, like
kubectl exec. Its exit status is podkit's; 126 when it could not be run.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 {
				return errors.New("exec: the command goes after --: podkit exec POD -c CONTAINER -- COMMAND")
			}
			c := podapi.NewClient(e.runDir, args[0])
			defer c.Close()
			var in = e.stdin
			if !stdin {
				in = nil
			}
			st, err := c.Exec(cmd.Context(), container, args[1:], in, e.stdout, e.stderr)
			if err != nil {
				return err
			}
			if st.Error != "" {
				fmt.Fprintln(e.stderr, "podkit:", st.Error)
			}
			if st.ExitCode != 0 {
				return exitError{st.ExitCode}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&container, "container", "c", "", "the container")
	c.Flags().BoolVarP(&stdin, "stdin", "i", false, "pass standard input to the command")
	_ = c.MarkFlagRequired("container")
	return c
}

func stopCommand(e *env) *cobra.Command {
	var (
		now  bool
		wait time.Duration
	)
	c := &cobra.Command{
		Use:   "stop POD",
		Short: "Stop a pod gracefully (or at once with --now), and wait for its end",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := podapi.NewClient(e.runDir, args[0])
			defer c.Close()
			ctx := cmd.Context()
			var err error
			if now {
				err = c.Kill(ctx)
			} else {
				err = c.Stop(ctx)
			}
			if err != nil {
				return err
			}
			if wait == 0 {
				return nil
			}
			// The pod is gone when its API is.
			ctx, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			for {
				_, err := c.Status(ctx)
				if errors.Is(err, podapi.ErrNoPod) {
					return nil
				}
				if errors.Is(err, podapi.ErrNotResponding) {
					return err
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("pod %q: still running after %s", args[0], wait)
				case <-time.After(50 * time.Millisecond):
				}
			}
		},
	}
	c.Flags().BoolVar(&now, "now", false, "kill at once, without the grace period")
	c.Flags().DurationVar(&wait, "wait", 10*time.Minute, "wait this long for the pod to end (0: do not wait)")
	return c
}
