package main

import (
	"bytes"
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/signing"
)

// passphraseEnv names the environment variable holding a key's passphrase.
const passphraseEnv = "POTLUCK_KEY_PASSPHRASE"

// passphrase reads --passphrase-file, else $POTLUCK_KEY_PASSPHRASE; nil if
// neither is set.
func passphrase(cmd *cobra.Command) ([]byte, error) {
	if f, _ := cmd.Flags().GetString("passphrase-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		return bytes.TrimRight(b, "\r\n"), nil
	}
	if p := os.Getenv(passphraseEnv); p != "" {
		return []byte(p), nil
	}
	return nil, nil
}

// loadSigner loads a private key, decrypting it when it is encrypted.
func loadSigner(cmd *cobra.Command, path string) (*signing.Signer, error) {
	pass, err := passphrase(cmd)
	if err != nil {
		return nil, err
	}
	s, err := signing.LoadSignerPassphrase(path, pass)
	if errors.Is(err, signing.ErrPassphrase) {
		return nil, errors.New(err.Error() + ": give it with --passphrase-file FILE or $" + passphraseEnv)
	}
	return s, err
}
