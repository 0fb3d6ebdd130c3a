package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// An operator's commands on a running hub, with the operator's token:
// reload the members file, list merge jobs, unpin a release, and fetch the
// hub's public keys.

func hubMembersCmd() *cobra.Command {
	c := &cobra.Command{Use: "members", Short: "Work on a running hub's members"}
	c.AddCommand(hubMembersReloadCmd())
	return c
}

func hubMembersReloadCmd() *cobra.Command {
	var hc hubConn
	c := &cobra.Command{
		Use:   "reload",
		Short: "Have a running hub re-read its members file (no restart)",
		Long: `Have a running hub re-read its members file, as SIGHUP to 'potluck hub serve'
does: rotated tokens work at once and removed ones stop; keys added, changed,
revoked or removed are logged in the transparency log as at start, and
printed. A file the hub cannot use is refused with its first mistake, and
the members in force stay. Needs an operator's token.`,
		Example: `  potluck hub members reload --hub hub.example.org:7420 --token-file ops.token
  kill -HUP "$(pidof potluck)"   # the same, on the hub's machine`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			r, err := client.ReloadMembers(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "members reloaded: %d orgs, %d keys, %d tokens; %d key changes logged\n", r.Orgs, r.Keys, r.Tokens, len(r.KeyChanges))
			for _, k := range r.KeyChanges {
				fmt.Fprintf(out, "  %s key %s of %s (log entry %d)\n", k.Action, k.Key, k.Org, k.LogIndex)
			}
			return nil
		},
	}
	hubFlag(c, &hc)
	return c
}

func hubJobsCmd() *cobra.Command {
	var hc hubConn
	var asJSON bool
	c := &cobra.Command{
		Use:   "jobs",
		Short: "List a running hub's merge jobs, newest first",
		Long: `List the merge jobs of a running hub, newest first: id, state, progress in
output tensors, the org that started it and when, and the merge's CID once
done. An operator's token sees every org's jobs, a member's its own. Cancel
one with 'potluck node job ID --cancel'.`,
		Example: `  potluck hub jobs --hub hub.example.org:7420 --token-file ops.token
  potluck node job job-0123abcd... --cancel --hub hub.example.org:7420 --token-file ops.token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			js, err := client.MergeJobs(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				list := make([]jobJSON, len(js))
				for i, j := range js {
					list[i] = newJobJSON(j)
				}
				return printJSON(out, list)
			}
			for _, j := range js {
				line := fmt.Sprintf("%s  %-9s %d/%d  %s  %s", j.ID, j.State, j.Done, j.Total, orNone(j.Org), j.Created.UTC().Format(time.RFC3339))
				if j.Release != nil {
					line += "  " + j.Release.CID
				}
				fmt.Fprintln(out, line)
			}
			return nil
		},
	}
	jsonFlag(c, &asJSON)
	hubFlag(c, &hc)
	return c
}

func orNone(org string) string {
	if org == "" {
		return "-"
	}
	return org
}

func hubUnpinCmd() *cobra.Command {
	var hc hubConn
	c := &cobra.Command{
		Use:   "unpin CID",
		Short: "Drop a release nothing refers to from a running hub",
		Long: `Drop a release from a running hub so that its next gc reclaims the files,
as 'potluck store unpin' does on a stopped one. Refused while a delta or
merge builds on it, a merge took it as an input, or the hub's log records
it, unless it was yanked. Needs an operator's token.`,
		Example: `  potluck hub unpin bafybei... --hub hub.example.org:7420 --token-file ops.token`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			if err := client.Unpin(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "unpinned %s; the hub's next gc reclaims its files\n", args[0])
			return nil
		},
	}
	hubFlag(c, &hc)
	return c
}

func hubKeysCmd() *cobra.Command {
	var hc hubConn
	var out string
	var force bool
	c := &cobra.Command{
		Use:   "keys --hub ADDR --hub-fingerprint FP",
		Short: "Fetch a hub's merge-signing key and log key into files",
		Long: `Fetch a running hub's public keys over its pinned TLS connection and write
them as the hub keeps them: OUT/hub.pub (the key that signs merges, for
'potluck verify --key') and OUT/log.pub (the transparency log's verifier
key, for --log-key). The connection must be pinned (--hub-fingerprint or
$POTLUCK_HUB_FINGERPRINT, or --hub-ca), and the fingerprint the hub reports
must be the one pinned, so that the keys are the hub's.`,
		Example: `  potluck hub keys --hub hub.example.org:7420 --hub-fingerprint 3f2a... --out ./hub-keys
  potluck verify ./merged --key hub-keys/hub.pub --log-key hub-keys/log.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if hc.opts.Plaintext {
				return errors.New("hub keys: keys fetched without TLS prove nothing; pin the hub with --hub-fingerprint (or $" + fingerprintEnv + ") or --hub-ca")
			}
			if hc.opts.Fingerprint == "" && os.Getenv(fingerprintEnv) == "" && hc.opts.CAFile == "" {
				return errors.New("hub keys: pin the hub's certificate with --hub-fingerprint (or $" + fingerprintEnv + "), as 'potluck hub serve' prints it, or give --hub-ca")
			}
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			info, err := client.Info(cmd.Context())
			if err != nil {
				return err
			}
			if pin := cmp.Or(hc.opts.Fingerprint, os.Getenv(fingerprintEnv)); pin != "" && info.TLSFingerprint != "" && !sameFingerprint(pin, info.TLSFingerprint) {
				return fmt.Errorf("hub keys: the hub reports TLS fingerprint %s, not the pinned %s", info.TLSFingerprint, pin)
			}
			hubPub, logPub := filepath.Join(out, "hub.pub"), filepath.Join(out, "log.pub")
			if !force {
				for _, p := range []string{hubPub, logPub} {
					if _, err := os.Stat(p); err == nil {
						return fmt.Errorf("hub keys: %s exists; compare it, or pass --force to overwrite", p)
					}
				}
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(hubPub, info.HubKey.PEM, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(logPub, []byte(info.LogKey+"\n"), 0o644); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "hub key %s into %s\n", info.HubKey.Hint(), hubPub)
			fmt.Fprintf(w, "log key %s into %s\n", info.LogKey, logPub)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", ".", "folder to write hub.pub and log.pub into")
	c.Flags().BoolVar(&force, "force", false, "overwrite hub.pub and log.pub if they exist")
	hubFlag(c, &hc)
	return c
}

// sameFingerprint compares two fingerprints written either way (hex, with
// or without colons and "sha256:").
func sameFingerprint(a, b string) bool {
	norm := func(s string) string {
		return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(strings.TrimSpace(s), "sha256:"), ":", ""))
	}
	return norm(a) == norm(b)
}
