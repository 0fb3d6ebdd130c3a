package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// HubOrg is the publisher recorded on the merges the hub signs.
const HubOrg = "hub"

// Merge runs a recipe over releases the hub holds and stores the output as a
// merge release signed by the hub's key: it starts a merge job (see
// StartMerge) and waits for it. The same recipe over the same inputs gives
// the same bytes, hence the same CID: a repeated merge returns the recorded
// release.
func (h *Hub) Merge(ctx context.Context, recipe []byte) (*potluck.Release, error) {
	j, err := h.StartMerge(ctx, recipe)
	if err != nil {
		return nil, err
	}
	if j, err = h.WaitMergeJob(ctx, j.ID); err != nil {
		return nil, err
	}
	if j.State != potluck.JobDone {
		if j.Err == nil {
			return nil, fmt.Errorf("merge job %s: %s", j.ID, j.State)
		}
		return nil, j.Err
	}
	if j.Release == nil {
		return nil, fmt.Errorf("%w: merge job %s: its release is gone", ErrNotFound, j.ID)
	}
	return j.Release, nil
}

// merge runs a recipe, reporting progress, and ingests its output. The
// output is ingested whole or not at all: once the merge has finished,
// cancelling ctx no longer stops it.
func (h *Hub) merge(ctx context.Context, recipe []byte, progress func(done, total int)) (rel *potluck.Release, err error) {
	start := time.Now()
	defer func() {
		result := "ok"
		switch {
		case errors.Is(err, ErrCancelled) || errors.Is(err, context.Canceled):
			result = "cancelled"
		case err != nil:
			result = "error"
		}
		h.metrics.merges.WithLabelValues(result).Inc()
		h.metrics.mergeSecs.Observe(time.Since(start).Seconds())
	}()
	r, err := merge.ParseRecipe(recipe)
	if err != nil {
		return nil, err
	}
	job, err := h.resolve(ctx, r)
	if err != nil {
		return nil, err
	}
	defer job.Close()
	job.Progress = progress
	job.Workers = h.mergeThreads()
	work, err := h.workDir()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "out")
	if _, err := merge.Run(ctx, job, out); err != nil {
		return nil, err
	}
	if err := h.checkMergeOutput(job, out); err != nil {
		return nil, err
	}
	return h.ingestMerge(context.WithoutCancel(ctx), out, job.BaseCID, job.DeltaCIDs)
}

// mergeThreads is the goroutines one merge job uses: the cores shared
// among the jobs that may run at once. The output is the same for any
// count.
func (h *Hub) mergeThreads() int {
	jobs := h.opts.MergeWorkers
	if jobs <= 0 {
		jobs = DefaultMergeWorkers
	}
	return max(1, runtime.GOMAXPROCS(0)/jobs)
}

// resolve opens the recipe's base_model (a base or a merge) and its deltas
// from the store, checking that none is yanked and that each delta was
// published for that base_model (chain.go).
func (h *Hub) resolve(ctx context.Context, r *merge.Recipe) (*merge.Job, error) {
	baseRel, err := h.releases.get(r.BaseModel)
	if err != nil {
		return nil, fmt.Errorf("merge: base_model: %w", err)
	}
	if err := buildOn(baseRel, "merge: base_model"); err != nil {
		return nil, err
	}
	rels := make([]*potluck.Release, len(r.Models))
	for i, m := range r.Models {
		if rels[i], err = h.releases.get(m.Model); err != nil {
			return nil, fmt.Errorf("merge: models[%d]: %w", i, err)
		}
	}
	if err := checkInputs(r, baseRel, rels); err != nil {
		return nil, err
	}
	job := &merge.Job{Recipe: r, BaseCID: baseRel.CID}
	if job.Base, err = h.openRelease(ctx, baseRel); err != nil {
		return nil, err
	}
	for i, rel := range rels {
		d, err := h.openRelease(ctx, rel)
		if err != nil {
			job.Close()
			return nil, fmt.Errorf("merge: models[%d]: %w", i, err)
		}
		job.Deltas = append(job.Deltas, d)
		job.DeltaCIDs = append(job.DeltaCIDs, rel.CID)
	}
	return job, nil
}

func (h *Hub) workDir() (string, error) {
	root := filepath.Join(h.opts.DataDir, "work")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(root, "merge-")
}

// ingestMerge signs a merge output with the hub's key and stores it,
// recording its parents: its base and the recipe's models, in order.
func (h *Hub) ingestMerge(ctx context.Context, dir, base string, inputs []string) (*potluck.Release, error) {
	res, err := signing.DigestDir(dir, signing.DefaultIgnorePaths())
	if err != nil {
		return nil, err
	}
	bundle, err := signing.Sign(h.key, "merge", res, nil)
	if err != nil {
		return nil, err
	}
	entries, err := store.WalkDir(dir, func(p string) (store.FileInfo, error) { return h.addFile(ctx, p) })
	if err != nil {
		return nil, err
	}
	root, err := h.store.PutDir(ctx, entries)
	if err != nil {
		return nil, err
	}
	r := &potluck.Release{
		CID: root.String(), Kind: potluck.KindMerge, Base: base, Publisher: HubOrg, Files: store.Describe(entries),
		Bundle: bundle, KeyHint: h.key.Public().Hint(), Created: h.opts.Now().UTC(), Inputs: inputs,
	}
	man, err := potluck.ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if r.Provenance, err = h.provenance(r, man); err != nil {
		return nil, err
	}
	return h.record(r, inputs)
}

// addFile imports and commits one local file.
func (h *Hub) addFile(ctx context.Context, p string) (store.FileInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return store.FileInfo{}, err
	}
	defer f.Close()
	st, err := h.store.Add(f)
	if err != nil {
		return store.FileInfo{}, err
	}
	if err := st.Commit(ctx); err != nil {
		return store.FileInfo{}, err
	}
	return st.Info, nil
}
