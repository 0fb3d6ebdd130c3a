package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/signing"
)

func signCmd() *cobra.Command {
	var keyPath, out string
	var ignore []string
	var force bool
	c := &cobra.Command{
		Use:   "sign DIR",
		Short: "Sign a model directory in the OpenSSF model-signing format",
		Long: `Sign every file of a model directory (but --ignore-paths, git's files and
the signature itself) as the OpenSSF 'model_signing sign key' does: a
Sigstore bundle with a DSSE envelope around an in-toto statement listing each
file's SHA-256. 'model_signing verify key' and 'potluck verify' check it.
An existing signature is kept unless --force.`,
		Example: `  potluck sign ./my-model --key lab-a.key
  potluck sign ./my-model --key lab-a.key --ignore-paths README.md --out my-model.sig
  potluck sign ./my-model --key lab-a.key --force   # sign again, over model.sig`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if out == "" {
				out = filepath.Join(dir, signing.SignatureFile)
			}
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("%s exists: pass --force to sign over it", out)
			}
			signer, err := loadSigner(cmd, keyPath)
			if err != nil {
				return err
			}
			skip := slices.Concat(signing.DefaultIgnorePaths(), ignore)
			if rel, err := filepath.Rel(dir, out); err == nil && filepath.IsLocal(rel) {
				skip = append(skip, filepath.ToSlash(rel))
			}
			res, err := signing.DigestDir(dir, skip)
			if err != nil {
				return err
			}
			abs, _ := filepath.Abs(dir)
			bundle, err := signing.Sign(signer, filepath.Base(abs), res, ignore)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, bundle, 0o644); err != nil {
				return err
			}
			root := signing.RootDigest(res)
			fmt.Fprintf(cmd.OutOrStdout(), "signed %d files (root sha256 %x) with key %s into %s\n", len(res), root, signer.Public().Hint(), out)
			return nil
		},
	}
	c.Flags().StringVar(&keyPath, "key", "potluck.key", "private key (PEM; encrypted keys read the passphrase from --passphrase-file or $POTLUCK_KEY_PASSPHRASE)")
	c.Flags().StringVar(&out, "out", "", "signature file (default DIR/model.sig)")
	c.Flags().BoolVar(&force, "force", false, "overwrite an existing signature file")
	c.Flags().StringSliceVar(&ignore, "ignore-paths", nil, "paths inside DIR to leave out (repeatable)")
	return c
}
