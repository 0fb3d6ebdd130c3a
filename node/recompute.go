package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// Recomputed is the outcome of Recompute.
type Recomputed struct {
	Published string // the merge's CID on the hub
	Local     string // the CID of the merge run here
	Dir       string // where the local output is
}

// Match reports whether the local merge gave the published bytes.
func (r *Recomputed) Match() bool { return r.Published == r.Local }

// Recompute re-runs a hub's merge here: it pulls the merge (checking the
// hub's signature, receipt and provenance), reads the recipe it records,
// pulls the base and every input (checking each against trusted keys and
// its CID), runs the recipe locally into work/out and returns both CIDs.
// Deterministic merges make them equal; a hub that published other bytes
// than its recipe gives is caught.
func (c *Client) Recompute(ctx context.Context, mergeCID, work string, trusted []*signing.PublicKey) (*Recomputed, error) {
	return c.RecomputeWith(ctx, mergeCID, work, trusted, RecomputeOptions{})
}

// RecomputeOptions report a recompute's progress; the zero value is quiet.
type RecomputeOptions struct {
	// Pulled, when set, makes a progress report for each release pulled
	// (the merge, then each input it records), named by its CID.
	Pulled func(cid string) Progress
	// Merged is told how many output tensors are written of how many.
	Merged func(done, total int)
}

// RecomputeWith is Recompute reporting its progress: a recompute of a
// 14 GB merge pulls and merges for minutes.
func (c *Client) RecomputeWith(ctx context.Context, mergeCID, work string, trusted []*signing.PublicKey, o RecomputeOptions) (*Recomputed, error) {
	pulled := func(cid string) Progress {
		if o.Pulled == nil {
			return nil
		}
		return o.Pulled(cid)
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	pulledDir := filepath.Join(work, "published")
	if _, err := c.Pull(ctx, mergeCID, pulledDir, trusted, pulled(mergeCID)); err != nil {
		return nil, err
	}
	man, err := potluck.ReadManifest(pulledDir)
	if err != nil {
		return nil, err
	}
	if man.Kind != potluck.KindMerge || man.Merge == nil {
		return nil, fmt.Errorf("%w: %s is a %s, not a merge", ErrVerify, mergeCID, man.Kind)
	}
	recipe, err := merge.ParseRecipe(man.Merge.Recipe)
	if err != nil {
		return nil, fmt.Errorf("the recipe %s records: %w", mergeCID, err)
	}
	fetched := map[string]string{}
	resolve := func(ctx context.Context, cid string) (string, error) {
		if dir, ok := fetched[cid]; ok {
			return dir, nil
		}
		dir := filepath.Join(work, "inputs", cid)
		if _, err := os.Stat(dir); err != nil {
			if _, err := c.Pull(ctx, cid, dir, trusted, pulled(cid)); err != nil {
				return "", err
			}
		}
		fetched[cid] = dir
		return dir, nil
	}
	job, err := merge.Open(ctx, recipe, resolve)
	if err != nil {
		return nil, err
	}
	defer job.Close()
	// The options that decide the output's bytes are the ones the merge
	// recorded, its engine's semantics included, not this binary's.
	job.Engine, job.ShardSize = man.Merge.Engine, man.Merge.ShardSize
	job.Output = merge.OutputOptions{NoModelCard: man.Merge.NoModelCard, NoTokenizer: man.Merge.NoTokenizer}
	job.Progress = o.Merged
	out := filepath.Join(work, "out")
	if _, err := merge.Run(ctx, job, out); err != nil {
		return nil, err
	}
	scan, err := store.ScanDir(out)
	if err != nil {
		return nil, err
	}
	local, err := scan.CID()
	if err != nil {
		return nil, err
	}
	return &Recomputed{Published: mergeCID, Local: local.String(), Dir: out}, nil
}
