package main

import (
	"crypto/elliptic"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/signing"
)

func nodeKeygenCmd() *cobra.Command {
	var name string
	var curve string
	var encrypt bool
	c := &cobra.Command{
		Use:   "keygen",
		Short: "Make an ECDSA signing key pair (P-256 or P-384, optionally encrypted)",
		Long: `Make a signing key pair: NAME.key (PKCS#8 PEM, mode 0600) signs your
releases; give NAME.pub to the hub operator for the members file. Existing
files are never overwritten.`,
		Example: `  potluck node keygen --out lab-a
  # lab-a.key (keep it), lab-a.pub (send it)
  POTLUCK_KEY_PASSPHRASE=... potluck node keygen --out lab-a --encrypt --curve P-384`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, pub := name+".key", name+".pub"
			opts := signing.KeyOptions{Curve: elliptic.P256()}
			if curve == "P-384" {
				opts.Curve = elliptic.P384()
			} else if curve != "P-256" {
				return fmt.Errorf("--curve %q: P-256 or P-384", curve)
			}
			if encrypt {
				pass, err := passphrase(cmd)
				if err != nil {
					return err
				}
				if len(pass) == 0 && stdinTerminal() {
					if pass, err = askPassphrase(cmd, "passphrase for "+priv+": ", true); err != nil {
						return fmt.Errorf("--encrypt: %w", err)
					}
				}
				if len(pass) == 0 {
					return fmt.Errorf("--encrypt: give the passphrase with --passphrase-file FILE or $%s, or run on a terminal to be asked", passphraseEnv)
				}
				opts.Passphrase = pass
			}
			if err := signing.GenerateKeyWith(priv, pub, opts); err != nil {
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
	c.Flags().StringVar(&curve, "curve", "P-256", "P-256 or P-384")
	c.Flags().BoolVar(&encrypt, "encrypt", false, "encrypt the private key with a passphrase (--passphrase-file or $"+passphraseEnv+"; asked for on a terminal)")
	return c
}
