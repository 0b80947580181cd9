package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

func validateCommand(e *env) *cobra.Command {
	var file, output string
	c := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Report every problem of a manifest file, with its field path",
		Long: `Check a manifest file (YAML or JSON, one or more documents, - for standard input)
as podkit run would load it, and report every problem of every document at once:
YAML syntax, unknown fields, values of the wrong type, fields podkit cannot honour,
and Kubernetes' validation rules, each with its field path.

Exit status: 0 if the file is valid (it may have warnings); 2 if any problem is an
error, or the file cannot be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				fmt.Fprintf(e.stderr, "podkit: --output: %q: must be text or json\n", output)
				return exitError{exitUsage}
			}
			return validateFile(e, file, output)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "the manifest file (- for standard input)")
	c.Flags().StringVarP(&output, "output", "o", "text", "text, or json: an array of {document, path, line, message, kind}")
	_ = c.MarkFlagRequired("file")
	return c
}

// validateFile reports the problems of a manifest file: as text, errors
// and warnings on standard error and what is valid on standard output, or
// as one JSON array on standard output.
func validateFile(e *env, file, output string) error {
	data, err := readFile(e, file)
	if err != nil {
		fmt.Fprintln(e.stderr, "podkit:", err)
		return exitError{exitUsage}
	}
	f, err := kube.LoadFile(data, kube.LoadOptions{Container: runInProcess})
	var problems []kube.Problem
	var kerr *kube.Error
	switch {
	case errors.As(err, &kerr):
		problems = kerr.Problems
	case err != nil:
		// Not a problem of the manifest: an in-process member's arguments.
		problems = []kube.Problem{{Message: err.Error(), Kind: kube.ProblemInvalid}}
	default:
		problems = f.Problems
	}
	if output == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if problems == nil {
			problems = []kube.Problem{}
		}
		if err := enc.Encode(problems); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			switch p.Kind {
			case kube.ProblemWarning:
				fmt.Fprintln(e.stderr, "warning:", p)
			case kube.ProblemUnsupported:
				p.Message = "not supported: " + p.Message
				fmt.Fprintln(e.stderr, p)
			default:
				fmt.Fprintln(e.stderr, p)
			}
		}
	}
	if err != nil {
		return exitError{exitUsage}
	}
	if output == "text" {
		for _, w := range f.Workloads {
			what := w.String()
			if w.Kind == "Pod" {
				what = fmt.Sprintf("pod %q", w.Name)
			}
			fmt.Fprintf(e.stdout, "%s is valid\n", what)
		}
		if len(f.Workloads) == 0 {
			fmt.Fprintln(e.stdout, "valid, with no workload to run")
		}
	}
	return nil
}

func exportCommand(e *env) *cobra.Command {
	var (
		file, kind, image string
		images            []string
	)
	c := &cobra.Command{
		Use:   "export -f FILE",
		Short: "Print the Kubernetes manifest of a pod file with podkit's defaults applied: a Pod, or the template of a Deployment or Job",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := readManifest(e, file)
			if err != nil {
				return err
			}
			// Export what podkit runs: the spec with podkit's defaults.
			p, err := pod.New(m.Name, m.Spec)
			if err != nil {
				return err
			}
			spec := p.Spec()
			opts := kube.ExportOptions{PodkitImage: image, Images: map[string]string{}}
			for _, kv := range images {
				name, ref, ok := strings.Cut(kv, "=")
				if !ok || name == "" || ref == "" {
					return fmt.Errorf("--image: %q: must be CONTAINER=IMAGE", kv)
				}
				opts.Images[name] = ref
			}
			var obj runtime.Object
			switch kind {
			case "Pod":
				obj, err = kube.Export(m.Name, spec, opts)
			case "Deployment":
				obj, err = kube.ExportDeployment(m.Name, spec, opts)
			case "Job":
				obj, err = kube.ExportJob(m.Name, spec, opts)
			default:
				return fmt.Errorf("--kind: %q: must be Pod, Deployment or Job", kind)
			}
			if err != nil {
				return err
			}
			data, err := kube.Marshal(obj)
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(data)
			return err
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "the Pod manifest (- for standard input)")
	c.Flags().StringVar(&kind, "kind", "Pod", "Pod, Deployment or Job")
	c.Flags().StringVar(&image, "podkit-image", "", "image of the podkit command, for in-process members")
	c.Flags().StringArrayVar(&images, "image", nil, "CONTAINER=IMAGE: the image of a container that runs the host's program here (repeat for each)")
	_ = c.MarkFlagRequired("file")
	return c
}
