package hub

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/potluck-hub/potluck/merge"
)

// Nothing the hub admits or signs holds garbage: a base's values are
// finite (checkBaseValues), what a delta adds to a base tensor of norm 0 is
// bounded too (normBound), and a merge's output is checked before the hub
// signs it (checkMergeOutput): finite, and its change from the base within
// the bound a delta's is held to, whatever the recipe's scalars.

// normBound checks dn, the norm of a change to base tensor name of norm
// bn, against Screening: MaxNormRatio times bn, or MaxZeroBaseRMS for its
// root mean square where bn is 0 (or not a number).
func (h *Hub) normBound(base *merge.Model, name string, dn, bn float64) error {
	bound := h.opts.Screen.MaxNormRatio
	if bound <= 0 {
		return nil
	}
	if bn > 0 {
		if dn > bound*bn {
			return fmt.Errorf("delta norm %.6g is %.3g× the base tensor's %.6g (bound %g×: Screening.MaxNormRatio, hub serve --max-norm-ratio)",
				dn, dn/bn, bn, bound)
		}
		return nil
	}
	zb := h.opts.Screen.MaxZeroBaseRMS
	if zb <= 0 {
		zb = DefaultMaxZeroBaseRMS
	}
	t, _ := base.Tensor(name)
	rms := dn / math.Sqrt(float64(max(t.NumElements(), 1)))
	if !(rms <= zb) {
		return fmt.Errorf("the base tensor's norm is %g, and the delta's root mean square %.6g is above the bound %g for a zero base tensor (Screening.MaxZeroBaseRMS, hub serve --max-zero-base-rms)",
			bn, rms, zb)
	}
	return nil
}

// checkBaseValues: every value of a base is finite (a NaN would surface
// only later, failing every merge over it).
//
// The same read takes each tensor's norm, which the norm stage of every
// delta of this base bounds the delta's by (kept once the base is
// admitted; a hub that restarts takes them again on first use).
func (h *Hub) checkBaseValues(_ context.Context, a *admission) error {
	_, norms, err := scanNorms(a.upload, a.upload.Names(), false)
	if err != nil {
		return rejected(err)
	}
	a.norms = norms
	return nil
}

// checkMergeOutput reads a merge's output (in dir) beside its base and
// refuses it, naming the tensor, if a value is not finite or a tensor's
// change from the base is beyond the norm bound.
func (h *Hub) checkMergeOutput(job *merge.Job, dir string) error {
	out, err := merge.OpenDir(dir)
	if err != nil {
		return err
	}
	defer out.Close()
	for _, name := range out.Names() {
		t, _ := out.Tensor(name)
		bt, ok := job.Base.Tensor(name)
		if !t.DType.IsFloat() || !ok || bt.NumElements() != t.NumElements() || !bt.DType.IsFloat() {
			continue // not a float tensor of the base: nothing to bound it by
		}
		dn, err := changeNorm(out, job.Base, name)
		if err != nil {
			return err
		}
		bn, err := h.baseNorm(job.BaseCID, job.Base, name)
		if err != nil {
			return err
		}
		if err := h.normBound(job.Base, name, dn, bn); err != nil {
			return fmt.Errorf("%w: merge output: tensor %q: its change from the base has norm %.6g: %w", ErrBadRequest, name, dn, err)
		}
	}
	return nil
}

// changeNorm is ‖out[name] − base[name]‖, read chunk by chunk; an element
// of out that is not finite is an error naming it.
func changeNorm(out, base *merge.Model, name string) (float64, error) {
	t, _ := out.Tensor(name)
	n := t.NumElements()
	ro, rb := newFloatReader(out, name), newFloatReader(base, name)
	vo, vb := make([]float32, min(n, merge.ChunkElems)), make([]float32, min(n, merge.ChunkElems))
	var sum float64
	for off := int64(0); off < n; off += int64(len(vo)) {
		k := int(min(int64(len(vo)), n-off))
		if err := errors.Join(ro.read(vo[:k]), rb.read(vb[:k])); err != nil {
			return 0, err
		}
		for i, v := range vo[:k] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return 0, fmt.Errorf("%w: merge output: tensor %q: element %d is %v: %w", ErrBadRequest, name, off+int64(i), v, merge.ErrOverflow)
			}
			d := float64(v) - float64(vb[i])
			sum += d * d
		}
	}
	return math.Sqrt(sum), nil
}
