package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasAnExample: each command's --help shows it in use.
func TestEveryCommandHasAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && c.HasParent() && !c.HasSubCommands() && !strings.Contains(c.Example, c.CommandPath()) {
			t.Errorf("%s --help has no example of itself", c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(rootCmd())
}

// TestNoGarbledFlagHelp: a flag's usage names no placeholder taken from
// back-quoted words (pflag reads `hub serve` as the value's name).
func TestNoGarbledFlagHelp(t *testing.T) {
	out, _, err := run(t, "node", "pull", "--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "--hub-fingerprint string ") || strings.Contains(out, "--hub-fingerprint hub serve") {
		t.Errorf("--hub-fingerprint help:\n%s", out)
	}
}

// TestUnknownSubcommand: a word that is no command fails, naming it,
// instead of printing help and exiting 0.
func TestUnknownSubcommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"node", "list"}, `unknown command "list" for "potluck node" (see 'potluck node --help')`},
		{[]string{"node", "publsh", "--base", "x"}, `unknown command "publsh" for "potluck node"; did you mean publish? (see 'potluck node --help')`},
		{[]string{"hub", "membrs", "reload"}, `unknown command "membrs" for "potluck hub"; did you mean members? (see 'potluck hub --help')`},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			_, _, err := run(t, tc.args...)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("potluck %s: %v\nwant %s", strings.Join(tc.args, " "), err, tc.want)
			}
		})
	}
	if out, _, err := run(t, "node"); err != nil || !strings.Contains(out, "Available Commands:") {
		t.Errorf("potluck node alone: %v, want its help:\n%s", err, out)
	}
}
