package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/podkit/podkit/cmd/podkit/members"
	"github.com/podkit/podkit/pod"
)

// memberCommands returns the process-form subcommands of members.
func memberCommands(e *env, list []members.Member) []*cobra.Command {
	var cmds []*cobra.Command
	for _, m := range list {
		c := &cobra.Command{
			Use:                m.Use + " [flags]",
			Short:              m.Short,
			DisableFlagParsing: true, // the member parses its own flags
			RunE: func(cmd *cobra.Command, args []string) error {
				for _, a := range args {
					if a == "--" {
						break
					}
					if a == "-h" || a == "--help" {
						return cmd.Help()
					}
				}
				cfg, _, err := m.Parse(m.Use, args)
				if err != nil {
					fmt.Fprintln(e.stderr, "podkit:", err)
					return exitError{exitUsage}
				}
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				return cfg.Run(ctx)
			},
		}
		c.Flags().AddFlagSet(m.Flags()) // for --help only
		cmds = append(cmds, c)
	}
	return cmds
}

func sidecarCommand(e *env) *cobra.Command {
	c := &cobra.Command{Use: "sidecar", Short: "Run a ready-made sidecar as a process (the form an exported pod runs)"}
	c.AddCommand(memberCommands(e, members.Sidecars)...)
	return c
}

func initCommand(e *env) *cobra.Command {
	c := &cobra.Command{Use: "init", Short: "Run a ready-made init step as a process (the form an exported pod runs)"}
	c.AddCommand(memberCommands(e, members.Inits)...)
	return c
}

func adapterCommand(e *env) *cobra.Command {
	c := &cobra.Command{Use: "adapter", Short: "Run an adapter as a process (the form an exported pod runs)"}
	c.AddCommand(memberCommands(e, members.Adapters)...)
	return c
}

func ambassadorCommand(e *env) *cobra.Command {
	c := &cobra.Command{Use: "ambassador", Short: "Run an ambassador as a process (the form an exported pod runs)"}
	c.AddCommand(memberCommands(e, members.Ambassadors)...)
	return c
}

// inProcess is members.InProcess.
func inProcess(c pod.Container) (pod.Container, []string, bool, error) {
	return members.InProcess(c)
}
