package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
)

func nodeAttestCmd() *cobra.Command {
	var hc hubConn
	var keyPath, detailsFile string
	var e potluck.Evaluation
	var asJSON bool
	c := &cobra.Command{
		Use:   "attest CID --task T --metric M --value V",
		Short: "Sign and record how a release scored on a task",
		Long: `Sign, with your org's key, an evaluation attestation (an in-toto
statement whose subject is the release, by CID and by the root SHA-256 of its
files, and whose predicate is the task, metric, value and, optionally, the
evaluation data's digest and free-form JSON details) and have the hub record
it in its log. The hub checks the signature as it checks an upload's (a key
of your org, valid now), that it holds the release, and that the claim is
well formed; it never computes or edits the numbers, which everyone sees as a
claim by your org ("claimed by lab-a"). Pulls keep the attestations, and
'potluck verify' and 'potluck log verify --attestations' check them.`,
		Example: `  potluck node attest bafybei... --task mmlu --metric accuracy --value 0.634 \
    --dataset-digest sha256:9f86d0... --key lab-a.key --hub 127.0.0.1:7420
  potluck node attest bafybei... --task lab-a/contracts-qa --metric loss --value 1.92 --details scores.json --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if detailsFile != "" {
				b, err := os.ReadFile(detailsFile)
				if err != nil {
					return err
				}
				if !json.Valid(b) {
					return fmt.Errorf("--details %s: not valid JSON", detailsFile)
				}
				e.Details = b
			}
			signer, err := loadSigner(cmd, keyPath)
			if err != nil {
				return err
			}
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			a, err := client.Attest(cmd.Context(), signer, args[0], e)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), a)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s%s\n", claimLine(a), logEntry(a))
			return nil
		},
	}
	hubFlag(c, &hc)
	c.Flags().StringVar(&keyPath, "key", "potluck.key", "your signing key")
	c.Flags().StringVar(&e.Task, "task", "", "the task evaluated, e.g. mmlu or lab-a/contracts-qa (required)")
	c.Flags().StringVar(&e.Metric, "metric", "", "the metric, e.g. accuracy, exact_match or loss (required)")
	c.Flags().Float64Var(&e.Value, "value", 0, "the value measured (required)")
	c.Flags().StringVar(&e.DatasetDigest, "dataset-digest", "", "sha256:<hex> of the evaluation data")
	c.Flags().StringVar(&detailsFile, "details", "", "a JSON file of details (per-class scores, settings), at most 64 KiB")
	jsonFlag(c, &asJSON)
	for _, f := range []string{"task", "metric", "value"} {
		c.MarkFlagRequired(f)
	}
	return c
}

// claimLine shows an attestation as what it is: a claim by an org.
func claimLine(a *potluck.Attestation) string {
	return fmt.Sprintf("%s %s %v on %s, claimed by %s (key %s)", a.Claim.Task, a.Claim.Metric, a.Claim.Value, a.Release, a.Org, a.KeyHint)
}

func logEntry(a *potluck.Attestation) string {
	if a.Receipt == nil {
		return ""
	}
	return fmt.Sprintf(", log entry %d", a.Receipt.Index)
}
