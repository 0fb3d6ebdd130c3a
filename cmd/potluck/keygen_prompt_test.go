package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck/signing"
)

// onTerminal makes the prompts read these answers, as from a terminal.
func onTerminal(t *testing.T, answers ...string) {
	isTerm, read := stdinTerminal, readPassword
	t.Cleanup(func() { stdinTerminal, readPassword = isTerm, read })
	stdinTerminal = func() bool { return true }
	readPassword = func() ([]byte, error) {
		if len(answers) == 0 {
			return nil, errors.New("no more input")
		}
		a := answers[0]
		answers = answers[1:]
		return []byte(a), nil
	}
}

// TestKeygenEncryptPrompts: on a terminal, keygen --encrypt asks for the
// passphrase twice, and a key then asks for it when used.
func TestKeygenEncryptPrompts(t *testing.T) {
	t.Setenv(passphraseEnv, "")
	dir := t.TempDir()
	t.Run("Asked", func(t *testing.T) {
		onTerminal(t, "correct horse", "correct horse")
		out := filepath.Join(dir, "a")
		_, stderr, err := run(t, "node", "keygen", "--out", out, "--encrypt")
		if err != nil {
			t.Fatal(err)
		}
		if want := "passphrase for " + out + ".key: \nagain: \n"; stderr != want {
			t.Errorf("prompts %q, want %q", stderr, want)
		}
		if _, err := signing.LoadSignerPassphrase(out+".key", []byte("correct horse")); err != nil {
			t.Fatalf("the key does not open with the passphrase given: %v", err)
		}
		model := t.TempDir()
		if err := os.WriteFile(filepath.Join(model, "w.bin"), []byte("weights"), 0o644); err != nil {
			t.Fatal(err)
		}
		onTerminal(t, "correct horse")
		if _, _, err := run(t, "sign", model, "--key", out+".key"); err != nil {
			t.Fatalf("sign with the encrypted key, asked: %v", err)
		}
	})
	t.Run("Differ", func(t *testing.T) {
		onTerminal(t, "one", "two")
		_, _, err := run(t, "node", "keygen", "--out", filepath.Join(dir, "b"), "--encrypt")
		if err == nil || err.Error() != "--encrypt: the passphrases differ" {
			t.Fatalf("two different answers: %v", err)
		}
	})
}
