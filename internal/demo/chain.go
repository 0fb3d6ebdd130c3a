package demo

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
)

// Chained is the demo's second round: the labs' deltas against the merge
// and the hub's merge of them.
type Chained struct {
	FineTuned []string // each lab's fine-tune of the merge
	DeltaDirs []string
	DeltaCIDs []string
	MergeCID  string // M2, over the first merge
	Rebuilt   string // lab-a's fine-tune, rebuilt by node apply from the hub's releases
	// Attested is lab-b's signed score of MergeCID.
	Attested *potluck.Attestation
}

// buildOnMerge is the study group's second round: each lab continues
// training from the merge it pulled and publishes a delta against the
// pulled folder (lab-a exactly, so it can be rebuilt bit for bit); the hub
// merges them over the merge; an auditor recomputes that merge; and
// lab-b rebuilds lab-a's fine-tune from the hub's releases.
func buildOnMerge(ctx context.Context, w io.Writer, clients []*node.Client, r *Result, signers []*signing.Signer) error {
	c := &Chained{}
	r.Chained = c
	for i, lab := range labs {
		ft := filepath.Join(r.Dir, lab+"-finetuned-from-merge")
		fmt.Fprintf(w, "==> %s continues training from the merge it pulled and publishes against it (%s − merged)\n", lab, filepath.Base(ft))
		if err := testmodel.Perturb(r.MergedDir, ft, uint64(20+i), 0.02); err != nil {
			return err
		}
		out := filepath.Join(r.Dir, lab+"-delta-on-merge")
		man, err := node.MakeDelta(ctx, node.DeltaOptions{BaseDir: r.MergedDir, FinetunedDir: ft, OutDir: out, Exact: i == 0})
		if err != nil {
			return err
		}
		scan, bundle, err := node.SignDir(out, signers[i])
		if err != nil {
			return err
		}
		rel, err := clients[i].Publish(ctx, scan, bundle, man.Base, nil)
		if err != nil {
			return err
		}
		how := "in the weights' dtypes"
		if i == 0 {
			how = "exact: F32 for bf16 weights, F64 for f32"
		}
		fmt.Fprintf(w, "    delta %s of merge %s (%d tensors, %d bytes, %s)\n", rel.CID, rel.Base, len(man.Tensors), scan.Size(), how)
		c.FineTuned, c.DeltaDirs, c.DeltaCIDs = append(c.FineTuned, ft), append(c.DeltaDirs, out), append(c.DeltaCIDs, rel.CID)
	}
	fmt.Fprintf(w, "==> the hub merges them over the merge\n")
	m2, err := clients[0].Merge(ctx, []byte(recipe(r.MergeCID, c.DeltaCIDs)))
	if err != nil {
		return err
	}
	c.MergeCID = m2.CID
	fmt.Fprintf(w, "    merge %s over %s, of %s\n", m2.CID, m2.Base, strings.Join(m2.Inputs, " and "))
	info, err := clients[1].Info(ctx)
	if err != nil {
		return err
	}
	if err := recomputeChained(ctx, w, clients[1], r, info.TrustedKeys()); err != nil {
		return err
	}
	if err := rebuild(ctx, w, clients[1], r, info.TrustedKeys()); err != nil {
		return err
	}
	return attest(ctx, w, clients[1], signers[1], r)
}

// attest is lab-b's `potluck node attest`: it measures the second merge
// against its own fine-tune (the demo's models are random, so the score is
// a distance in weight space, not a task's accuracy) and signs the number;
// the hub logs the claim and lists it with the release.
func attest(ctx context.Context, w io.Writer, client *node.Client, s *signing.Signer, r *Result) error {
	c := r.Chained
	fmt.Fprintf(w, "==> lab-b measures the merge against its own fine-tune and attests the score (potluck node attest)\n")
	m2 := filepath.Join(r.Dir, "recompute-merge-2", "out") // the recomputed merge: the hub's bytes
	d, err := testmodel.RMSDistance(m2, c.FineTuned[1])
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	a, err := client.Attest(ctx, s, c.MergeCID, potluck.Evaluation{Task: "lab-b/own-finetune", Metric: "rms_distance", Value: d})
	if err != nil {
		return err
	}
	got, err := client.Attestations(ctx, c.MergeCID, "", "")
	if err != nil {
		return err
	}
	logged := "not logged"
	if a.Receipt != nil {
		logged = fmt.Sprintf("log entry %d", a.Receipt.Index)
	}
	fmt.Fprintf(w, "    %s attests %s %s = %.6g on %s (%s); the hub lists %d attestation(s) for it\n",
		a.Org, a.Claim.Task, a.Claim.Metric, a.Claim.Value, c.MergeCID, logged, len(got))
	c.Attested = a
	return nil
}

// recomputeChained is an auditor's `potluck verify --recompute` of M2.
func recomputeChained(ctx context.Context, w io.Writer, client *node.Client, r *Result, trusted []*signing.PublicKey) error {
	fmt.Fprintf(w, "==> an auditor recomputes it from the hub's releases (potluck verify --recompute)\n")
	rc, err := client.Recompute(ctx, r.Chained.MergeCID, filepath.Join(r.Dir, "recompute-merge-2"), trusted)
	if err != nil {
		return err
	}
	if !rc.Match() {
		return fmt.Errorf("demo: recomputing %s gives %s", rc.Published, rc.Local)
	}
	fmt.Fprintf(w, "    recomputed %s: identical to the hub's\n", rc.Local)
	return nil
}

// rebuild is lab-b's `potluck node apply` of lab-a's delta on the merge,
// both pulled from the hub: lab-a's fine-tune, byte for byte.
func rebuild(ctx context.Context, w io.Writer, client *node.Client, r *Result, trusted []*signing.PublicKey) error {
	c := r.Chained
	fmt.Fprintf(w, "==> lab-b rebuilds lab-a's fine-tune from the hub's releases (potluck node apply)\n")
	pulled := filepath.Join(r.Dir, "lab-b-pulled-"+labs[0]+"-delta-on-merge")
	if _, err := client.Pull(ctx, c.DeltaCIDs[0], pulled, trusted, nil); err != nil {
		return err
	}
	c.Rebuilt = filepath.Join(r.Dir, "lab-b-rebuilt-"+labs[0]+"-finetune")
	if _, err := node.Apply(ctx, node.ApplyOptions{DeltaDir: pulled, BaseDir: r.MergedDir, OutDir: c.Rebuilt}); err != nil {
		return err
	}
	n, err := testmodel.SameFiles(c.FineTuned[0], c.Rebuilt)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(w, "    %s: %d files, identical to lab-a's byte for byte\n", c.Rebuilt, n)
	return nil
}
