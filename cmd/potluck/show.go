package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
)

func showCmd() *cobra.Command {
	var hc hubConn
	var asJSON bool
	c := &cobra.Command{
		Use:   "show CID",
		Short: "Describe one release: who, how it was admitted, where it sits in the graph",
		Long: `Describe a release the hub holds: its kind, publisher and signing key (with
the window in which the key may sign, as the hub's log last states it), the
admission checks it passed, its log entry, its parents (base, and a merge's
inputs) and the releases built directly on it, the evaluations attested of
it, for a merge the provenance the hub signed (recipe, inputs with their
weights), and its yank, if it was withdrawn. --json prints the hub's record
with children and attestations, as the HTTP JSON serves it.`,
		Example: `  potluck show bafybei... --hub 127.0.0.1:7420
  potluck show bafybei... --json --hub 127.0.0.1:7420`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			d, err := client.Detail(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), d)
			}
			return printShow(cmd.Context(), cmd.OutOrStdout(), client, d)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	hubFlag(c, &hc)
	return c
}

// printShow writes a release's description, a label and a value a line.
func printShow(ctx context.Context, w io.Writer, client *node.Client, d *potluck.ReleaseDetail) error {
	r := d.Release
	key, err := keyLine(ctx, client, r.KeyHint)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(label string, values ...string) {
		if len(values) == 0 {
			values = []string{"none"}
		}
		for i, v := range values {
			if i > 0 {
				label = ""
			}
			fmt.Fprintf(tw, "%s\t%s\n", label, v)
		}
	}
	line("release", r.CID)
	line("kind", string(r.Kind))
	line("publisher", r.Publisher)
	line("created", r.Created.UTC().Format(time.RFC3339))
	line("signing key", key)
	line("checks", checksText(r.Checks))
	if r.Receipt != nil {
		line("log", fmt.Sprintf("entry %d", r.Receipt.Index))
	}
	var prov *potluck.Provenance
	if r.Provenance != nil {
		if prov, err = checkedProvenance(ctx, client, r); err != nil {
			return err
		}
	}
	line("parents", parents(r, prov)...)
	line("children", d.Children...)
	line("attestations", attestationLines(d.Attestations)...)
	if prov != nil {
		lines, err := provenanceLines(r, prov)
		if err != nil {
			return err
		}
		line("provenance", lines...)
	}
	line("yanked", yankText(r.Yank))
	return tw.Flush()
}

// keyLine says whose key signed the release and when it may sign, from the
// hub's log.
func keyLine(ctx context.Context, client *node.Client, hint string) (string, error) {
	k, at, err := client.KeyState(ctx, hint)
	if err != nil {
		return "", err
	}
	switch {
	case k == nil:
		return hint + " (the hub's log names no such key)", nil
	case k.Action == potluck.KeyRemove:
		return fmt.Sprintf("%s of %s: removed from the members (log entry %d)", hint, k.Org, at), nil
	}
	return fmt.Sprintf("%s of %s: %s (log entry %d)", hint, k.Org, windowText(k.Window()), at), nil
}

func windowText(w potluck.KeyWindow) string {
	s := "valid from any time"
	if !w.NotBefore.IsZero() {
		s = "valid from " + w.NotBefore.Format(time.RFC3339)
	}
	if w.NotAfter.IsZero() {
		s += ", no end"
	} else {
		s += " until " + w.NotAfter.Format(time.RFC3339)
	}
	if !w.Revoked.IsZero() {
		s += ", revoked " + w.Revoked.Format(time.RFC3339)
	}
	return s
}

func checksText(cs []potluck.Check) string {
	if len(cs) == 0 {
		return "none (a merge is computed by the hub, not admitted)"
	}
	var names []string
	for _, c := range cs {
		if c.Passed {
			names = append(names, c.Name)
		} else {
			names = append(names, fmt.Sprintf("%s FAILED: %s", c.Name, c.Reason))
		}
	}
	return strings.Join(names, ", ")
}

func attestationLines(as []*potluck.Attestation) []string {
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s/%s = %g by %s (key %s, %s)", a.Claim.Task, a.Claim.Metric, a.Claim.Value, a.Org, a.KeyHint,
			a.Created.UTC().Format(time.RFC3339)))
	}
	return out
}

// checkedProvenance is a merge's provenance, checked against the hub's
// keys and the release's signed files.
func checkedProvenance(ctx context.Context, client *node.Client, r *potluck.Release) (*potluck.Provenance, error) {
	info, err := client.Info(ctx)
	if err != nil {
		return nil, err
	}
	signed, err := signing.VerifyBundle(r.Bundle, info.TrustedKeys())
	if err != nil {
		return nil, fmt.Errorf("release %s: signature: %w", r.CID, err)
	}
	p, _, err := node.CheckProvenance(r.Provenance, info.TrustedKeys(), r.CID, signed.Root)
	if err != nil {
		return nil, fmt.Errorf("release %s: provenance: %w", r.CID, err)
	}
	return p, nil
}

// parents are the release's base and inputs; a merge recorded without
// its inputs has them in its provenance.
func parents(r *potluck.Release, p *potluck.Provenance) []string {
	if p == nil || len(r.Inputs) > 0 {
		return r.Parents()
	}
	c := *r
	for _, in := range p.Inputs {
		c.Inputs = append(c.Inputs, in.CID)
	}
	return c.Parents()
}

// provenanceLines describes a merge's provenance: the recipe's method, the
// engine, the base and each input with its weight.
func provenanceLines(r *potluck.Release, p *potluck.Provenance) ([]string, error) {
	var recipe struct {
		Method string `json:"merge_method"`
	}
	if err := json.Unmarshal(p.Recipe, &recipe); err != nil {
		return nil, fmt.Errorf("release %s: provenance recipe: %w", r.CID, err)
	}
	out := []string{"recipe " + recipe.Method + ", engine " + p.Engine + " (signed by the hub)", "base " + p.Base.CID}
	for _, in := range p.Inputs {
		w := fmt.Sprintf("%g", in.Weight)
		if len(in.Gradient) > 0 {
			w = fmt.Sprintf("%g (over the layers)", in.Gradient)
		}
		out = append(out, fmt.Sprintf("input %s weight %s", in.CID, w))
	}
	return out, nil
}

func yankText(y *potluck.Yank) string {
	if y == nil {
		return "no"
	}
	return fmt.Sprintf("by %s at %s (log entry %d): %s", y.Org, y.Time.UTC().Format(time.RFC3339), y.LogIndex, y.Reason)
}
