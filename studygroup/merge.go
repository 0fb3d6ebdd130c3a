package studygroup

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/potluck-hub/potluck/internal/mlp"
)

// A MergeFunc merges one round: it combines the labs' checkpoints, each a
// fine-tune of req.Base, into one checkpoint of the same shape and returns
// its directory. The hub's merge plugs in here: publish each lab's delta
// against req.Base, merge on the hub, pull the result (into req.Out or
// anywhere else) and return where it lies.
type MergeFunc func(ctx context.Context, req MergeRequest) (dir string, err error)

// MergeRequest is one round's merge.
type MergeRequest struct {
	Round int      // 1 for the first round
	Base  string   // the checkpoint every lab started from this round
	Labs  []string // each lab's published checkpoint, in lab order
	Out   string   // a directory, not yet made, the merge may write into
	// Samples[k] is how many training images lab k holds (what federated
	// averaging weighs its delta by).
	Samples []int
}

// Mean is task arithmetic with equal weights, the plain average of the
// labs' deltas (FedAvg with unweighted labs):
//
//	merge = base + (δ₀ + δ₁ + ... + δₙ₋₁)/n,  δₖ = labₖ − base,
//
// in float32, each δₖ rounded once, summed in lab order from +0. It writes
// req.Out. The hub's merge gives the same bytes for the recipe
// task_arithmetic with parameters {weight: 1, normalize: true}.
func Mean(ctx context.Context, req MergeRequest) (string, error) {
	return mergeDirs(req, func(base []float32, deltas [][]float32, out []float32) {
		n := float32(len(deltas))
		for i := range out {
			var sum float32
			for _, d := range deltas {
				sum += d[i]
			}
			out[i] = base[i] + sum/n
		}
	})
}

// TIES returns the TIES merge (Yadav et al., 2023) as mergekit computes it
// with unit weights, per tensor: trim each δₖ to its ⌊density·N⌋ largest
// magnitudes (at least one; of equal magnitudes the first in the tensor),
// zeroing the rest; elect each element's sign as that of Σₖ trimmed δₖ;
// and add to the base the mean of the trimmed values that have the elected
// sign (the disjoint mean; 0 where none has). It writes req.Out. The hub's
// merge gives the same bytes for the recipe ties with parameters
// {density: D, weight: 1}.
func TIES(density float64) MergeFunc {
	return func(ctx context.Context, req MergeRequest) (string, error) {
		if !(density > 0 && density <= 1) {
			return "", fmt.Errorf("ties: density %g, want (0, 1]", density)
		}
		return mergeDirs(req, func(base []float32, deltas [][]float32, out []float32) {
			for _, d := range deltas {
				trim(d, density)
			}
			for i := range out {
				var sum float32
				for _, d := range deltas {
					sum += d[i]
				}
				var agree, count float32
				for _, d := range deltas {
					if d[i] != 0 && (d[i] > 0) == (sum > 0) && sum != 0 {
						agree += d[i]
						count++
					}
				}
				out[i] = base[i]
				if count > 0 {
					out[i] += agree / count
				}
			}
		})
	}
}

// Median is the coordinate-wise median of the labs' deltas added to the
// base: per element, the middle δ, or float32(a+b)·0.5 of the two middle
// ones for an even number of labs. One lab, however large its delta,
// cannot move it past the honest labs' values. It writes req.Out. The
// hub's merge gives the same bytes for the recipe median.
func Median(ctx context.Context, req MergeRequest) (string, error) {
	return mergeDirs(req, func(base []float32, deltas [][]float32, out []float32) {
		vals := make([]float32, len(deltas))
		n := len(deltas)
		for i := range out {
			for k, d := range deltas {
				vals[k] = d[i]
			}
			slices.Sort(vals)
			med := vals[n/2]
			if n%2 == 0 {
				med = (vals[n/2-1] + vals[n/2]) * 0.5
			}
			out[i] = base[i] + med
		}
	})
}

// trim zeroes all but the ⌊density·len(d)⌋ (at least one) largest
// magnitudes of d, keeping the first of equal magnitudes.
func trim(d []float32, density float64) {
	keep := max(int(density*float64(len(d))), 1)
	if keep >= len(d) {
		return
	}
	order := make([]int, len(d))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ma, mb := math.Abs(float64(d[a])), math.Abs(float64(d[b]))
		switch {
		case ma > mb:
			return -1
		case ma < mb:
			return 1
		}
		return 0
	})
	for _, i := range order[keep:] {
		d[i] = 0
	}
}

// mergeDirs loads req's checkpoints, calls combine per tensor with the base
// values, the labs' deltas (fresh slices combine may change) and the output,
// and saves the result to req.Out.
func mergeDirs(req MergeRequest, combine func(base []float32, deltas [][]float32, out []float32)) (string, error) {
	base, err := mlp.Load(req.Base)
	if err != nil {
		return "", fmt.Errorf("merge round %d: %w", req.Round, err)
	}
	labs := make([]*mlp.Net[float32], len(req.Labs))
	for k, dir := range req.Labs {
		if labs[k], err = mlp.Load(dir); err != nil {
			return "", fmt.Errorf("merge round %d: lab %d: %w", req.Round, k, err)
		}
		if labs[k].Config != base.Config {
			return "", fmt.Errorf("merge round %d: lab %d: sizes %+v, base has %+v", req.Round, k, labs[k].Config, base.Config)
		}
	}
	if len(labs) == 0 {
		return "", fmt.Errorf("merge round %d: no lab", req.Round)
	}
	out := mlp.Zero[float32](base.Config)
	for t, bt := range base.Tensors() {
		deltas := make([][]float32, len(labs))
		for k, l := range labs {
			deltas[k] = delta(l.Tensors()[t].Data, bt.Data)
		}
		combine(bt.Data, deltas, out.Tensors()[t].Data)
	}
	if err := mlp.Save(req.Out, out); err != nil {
		return "", fmt.Errorf("merge round %d: %w", req.Round, err)
	}
	return req.Out, nil
}

func delta(lab, base []float32) []float32 {
	d := make([]float32, len(base))
	for i := range d {
		d[i] = lab[i] - base[i]
	}
	return d
}
