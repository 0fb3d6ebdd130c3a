// Command potluck is one binary for every Potluck user: labs (node), the
// consortium's operators (hub) and auditors (verify). This package holds
// flags and wiring only; the work is done by the library packages.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
)

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "potluck:", err)
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "potluck",
		Short:         "Share signed weight deltas of one base model, and merge them reproducibly",
		Version:       potluck.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("passphrase-file", "", "file holding the passphrase of an encrypted private key (or set $"+passphraseEnv+")")
	root.AddCommand(hubCmd(), nodeCmd(), mergeCmd(), extractLoRACmd(), signCmd(), verifyCmd(), logCmd(), cidCmd(), storeCmd(), carCmd(), demoCmd(), benchCmd(),
		releasesCmd(), showCmd(), lineageCmd())
	refuseUnknown(root)
	explainErrors(root)
	return root
}

// explainErrors has every command's error say what to do where a hub
// call's own message does not (explainHubError).
func explainErrors(c *cobra.Command) {
	for _, s := range c.Commands() {
		explainErrors(s)
	}
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error { return explainHubError(run(cmd, args)) }
	}
}

// refuseUnknown makes every group of commands (potluck node, hub...) fail
// on a word that is none of its commands, as the root does, instead of
// printing its help and exiting 0; a flag after the unknown word is not
// reported in its place.
func refuseUnknown(root *cobra.Command) {
	for _, c := range root.Commands() {
		refuseUnknown(c)
		if !c.HasSubCommands() || c.Runnable() {
			continue
		}
		c.Args = cobra.ArbitraryArgs
		c.SuggestionsMinimumDistance = 2
		c.FParseErrWhitelist.UnknownFlags = true
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return fmt.Errorf("%s (see '%s --help')", msg, cmd.CommandPath())
		}
	}
}
