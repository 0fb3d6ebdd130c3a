package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

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
	if errors.Is(err, signing.ErrPassphrase) && pass == nil && stdinTerminal() {
		if pass, err = askPassphrase(cmd, "passphrase of "+path+": ", false); err != nil {
			return nil, err
		}
		s, err = signing.LoadSignerPassphrase(path, pass)
	}
	if errors.Is(err, signing.ErrPassphrase) {
		return nil, errors.New(err.Error() + ": give it with --passphrase-file FILE or $" + passphraseEnv)
	}
	return s, err
}

// The terminal, as the prompts see it (tests replace them).
var (
	stdinTerminal = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
	readPassword  = func() ([]byte, error) { return term.ReadPassword(int(os.Stdin.Fd())) }
)

// askPassphrase prompts on stderr and reads a passphrase from the terminal
// without echo; twice, and both must match, for a new one.
func askPassphrase(cmd *cobra.Command, prompt string, confirm bool) ([]byte, error) {
	w := cmd.ErrOrStderr()
	fmt.Fprint(w, prompt)
	pass, err := readPassword()
	fmt.Fprintln(w)
	if err != nil {
		return nil, fmt.Errorf("reading the passphrase: %w", err)
	}
	if len(pass) == 0 {
		return nil, errors.New("the passphrase is empty")
	}
	if confirm {
		fmt.Fprint(w, "again: ")
		again, err := readPassword()
		fmt.Fprintln(w)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase: %w", err)
		}
		if !bytes.Equal(pass, again) {
			return nil, errors.New("the passphrases differ")
		}
	}
	return pass, nil
}
