package merge

import (
	"context"
	"fmt"
)

// Resolver fetches a release by CID into a local directory and returns it;
// Open then checks that the directory's CID is the one asked for.
type Resolver func(ctx context.Context, cid string) (dir string, err error)

// OpenLocal resolves a recipe whose base and models are local directories.
func OpenLocal(r *Recipe) (*Job, error) { return Open(context.Background(), r, nil) }

// Open opens a recipe's inputs as local directories: each reference is a
// directory, or, with resolve, a CID that resolve fetches. A model may be a
// delta directory (its manifest must name the base), a PEFT LoRA adapter, a
// full fine-tuned model, or the base itself. Every directory's CID is
// computed (the one a hub gives it, model.sig left out), so a local merge
// reproduces a hub's bytes.
func Open(ctx context.Context, r *Recipe, resolve Resolver) (*Job, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	job := &Job{Recipe: r}
	var err error
	if job.Base, job.BaseCID, err = openRef(ctx, r.BaseModel, resolve); err != nil {
		return nil, fmt.Errorf("merge: base_model: %w", err)
	}
	for i, m := range r.Models {
		d, c, err := openRef(ctx, m.Model, resolve)
		if err != nil {
			job.Close()
			return nil, fmt.Errorf("merge: models[%d]: %w", i, err)
		}
		job.Deltas = append(job.Deltas, d)
		job.DeltaCIDs = append(job.DeltaCIDs, c)
	}
	return job, nil
}

// openRef opens one recipe reference and computes its CID.
func openRef(ctx context.Context, ref string, resolve Resolver) (*Model, string, error) {
	dir := ref
	if resolve != nil {
		var err error
		if dir, err = resolve(ctx, ref); err != nil {
			return nil, "", err
		}
	}
	scan, stats, err := scanLocal(dir, resolve == nil)
	if err != nil {
		return nil, "", err
	}
	c, err := scan.CID()
	if err != nil {
		return nil, "", err
	}
	if resolve != nil && c.String() != ref {
		return nil, "", fmt.Errorf("%w: %s holds %s, not %s", ErrIncompatible, dir, c, ref)
	}
	m, err := OpenDir(dir)
	if err != nil {
		return nil, "", err
	}
	withScanStats(m, stats)
	return m, c.String(), nil
}

// Close closes every input of the job.
func (j *Job) Close() {
	if j.Base != nil {
		j.Base.Close()
	}
	for _, d := range j.Deltas {
		d.Close()
	}
}
