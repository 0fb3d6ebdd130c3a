package merge

import (
	"context"
	"fmt"
	"slices"
)

// A job whose output is not its base's tensor for tensor runs as parts,
// each a job of its own over views (view.go): one per slice of a recipe
// of slices, or one over the whole model when some tensors outside the
// layers must be put together first (a tied lm_head, embeddings of
// another vocabulary). Any other job runs as it always has: one plan over
// its inputs as they are.

// plans plans the job's parts and returns their runs, in output order,
// and what the output needs beyond them.
func (j *Job) plans(ctx context.Context) ([]*run, *expansion, error) {
	if err := j.Recipe.Check(); err != nil {
		return nil, nil, err
	}
	if err := checkBaseModel(j.Base); err != nil {
		return nil, nil, err
	}
	var err error
	if j.sem, err = semanticsOf(j.Engine); err != nil {
		return nil, nil, err
	}
	x, err := j.expansion()
	if err != nil {
		return nil, nil, err
	}
	if x.none() {
		p, err := j.newPlan(ctx)
		if err != nil {
			return nil, nil, err
		}
		return []*run{newRun(j, p)}, x, nil
	}
	subs, err := x.jobs()
	if err != nil {
		return nil, nil, err
	}
	var runs []*run
	for i, sub := range subs {
		p, err := newPlan(ctx, sub)
		if err != nil {
			if len(subs) > 1 {
				err = within(fmt.Sprintf("slices[%d]", i), err)
			}
			return nil, nil, err
		}
		runs = append(runs, newRun(sub, p))
	}
	return runs, x, nil
}

// part starts a job for part of j's output, with j's options.
func (j *Job) part(r *Recipe, base *Model, baseCID string) *Job {
	return &Job{Recipe: r, Base: base, BaseCID: baseCID, Publisher: j.Publisher, Workers: j.Workers,
		ShardSize: j.ShardSize, ChunkElems: j.ChunkElems, SegmentElems: j.SegmentElems, Progress: j.Progress, Engine: j.Engine}
}

// jobs returns the parts' jobs, in output order.
func (x *expansion) jobs() ([]*Job, error) {
	j := x.j
	if len(j.Recipe.Slices) == 0 {
		sub := j.part(j.Recipe, x.view(j.Base, viewSpec{all: true}), j.BaseCID)
		for _, d := range j.Deltas {
			if x.full[d] {
				d = x.view(d, viewSpec{all: true})
			}
			sub.Deltas = append(sub.Deltas, d)
		}
		sub.DeltaCIDs = j.DeltaCIDs
		return []*Job{sub}, nil
	}
	var out []*Job
	at := 0
	for i, s := range j.Recipe.Slices {
		sub, err := x.sliceJob(i, s, at)
		if err != nil {
			return nil, within(fmt.Sprintf("slices[%d]", i), err)
		}
		out = append(out, sub)
		at += s.Sources[0].layers()
	}
	return out, nil
}

// sliceJob is slice i's job: its sources' layers shown as output layers
// from at, with the tensors outside the layers in the first slice and the
// last.
func (x *expansion) sliceJob(i int, s Slice, at int) (*Job, error) {
	j := x.j
	r, err := j.Recipe.sliceRecipe(i)
	if err != nil {
		return nil, err
	}
	spec := viewSpec{at: at, pre: i == 0, post: i == len(j.Recipe.Slices)-1}
	var views []*Model
	var ids []string
	for k, src := range s.Sources {
		m, cid := j.reference(src.Model)
		if !x.full[m] {
			return nil, fmt.Errorf("%w: sources[%d]: %s is a delta or an adapter; slices take full models", ErrIncompatible, k, src.Model)
		}
		if n := x.layers[m]; src.LayerRange[1] > n {
			return nil, fmt.Errorf("%w: sources[%d]: %s has %d layers; layer_range %v reaches past them", ErrIncompatible, k, src.Model, n, src.LayerRange)
		}
		spec.from, spec.to = src.LayerRange[0], src.LayerRange[1]
		views = append(views, x.view(m, spec))
		ids = append(ids, fmt.Sprintf("%s[%d:%d]", cid, spec.from, spec.to))
	}
	b := 0
	for k, mr := range r.Models {
		if mr.Model == r.BaseModel {
			b = k
			break
		}
	}
	sub := j.part(r, views[b], ids[b])
	sub.Deltas, sub.DeltaCIDs = views, ids
	sub.layerPos = slicePositions(views[b], s.Sources[0].layers())
	return sub, nil
}

// slicePositions gives a slice's tensors their positions for gradients:
// layer i of the slice's n at i/(n−1) (1 when n is 1), as mergekit spreads
// a gradient over a slice; the tensors outside the layers where a model's
// would be.
func slicePositions(base *Model, n int) map[string]float64 {
	names := base.Names()
	pos := layerPositions(names)
	first := -1
	for _, name := range names {
		if l := layerIndex(name); l >= 0 && (first < 0 || l < first) {
			first = l
		}
	}
	for _, name := range names {
		if l := layerIndex(name); l >= 0 {
			pos[name] = 1
			if n > 1 {
				pos[name] = float64(l-first) / float64(n-1)
			}
		}
	}
	return pos
}

// reference returns the opened model a recipe reference names, and its CID.
func (j *Job) reference(ref string) (*Model, string) {
	if i := slices.Index(j.Recipe.References(), ref); i >= 0 {
		return j.Deltas[i], j.DeltaCIDs[i]
	}
	return j.Base, j.BaseCID
}
