package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

func validateCommand(e *env) *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Report every problem of a Pod manifest, with its field path",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := readManifest(e, file)
			if err != nil {
				fmt.Fprintln(e.stderr, err)
				return exitError{exitUsage}
			}
			fmt.Fprintf(e.stdout, "pod %q is valid\n", m.Name)
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "the Pod manifest (- for standard input)")
	_ = c.MarkFlagRequired("file")
	return c
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
