package merge

import (
	"sync"
	"sync/atomic"
)

// A tensor's merge borrows the run's spare worker slots (run.go) for work
// that splits: each input's statistics, each segment's counts and merge
// (segment.go). Each slot it takes runs a copy of the tensor's run on a
// helper engine of its own, made on first use and kept for later tensors.

// fanOut calls fn for tasks 0 … n−1, on tr and on runs of the tensor on
// helper engines for as many spare slots as it can take at once, and
// returns the error of the lowest failed task. fn gets the run to use.
func (tr *tensorRun) fanOut(n int, fn func(r *tensorRun, k int) error) error {
	runs := append([]*tensorRun{tr}, tr.takeHelpers(n-1)...)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < n; k = int(next.Add(1) - 1) {
				errs[k] = fn(r, k)
			}
		})
	}
	wg.Wait()
	for range len(runs) - 1 {
		tr.e.r.giveSlot()
	}
	return firstError(errs)
}

// takeHelpers takes up to want spare slots (never more than Workers − 1)
// without waiting and returns a run of the tensor on a helper engine for
// each.
func (tr *tensorRun) takeHelpers(want int) []*tensorRun {
	var out []*tensorRun
	for len(out) < min(want, tr.e.r.workers-1) {
		r := tr.takeHelper(tr, len(out))
		if r == nil {
			break
		}
		out = append(out, r)
	}
	return out
}

// takeHelper takes a spare slot, if one is free now, and returns a clone of
// src on helper engine h (made on first use, then kept for later tensors);
// nil when no slot is free.
func (tr *tensorRun) takeHelper(src *tensorRun, h int) *tensorRun {
	e := tr.e
	if !e.r.takeSlot() {
		return nil
	}
	if h == len(e.helpers) {
		e.helpers = append(e.helpers, newEngine(e.r))
	}
	r, err := src.clone(e.helpers[h])
	if err != nil { // the tensor's readers opened once already: cannot fail
		e.r.giveSlot()
		return nil
	}
	return r
}

// clone returns a run of the same tensor for another engine, its prepared
// state (clipping, masks, rescaling, the combiner, the fused plan) copied:
// positional stages, which count as they go, as fresh copies of their own.
func (tr *tensorRun) clone(e *engine) (*tensorRun, error) {
	c, err := e.newRun(tr.bt)
	if err != nil {
		return nil, err
	}
	copy(c.clip, tr.clip)
	copy(c.resc, tr.resc)
	copy(c.masks, tr.masks)
	c.gram, c.comb, c.fused = tr.gram, tr.comb, tr.fused
	// The chunk is tr's: whole rows as tr's engine sized them, which may
	// be more than this engine's buffers hold so far.
	c.chunk = tr.chunk
	e.grow(c.chunk)
	for k := range len(c.masks) + 1 {
		if p, ok := c.stage(k); ok {
			c.setStage(k, p.after(tally{}))
		}
	}
	return c, nil
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
