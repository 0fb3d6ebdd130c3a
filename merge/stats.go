package merge

import (
	"math"

	"github.com/potluck-hub/potluck/merge/kernel"
)

// The first statistics pass over a tensor: the inner products of its raw
// deltas, which give each delta's clipping factor (its norm) and whatever
// else a method asks for (model_stock's angles, krum's distances).

// gram holds the inner products ⟨δᵢ, δⱼ⟩ of a tensor's raw deltas, i ≤ j:
// g[p] for pairs[p], over the whole tensor and, when asked, per row.
type gram struct {
	g     []float64
	rows  [][]float64 // per row, like g; nil unless asked
	pairs [][2]int
}

// gatherGram takes the inner products need asks for (at least the norms)
// in one pass and sets the clipping factors from the norms.
func (tr *tensorRun) gatherGram(need gramNeed) error {
	g, err := tr.gramStats(need != gramNorms, need == gramRows)
	if err != nil {
		return err
	}
	tr.gram = g
	tr.clipFactors(g.sq(len(tr.rd)))
	return nil
}

// gramStats accumulates the inner products of the raw deltas: all pairs,
// or only the norms; per row as well when rowWise (each row's lanes
// starting at its first element).
//
// All pairs of at most kernel.GramEncodedMax dense bfloat16 or float32
// deltas, over the whole tensor, are taken on their encoded bytes
// (kernel.GramEncoded: nothing widened into memory, each element widened
// once for all its pairs); the same sums, to the bit, as the general pass,
// which a chunk holding a value that is not finite goes through to name it.
func (tr *tensorRun) gramStats(all, rowWise bool) (gram, error) {
	gr := gram{pairs: pairList(len(tr.rd), all)}
	acc := make([][8]float64, len(gr.pairs))
	accs := make([]*[8]float64, len(gr.pairs))
	for p := range acc {
		accs[p] = &acc[p]
	}
	f, encoded := tr.gramFormat(all && !rowWise)
	saved := make([][8]float64, len(acc))
	err := tr.passes(func(off int64, k int) error {
		if encoded {
			copy(saved, acc)
			ok, err := tr.gramEncoded(f, accs, off, k)
			if ok || err != nil {
				return err
			}
			copy(acc, saved)
		}
		xs := tr.e.xs[:len(tr.rd)]
		for i := range tr.rd {
			if err := tr.loadRaw(i, off, xs[i][:k]); err != nil {
				return err
			}
		}
		if !rowWise {
			gr.dots(accs, int(off&7), xs, 0, k)
			return nil
		}
		c := int(tr.cols)
		for r := 0; r < k; r += c {
			row := make([][8]float64, len(gr.pairs))
			for p := range row {
				accs[p] = &row[p]
			}
			gr.dots(accs, 0, xs, r, r+c)
			stats := make([]float64, len(gr.pairs))
			for p := range row {
				stats[p] = laneSum(&row[p])
			}
			gr.rows = append(gr.rows, stats)
		}
		return nil
	})
	gr.g = make([]float64, len(gr.pairs))
	for p := range gr.pairs {
		if rowWise {
			for _, st := range gr.rows {
				gr.g[p] += st[p]
			}
		} else {
			gr.g[p] = laneSum(&acc[p])
		}
	}
	return gr, err
}

// dots adds the products of gr's pairs over elements [from, to) of the
// inputs' chunks xs to acc, lane the first's.
func (gr gram) dots(acc []*[8]float64, lane int, xs [][]float32, from, to int) {
	part := make([][]float32, len(xs))
	for i, x := range xs {
		part[i] = x[from:to]
	}
	if len(gr.pairs) == len(xs)*(len(xs)+1)/2 {
		kernel.Gram(acc, lane, part)
		return
	}
	as, bs := make([][]float32, len(gr.pairs)), make([][]float32, len(gr.pairs))
	for p, ij := range gr.pairs {
		as[p], bs[p] = part[ij[0]], part[ij[1]]
	}
	dotPairs(acc, lane, as, bs)
}

// gramFormat is the format the gram pass can take on the deltas' encoded
// bytes, when it can (allPairs: every pair, over the whole tensor): every
// input a dense delta in one format, bfloat16 or float32, or a zero delta,
// at most kernel.GramEncodedMax of them.
func (tr *tensorRun) gramFormat(allPairs bool) (kernel.Format, bool) {
	if !allPairs || len(tr.rd) > kernel.GramEncodedMax {
		return 0, false
	}
	var f kernel.Format
	for _, rd := range tr.rd {
		if rd == nil {
			continue
		}
		d, ok := rd.(denseReader)
		if !ok {
			return 0, false
		}
		g, ok := kernelFormat(d.t.DType)
		if !ok || g == kernel.F16 || f != 0 && g != f {
			return 0, false
		}
		f = g
	}
	return f, f != 0
}

// gramEncoded adds the chunk's products of every pair to acc from the
// inputs' encoded bytes, a block at a time. It reports false, acc then
// partial, when some value is not finite.
func (tr *tensorRun) gramEncoded(f kernel.Format, acc []*[8]float64, off int64, k int) (bool, error) {
	for s := 0; s < k; s += fusedBlock {
		m := min(fusedBlock, k-s)
		at := off + int64(s)
		raws, err := tr.encodedInputs(at, m, f.Size())
		if err != nil {
			return false, err
		}
		if !kernel.GramEncoded(f, acc, int(at&7), raws) {
			return false, nil
		}
	}
	return true, nil
}

// loadRaw reads input i's chunk without clipping or masking.
func (tr *tensorRun) loadRaw(i int, off int64, x []float32) error {
	c := tr.clip[i]
	tr.clip[i] = 1
	err := tr.load(i, off, x, false)
	tr.clip[i] = c
	return err
}

// pairList lists the (i, j), i ≤ j, whose inner products are needed: all
// of them, or only the norms (i = j).
func pairList(n int, all bool) [][2]int {
	var out [][2]int
	for i := range n {
		for j := i; j < n; j++ {
			if all || i == j {
				out = append(out, [2]int{i, j})
			}
		}
	}
	return out
}

// sq returns each delta's squared norm ⟨δᵢ, δᵢ⟩ from g.
func (gr gram) sq(n int) []float64 { return diagonal(gr.g, gr.pairs, n) }

// diagonal returns the ⟨δᵢ, δᵢ⟩ among the products g of pairs.
func diagonal(g []float64, pairs [][2]int, n int) []float64 {
	out := make([]float64, n)
	for p, ij := range pairs {
		if ij[0] == ij[1] {
			out[ij[0]] = g[p]
		}
	}
	return out
}

// clipFactors sets each input's factor min(1, τ/‖δᵢ‖) from its squared norm.
func (tr *tensorRun) clipFactors(sq []float64) {
	tau := tr.op.clip
	for i, s := range sq {
		if norm := math.Sqrt(s); tau > 0 && norm > tau {
			tr.clip[i] = float32(tau / norm)
		}
	}
}
