// Command podkit runs Kubernetes Pod manifests on this machine as podkit pods,
// and inspects the pods it runs:
//
//	podkit run -f pod.yaml            run a pod in the foreground until it ends
//	podkit validate -f pod.yaml       report every problem of a manifest
//	podkit ps                         list the running pods
//	podkit status POD                 show a pod's status
//	podkit logs POD -c CONTAINER      print a container's log [-f] [--previous] [--tail N]
//	podkit exec POD -c CONTAINER -- CMD...
//	podkit stop POD                   stop a pod gracefully [--now]
//	podkit export -f pod.yaml         print the Kubernetes manifest podkit would export
//	podkit image load|pull|import|ls|inspect|tag|rm|prune   manage the local image store
//
// and the process forms of podkit's in-process members, which an exported
// manifest runs as containers of the podkit image:
//
//	podkit sidecar log-shipper|config-reloader|content-syncer ...
//	podkit init wait-for-tcp|extract ...
//	podkit ambassador tcp|http ...
//	podkit adapter health|metrics|logs --config JSON
//
// See docs/cli.md for the exit statuses and the JSON event schema.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/podkit/podkit/image"
	"github.com/podkit/podkit/podapi"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitError ends the command with a status of its own; its message, if any,
// has been printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// env is what every subcommand shares.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	runDir         string // where the pods' API sockets are
	imagesDir      string // the image store's directory
}

// run runs the command line args and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, runDir: podapi.DefaultDir, imagesDir: image.DefaultDir}
	if d := os.Getenv("PODKIT_RUN_DIR"); d != "" {
		e.runDir = d
	}
	if d := os.Getenv("PODKIT_IMAGES_DIR"); d != "" {
		e.imagesDir = d
	}
	root := &cobra.Command{
		Use:           "podkit",
		Short:         "Run Kubernetes Pod manifests on this machine, and inspect the pods",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&e.runDir, "run-dir", e.runDir, "directory of the pods' API sockets ($PODKIT_RUN_DIR)")
	root.PersistentFlags().StringVar(&e.imagesDir, "images-dir", e.imagesDir, "directory of the image store ($PODKIT_IMAGES_DIR)")
	root.AddCommand(runCommand(e), validateCommand(e), exportCommand(e),
		psCommand(e), getCommand(e), statusCommand(e), logsCommand(e), execCommand(e), stopCommand(e), imageCommand(e),
		sidecarCommand(e), initCommand(e), ambassadorCommand(e), adapterCommand(e))
	err := root.Execute()
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	}
	fmt.Fprintln(stderr, "podkit:", err)
	return 1
}
