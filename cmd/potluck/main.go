// Command potluck is one binary for every Potluck user: labs (node), the
// consortium's operators (hub) and auditors (verify). This package holds
// flags and wiring only; the work is done by the library packages.
package main

import (
	"fmt"
	"os"

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
	return root
}
