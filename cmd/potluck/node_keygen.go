package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/signing"
)

func nodeKeygenCmd() *cobra.Command {
	var name string
	c := &cobra.Command{
		Use:   "keygen",
		Short: "Make an ECDSA P-256 signing key pair",
		Long: `Make a signing key pair: NAME.key (PKCS#8 PEM, mode 0600) signs your
releases; give NAME.pub to the hub operator for the members file. Existing
files are never overwritten.`,
		Example: `  potluck node keygen --out lab-a
  # lab-a.key (keep it), lab-a.pub (send it)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, pub := name+".key", name+".pub"
			if err := signing.GenerateKey(priv, pub); err != nil {
				return err
			}
			k, err := signing.LoadPublicKey(pub)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "private key %s\npublic key  %s (hint %s)\n", priv, pub, k.Hint())
			return nil
		},
	}
	c.Flags().StringVar(&name, "out", "potluck", "path prefix of the key files")
	return c
}
