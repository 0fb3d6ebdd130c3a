package merge

import (
	"fmt"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/store"
)

// OpenLocal resolves a recipe whose base and models are local directories:
// it opens them, computes their CIDs (the ones a hub gives the same
// directories, so a local merge reproduces a hub's bytes), and checks that
// each delta's manifest names the recipe's base.
func OpenLocal(r *Recipe) (*Job, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	baseCID, err := store.HashDir(r.BaseModel)
	if err != nil {
		return nil, fmt.Errorf("merge: base_model: %w", err)
	}
	job := &Job{Recipe: r, BaseCID: baseCID.String()}
	if job.Base, err = OpenDir(r.BaseModel); err != nil {
		return nil, err
	}
	for i, m := range r.Models {
		d, c, err := openLocalDelta(m.Model, job.BaseCID)
		if err != nil {
			job.Close()
			return nil, fmt.Errorf("merge: models[%d]: %w", i, err)
		}
		job.Deltas = append(job.Deltas, d)
		job.DeltaCIDs = append(job.DeltaCIDs, c)
	}
	return job, nil
}

func openLocalDelta(dir, baseCID string) (*Model, string, error) {
	man, err := potluck.ReadManifest(dir)
	if err != nil {
		return nil, "", fmt.Errorf("%s is not a delta directory: %w", dir, err)
	}
	if man.Base != baseCID {
		return nil, "", fmt.Errorf("%w: delta %s was made for base %s, the recipe's base is %s", ErrIncompatible, dir, man.Base, baseCID)
	}
	scan, err := potluck.ScanDir(dir)
	if err != nil {
		return nil, "", err
	}
	c, err := scan.CID()
	if err != nil {
		return nil, "", err
	}
	m, err := OpenDir(dir)
	return m, c.String(), err
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
