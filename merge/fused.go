package merge

import (
	"github.com/potluck-hub/potluck/merge/kernel"
	"github.com/potluck-hub/potluck/safetensors"
)

// The fused path: a tensor whose combiner is fusable, a weighted sum of
// dense deltas (task arithmetic, fedavg, krum's mean, model_stock with one
// t, linear's soup), over a base, deltas and an output of one 16- or
// 32-bit float dtype, runs kernel.SumScaled or kernel.SumLinear straight
// on the encoded bytes, a block at a time, instead of widening every input
// into a buffer and streaming the chunk through one kernel per step. The
// kernels do the engine's arithmetic in the engine's order, so both paths
// give the same bits; a block whose input or result is not finite is
// redone through the general path, which names the element.

// fusedBlock is the elements per fused kernel call: a whole default chunk
// (fewer, longer calls measured faster than 16 Ki-element ones: 0.91–0.99
// of the ceiling against 0.80–0.87), and the inputs' bytes of one block,
// when they are read rather than sliced, still fit the core's L2 cache
// for 16-bit dtypes.
const fusedBlock = 1 << 16

// noFused turns the fused path off, for tests that compare both paths.
var noFused bool

// fusedPlan is a tensor's fused sum, or (masked set) its fused masked
// merge (fused_masked.go), set when every condition holds.
type fusedPlan struct {
	format      kernel.Format
	linear      bool
	inputs      []int // the inputs summed, in order
	w           []float32
	div, lambda float32
	masked      *maskedPlan
	robust      *robustPlan
}

// robustEncoder is a combiner the fused path runs on the encoded bytes as
// kernel.MedianEncoded (k < 0) or kernel.TrimmedEncoded.
type robustEncoder interface {
	robustEncoded() (k int, lambda float32)
}

// robustPlan is a tensor's fused median or trimmed mean over every input
// (a zero delta as zeros).
type robustPlan struct {
	k      int
	lambda float32
}

// kernelFormat maps a float dtype to the fused kernels' encoding.
func kernelFormat(dt safetensors.DType) (kernel.Format, bool) {
	switch dt {
	case safetensors.BF16:
		return kernel.BF16, true
	case safetensors.F16:
		return kernel.F16, true
	case safetensors.F32:
		return kernel.F32, true
	}
	return 0, false
}

// planFused sets tr.fused when the tensor can take the fused path: its
// combiner is fusable, no input is masked or clipped, and every input
// that changes the tensor is a dense delta of its dtype. It is called
// after prepare, which gives the clipping factors and the combiner.
func (tr *tensorRun) planFused(outDT safetensors.DType) {
	tr.fused = nil
	if noFused {
		return
	}
	f, ok := kernelFormat(tr.bt.DType)
	if !ok || outDT != tr.bt.DType {
		return
	}
	if re, ok := tr.comb.(robustEncoder); ok {
		tr.planFusedRobust(f, re)
		return
	}
	fc, isSum := tr.comb.(fusable)
	if !isSum || tr.masked() {
		tr.planFusedMasked(f)
		return
	}
	// The weights, divisor and λ are the combiner's, so both paths do the
	// same arithmetic.
	s := fc.fusedSum()
	p := &fusedPlan{format: f, linear: s.linear, div: s.div, lambda: s.lambda}
	for i, rd := range tr.rd {
		if tr.clip[i] != 1 || tr.masks[i] != nil {
			return
		}
		d, ok := rd.(denseReader)
		if rd == nil && !p.linear {
			continue // a zero delta adds ±0 to a sum that started at +0: nothing
		}
		if !ok || d.t.DType != tr.bt.DType {
			return
		}
		p.inputs, p.w = append(p.inputs, i), append(p.w, s.w[i])
	}
	tr.fused = p
}

// masked reports whether some input of the tensor is masked.
func (tr *tensorRun) masked() bool {
	for _, m := range tr.masks {
		if m != nil {
			return true
		}
	}
	return false
}

// fusedChunk writes the k elements from off, encoded, into dst. It reports
// false when some block had a value that is not finite: the caller redoes
// the chunk through the general path.
func (tr *tensorRun) fusedChunk(off int64, k int, dst []byte) (bool, error) {
	switch {
	case tr.fused.masked != nil:
		return tr.fusedMaskedChunk(off, k, dst)
	case tr.fused.robust != nil:
		return tr.fusedRobustChunk(off, k, dst)
	}
	p, e := tr.fused, tr.e
	size := p.format.Size()
	for s := 0; s < k; s += fusedBlock {
		m := min(fusedBlock, k-s)
		at := off + int64(s)
		base, err := rawAt(e.r.p.base, tr.bt, at, m, e.rawBase)
		if err != nil {
			return false, err
		}
		srcs := e.srcs[:0]
		for n, i := range p.inputs {
			d := tr.rd[i].(denseReader)
			b, err := rawAt(d.m, d.t, at, m, e.rawIn[n])
			if err != nil {
				return false, err
			}
			srcs = append(srcs, b)
		}
		e.srcs = srcs
		out := dst[s*size : (s+m)*size]
		var ok bool
		if p.linear {
			ok = kernel.SumLinear(p.format, out, base, srcs, p.w)
		} else {
			ok = kernel.SumScaled(p.format, out, base, srcs, p.w, p.div, p.lambda)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// planFusedRobust sets tr.fused for a median or trimmed mean of at most
// kernel.RobustEncodedMax inputs, none clipped, each a dense delta of the
// tensor's dtype or a zero delta.
func (tr *tensorRun) planFusedRobust(f kernel.Format, re robustEncoder) {
	if len(tr.rd) > kernel.RobustEncodedMax {
		return
	}
	for i, rd := range tr.rd {
		d, ok := rd.(denseReader)
		if rd != nil && (!ok || d.t.DType != tr.bt.DType) || tr.clip[i] != 1 || tr.masks[i] != nil {
			return
		}
	}
	k, lambda := re.robustEncoded()
	tr.fused = &fusedPlan{format: f, robust: &robustPlan{k: k, lambda: lambda}}
}

// encodedInputs reads every input's m elements from element at, encoded
// (size bytes each), into the engine's buffers: a zero delta's are zeros.
// Every input that is not zero is a dense delta (the caller's plan).
func (tr *tensorRun) encodedInputs(at int64, m, size int) ([][]byte, error) {
	e := tr.e
	srcs := e.srcs[:0]
	for i, rd := range tr.rd {
		if rd == nil {
			srcs = append(srcs, e.zeros(m*size))
			continue
		}
		d := rd.(denseReader)
		b, err := rawAt(d.m, d.t, at, m, e.rawIn[i])
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, b)
	}
	e.srcs = srcs
	return srcs, nil
}

// fusedRobustChunk writes the k elements from off, encoded, into dst, or
// reports false as fusedChunk does.
func (tr *tensorRun) fusedRobustChunk(off int64, k int, dst []byte) (bool, error) {
	p, e := tr.fused, tr.e
	size := p.format.Size()
	for s := 0; s < k; s += fusedBlock {
		m := min(fusedBlock, k-s)
		at := off + int64(s)
		base, err := rawAt(e.r.p.base, tr.bt, at, m, e.rawBase)
		if err != nil {
			return false, err
		}
		srcs, err := tr.encodedInputs(at, m, size)
		if err != nil {
			return false, err
		}
		out := dst[s*size : (s+m)*size]
		var ok bool
		if p.robust.k < 0 {
			ok = kernel.MedianEncoded(p.format, out, base, srcs, p.robust.lambda)
		} else {
			ok = kernel.TrimmedEncoded(p.format, out, base, srcs, p.robust.k, p.robust.lambda)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}
