package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
)

func verifyCmd() *cobra.Command {
	var hc hubConn
	var bundle, logKey string
	var keys, ignore []string
	var recompute, asJSON bool
	var work string
	c := &cobra.Command{
		Use:   "verify DIR|CID",
		Short: "Check a release's signature and every file's digest",
		Long: `Verify a release directory offline (DIR/model.sig against --key keys, or
the hub's keys with --hub), or a release on a hub by CID (fetched to a
temporary directory and checked byte by byte). Checks: the signature is by a
trusted key over exactly the directory's files; each file's SHA-256; for a
delta or merge, the manifest's sizes, digests and CIDs; the log receipt and
merge provenance a pulled directory keeps; and each evaluation attestation
it keeps (.potluck/attestations/): signed by a trusted key, about exactly
this directory's files, and in the hub's log. An attestation signed by a key
not trusted is listed as unchecked. Exit status 0 only if every check holds.
A yanked release is reported, not failed: with --hub from the hub's record,
checked online now; offline from what the directory recorded when it was
pulled.`,
		Example: `  potluck verify ./merged --key hub.pub
  potluck verify ./pulled --hub 127.0.0.1:7420 --json
  potluck verify bafybei... --hub 127.0.0.1:7420
  potluck verify --recompute bafybei...merge --hub 127.0.0.1:7420
  potluck verify --recompute ./pulled-merge --hub 127.0.0.1:7420
  potluck verify ./merged --key hub-keys/hub.pub --log-key hub-keys/log.pub
  potluck verify ./model --bundle model.sig --key pub.pem --ignore-paths ignore-me   # as model_signing verify key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := args[0]
			logKey, err := readLogKey(logKey)
			if err != nil {
				return err
			}
			var client *node.Client
			if hc.addr != "" {
				var err error
				if client, err = hc.dial(); err != nil {
					return err
				}
				defer client.Close()
			}
			if len(keys) == 0 && client == nil {
				return fmt.Errorf("give trusted keys with --key, or --hub to trust the hub's")
			}
			trusted, err := trustedKeys(cmd, keys, client)
			if err != nil {
				return err
			}
			if recompute {
				if st, err := os.Stat(target); err == nil && st.IsDir() {
					// A pulled merge: the release its files make.
					if target, err = node.DirCID(target); err != nil {
						return fmt.Errorf("--recompute %s: %w", args[0], err)
					}
				}
				return runRecompute(cmd, client, target, work, trusted, asJSON)
			}
			if st, err := os.Stat(target); err != nil || !st.IsDir() {
				if client == nil {
					return fmt.Errorf("%s is not a directory; to verify a CID give --hub", target)
				}
				return runAudit(cmd, client, target, work, trusted, logKey, asJSON)
			}
			return printVerify(cmd, target, trusted, node.VerifyOptions{Bundle: bundle, IgnorePaths: ignore, LogKey: logKey}, client, asJSON)
		},
	}
	hc.register(c, "", "hub gRPC address (to verify a CID, or to trust the hub's keys)")
	c.Flags().StringSliceVar(&keys, "key", nil, "trusted public key PEM (repeatable)")
	c.Flags().StringVar(&bundle, "bundle", "", "signature file (default DIR/model.sig)")
	c.Flags().BoolVar(&recompute, "recompute", false, "re-run the merge CID names from its recorded recipe and inputs, and compare CIDs (needs --hub)")
	c.Flags().StringVar(&work, "work", "", "with a CID: keep what is fetched here (default: a temporary folder)")
	c.Flags().StringVar(&logKey, "log-key", "", "the hub's log verifier key, or a file holding it (DATA/log.pub, 'potluck hub keys'): check the release's log receipt against it")
	c.Flags().StringSliceVar(&ignore, "ignore-paths", nil, "paths inside DIR left out of the signature (repeatable)")
	jsonFlag(c, &asJSON)
	return c
}

// printVerify verifies dir and reports each check; with a hub client, it
// also replays the hub's log to check the signing key was valid when the
// release was logged.
func printVerify(cmd *cobra.Command, dir string, trusted []*signing.PublicKey, o node.VerifyOptions, client *node.Client, asJSON bool) error {
	rep, err := node.VerifyDirWith(dir, trusted, o)
	if err != nil {
		return err
	}
	var kc *node.KeyCheck
	if client != nil && rep.Receipt != nil {
		if kc, err = client.CheckKeyAtLogTime(cmd.Context(), rep.Receipt); err != nil {
			return err
		}
	}
	if asJSON {
		return printJSON(cmd.OutOrStdout(), newReportJSON(rep, kc))
	}
	printReport(cmd.OutOrStdout(), "", rep, kc)
	return printYank(cmd, "", rep.CID, rep.Yank, client)
}

// runAudit verifies a release on a hub and, for a merge, every input.
func runAudit(cmd *cobra.Command, client *node.Client, cid, work string, trusted []*signing.PublicKey, logKey string, asJSON bool) error {
	if work == "" {
		tmp, err := os.MkdirTemp("", "potluck-verify-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		work = tmp
	}
	a, err := client.Audit(cmd.Context(), cid, work, trusted, logKey)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(cmd.OutOrStdout(), auditJSON(a))
	}
	return printAudit(cmd, "", a, client)
}

func printAudit(cmd *cobra.Command, indent string, a *node.Audit, client *node.Client) error {
	w := cmd.OutOrStdout()
	printReport(w, indent, a.Report, a.Key)
	if err := printYank(cmd, indent, a.CID, a.Report.Yank, client); err != nil {
		return err
	}
	for _, in := range a.Inputs {
		fmt.Fprintf(w, "%s  input %s:\n", indent, in.CID)
		if err := printAudit(cmd, indent+"    ", in, client); err != nil {
			return err
		}
	}
	return nil
}

func printReport(w io.Writer, indent string, rep *node.Report, kc *node.KeyCheck) {
	fmt.Fprintf(w, "%sok  signature by key %s over %d files\n", indent, rep.Signed.Key.Hint(), len(rep.Signed.Resources))
	fmt.Fprintf(w, "%sok  every file's sha256\n", indent)
	if rep.Manifest != nil {
		fmt.Fprintf(w, "%sok  manifest: %s of base %s, %d files, %d tensors\n", indent, rep.Manifest.Kind, rep.Manifest.Base, len(rep.Manifest.Files), len(rep.Manifest.Tensors))
	}
	if r := rep.Receipt; r != nil {
		how := "pinned with --log-key"
		if !rep.LogKeyPinned {
			how = "the key recorded at pull time; pin it with --log-key"
		}
		fmt.Fprintf(w, "%sok  in the hub's log: entry %d, under a checkpoint signed by %s (%s)\n", indent, r.Index, strings.SplitN(r.LogKey, "+", 2)[0], how)
	}
	if kc != nil {
		fmt.Fprintf(w, "%sok  the signing key was %s's, valid when the release was logged (%s)\n", indent, kc.Org, kc.LoggedAt.Format(time.RFC3339))
	}
	if p := rep.Provenance; p != nil {
		fmt.Fprintf(w, "%sok  merge provenance signed by the hub: base %s and %d inputs, %s\n", indent, p.Base.CID, len(p.Inputs), p.Engine)
	}
	for _, k := range rep.Attestations {
		if k.Key == nil {
			fmt.Fprintf(w, "%s--  attestation %s by %s: signed by a key not trusted; not checked\n", indent, k.File, k.Attestation.Org)
			continue
		}
		fmt.Fprintf(w, "%sok  attestation: %s%s\n", indent, claimLine(k.Attestation), logEntry(k.Attestation))
	}
	if rep.CID != "" {
		fmt.Fprintf(w, "%scid %s\n", indent, rep.CID)
	}
}

// runRecompute re-runs a hub's merge locally and compares CIDs.
func runRecompute(cmd *cobra.Command, client *node.Client, cid, work string, trusted []*signing.PublicKey, asJSON bool) error {
	if client == nil {
		return fmt.Errorf("--recompute needs --hub to fetch the merge and its inputs")
	}
	if work == "" {
		tmp, err := os.MkdirTemp("", "potluck-recompute-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		work = tmp
	}
	var o node.RecomputeOptions
	if !asJSON {
		o.Pulled = func(c string) node.Progress {
			return stepProgress(cmd.ErrOrStderr(), "pulled "+c[:min(len(c), 16)]+"…", false)
		}
		o.Merged = mergeProgress(os.Stderr, "the recorded recipe")
	}
	r, err := client.RecomputeWith(cmd.Context(), cid, work, trusted, o)
	if err != nil {
		return err
	}
	if asJSON && r.Match() {
		return printJSON(cmd.OutOrStdout(), map[string]any{"published": r.Published, "local": r.Local, "match": true})
	}
	if !r.Match() {
		return fmt.Errorf("%w: the hub published %s, the recorded recipe over the recorded inputs gives %s", node.ErrVerify, r.Published, r.Local)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "ok  recomputed locally from the recorded recipe and inputs: %s, the published CID\n", r.Local)
	return nil
}

// readLogKey takes --log-key as the key itself or as a file holding it
// (DATA/log.pub, or what 'potluck hub keys' wrote).
func readLogKey(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	b, err := os.ReadFile(v)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if strings.Count(v, "+") >= 2 && !strings.ContainsAny(v, "/\\ ") {
		return v, nil // NAME+HASH+KEY
	}
	return "", fmt.Errorf("--log-key %s: %w (give the key, NAME+HASH+KEY, or a file holding it)", v, err)
}
