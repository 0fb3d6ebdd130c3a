package merge

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// Resolver fetches a release by CID into a local directory and returns it;
// Open then checks that the directory's CID is the one asked for.
type Resolver func(ctx context.Context, cid string) (dir string, err error)

// OpenOptions says where a recipe's references are found.
type OpenOptions struct {
	// Resolve, when set, takes every reference for a CID and fetches it
	// (a hub's releases); the other options are then unused.
	Resolve Resolver
	// Named maps names to directories: the outputs of earlier stages of a
	// multi-stage recipe (stages.go).
	Named map[string]string
	// HFCache is a Hugging Face hub cache (…/huggingface/hub) in which a
	// reference that is not a directory is looked up as org/name[@rev]
	// ("": none).
	HFCache string
	// AllowCrimes merges models whose configs name other architectures
	// than the base's (mergekit's --allow-crimes).
	AllowCrimes bool

	stats bool // take the inputs' trim statistics while hashing them
}

// OpenLocal resolves a recipe whose base and models are local directories.
func OpenLocal(r *Recipe) (*Job, error) { return Open(context.Background(), r, nil) }

// Open opens a recipe's inputs as local directories: each reference is a
// directory, or, with resolve, a CID that resolve fetches.
func Open(ctx context.Context, r *Recipe, resolve Resolver) (*Job, error) {
	return OpenWith(ctx, r, OpenOptions{Resolve: resolve})
}

// OpenWith opens a recipe's inputs. A model may be a delta directory (its
// manifest must name the base), a PEFT LoRA adapter, a full fine-tuned
// model, the base itself, or model+adapter: the model with the adapter
// applied. Every directory's CID is computed (the one a hub gives it,
// model.sig left out), so a local merge reproduces a hub's bytes. Without
// base_model (a method that needs none), the first model is the base.
func OpenWith(ctx context.Context, r *Recipe, o OpenOptions) (*Job, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	refs := r.References()
	job := &Job{Recipe: r}
	o.stats = methods[r.MergeMethod].magnitudeCuts
	base := r.BaseModel
	if base == "" {
		base = refs[0]
	}
	var err error
	if job.Base, job.BaseCID, err = o.open(ctx, base); err != nil {
		return nil, within("base_model", err)
	}
	for i, ref := range refs {
		d, c, err := o.open(ctx, ref)
		if err != nil {
			job.Close()
			return nil, within(r.where(i), err)
		}
		job.Deltas = append(job.Deltas, d)
		job.DeltaCIDs = append(job.DeltaCIDs, c)
	}
	if !o.AllowCrimes {
		if err := job.checkArchitectures(); err != nil {
			job.Close()
			return nil, err
		}
	}
	return job, nil
}

// where names reference i of the recipe for messages.
func (r *Recipe) where(i int) string {
	if len(r.Slices) > 0 {
		return fmt.Sprintf("slices: model %s", r.References()[i])
	}
	return fmt.Sprintf("models[%d]", i)
}

// open opens one reference: model, or model+adapter with the adapter
// applied, and returns it with its CID (cid+cid for a pair).
func (o OpenOptions) open(ctx context.Context, ref string) (*Model, string, error) {
	model, adapter, pair := splitAdapter(ref, o)
	m, c, err := o.openOne(ctx, model)
	if err != nil || !pair {
		return m, c, err
	}
	a, ac, err := o.openOne(ctx, adapter)
	if err != nil {
		m.Close()
		return nil, "", err
	}
	applied, err := applyAdapter(m, a)
	if err != nil {
		m.Close()
		a.Close()
		return nil, "", err
	}
	return applied, c + "+" + ac, nil
}

// splitAdapter splits mergekit's model+adapter reference. A local directory
// whose name holds a "+" is a directory.
func splitAdapter(ref string, o OpenOptions) (model, adapter string, pair bool) {
	if o.Resolve == nil {
		if st, err := os.Stat(ref); err == nil && st.IsDir() {
			return ref, "", false
		}
	}
	model, adapter, pair = strings.Cut(ref, "+")
	return model, adapter, pair
}

// openOne opens one directory and computes its CID.
func (o OpenOptions) openOne(ctx context.Context, ref string) (*Model, string, error) {
	dir, how, err := o.locate(ctx, ref)
	if err != nil {
		return nil, "", err
	}
	if err := refusePickle(dir); err != nil {
		return nil, "", err
	}
	if how == bySnapshot {
		c, err := linkedDir(dir).cid()
		if err != nil {
			return nil, "", err
		}
		m, err := OpenModel(dir, linkedDir(dir))
		return m, c, err
	}
	scan, stats, err := scanLocal(dir, how == byPath, o.stats)
	if err != nil {
		return nil, "", err
	}
	c, err := scan.CID()
	if err != nil {
		return nil, "", err
	}
	if how == byCID && c.String() != ref {
		return nil, "", fmt.Errorf("%w: %s holds %s, not %s", ErrIncompatible, dir, c, ref)
	}
	m, err := OpenDir(dir)
	if err != nil {
		return nil, "", err
	}
	withScanStats(m, stats)
	return m, c.String(), nil
}

// How a reference was found.
const (
	byPath     = iota // a directory
	byCID             // fetched by Resolve: its CID must be the reference
	bySnapshot        // a Hugging Face snapshot: a directory of links
)

// locate finds a reference's directory: an earlier stage's output by its
// name, a CID through Resolve, a directory, or a Hugging Face name in the
// local cache.
func (o OpenOptions) locate(ctx context.Context, ref string) (dir string, how int, err error) {
	if dir, ok := o.Named[ref]; ok {
		return dir, byPath, nil
	}
	if o.Resolve != nil {
		dir, err = o.Resolve(ctx, ref)
		return dir, byCID, err
	}
	if _, err := os.Stat(ref); err == nil || o.HFCache == "" || !looksLikeRepo(ref) {
		return ref, byPath, nil // OpenDir says what is wrong with it
	}
	dir, err = hfSnapshot(o.HFCache, ref)
	return dir, bySnapshot, err
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

// Open opens one reference as OpenWith opens a recipe's (a directory, a
// CID, a Hugging Face name, model+adapter) and returns it with its CID.
func (o OpenOptions) Open(ctx context.Context, ref string) (*Model, string, error) {
	return o.open(ctx, ref)
}
