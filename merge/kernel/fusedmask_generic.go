package kernel

import (
	"encoding/binary"
	"math"
)

// The reference masked merges: a block of maskedBlock elements at a time,
// each input's encoded bits masked, widened, rescaled and then passed
// through the generic slice loops (axpy, divBy, addScaled, the TIES
// loops), so each element sees exactly the engine's operations in its
// order.

// maskedBlock is the elements the generic loop takes at a time: the
// scratch MergeMasked is given holds one block per input.
const maskedBlock = MaskedScratch

// keyOf is the masking key of the encoded element at b: its bits without
// the sign, of 16 bits for BF16 and F16, 32 for F32.
func keyOf(f Format, b []byte) uint32 {
	if f == F32 {
		return binary.LittleEndian.Uint32(b) & 0x7FFFFFFF
	}
	return uint32(binary.LittleEndian.Uint16(b) & 0x7FFF)
}

// infKey is the least key of a value that is not finite.
func infKey(f Format) uint32 {
	switch f {
	case BF16:
		return 0x7F80
	case F16:
		return 0x7C00
	}
	return 0x7F800000
}

// keeps reports whether input in keeps its element j of the call (at b).
func (in *MaskedInput) keeps(f Format, j int, b []byte) bool {
	switch in.Kind {
	case MaskWindow:
		k := keyOf(f, b)
		return in.Lo <= k && k < in.Hi
	case MaskDARE2:
		z := splitMix(in.Z + uint64(j/4)*dareGamma)
		return uint32(z>>(16*(j%4)))&0xFFFF < in.Keep
	case MaskWords:
		return in.Words[j] != 0
	}
	return true
}

// maskedLoad widens input in's elements [at, at+n) of the call into x,
// its dropped ones as +0, rescaled by R; it reports whether every element
// read (dropped or not) is finite.
func maskedLoad(f Format, in *MaskedInput, at, n int, x []float32) bool {
	sz := f.Size()
	var raw [maskedBlock * 4]byte
	copy(raw[:n*sz], in.Src[at*sz:(at+n)*sz])
	ok := true
	inf := infKey(f)
	for j := range n {
		b := raw[j*sz : (j+1)*sz]
		ok = ok && keyOf(f, b) < inf
		if !in.keeps(f, at+j, b) {
			clear(b)
		}
	}
	widenGeneric(f, x[:n], raw[:n*sz])
	if in.R != 1 {
		scaleByGeneric(x[:n], in.R)
	}
	return ok
}

func mergeMaskedGeneric(f Format, dst, base []byte, ins []MaskedInput, m Merge, scratch []float32) bool {
	sz := f.Size()
	n := len(dst) / sz
	var out, b [maskedBlock]float32
	var xsBuf [16][]float32
	xs := xsBuf[:0]
	for k := range ins {
		xs = append(xs, scratch[k*maskedBlock:(k+1)*maskedBlock])
	}
	w := make([]float32, len(ins))
	for k, in := range ins {
		w[k] = in.W
	}
	view := make([][]float32, len(xs))
	ok := true
	for at := 0; at < n; at += maskedBlock {
		c := min(maskedBlock, n-at)
		for k := range ins {
			ok = maskedLoad(f, &ins[k], at, c, xs[k]) && ok
			view[k] = xs[k][:c]
		}
		widenGeneric(f, b[:c], base[at*sz:(at+c)*sz])
		switch m.Kind {
		case MergeSum:
			acc := out[:c]
			clear(acc)
			for k, x := range view {
				axpyGeneric(acc, w[k], x)
			}
			if m.Div != 1 {
				divByGeneric(acc, m.Div)
			}
			addScaledGeneric(out[:c], b[:c], m.Lambda, acc)
		case MergeTIES, MergeTIESPaper:
			ok = finiteElection(view, w, m.Kind == MergeTIESPaper) && ok
			if m.Kind == MergeTIES {
				tiesWeightedGeneric(out[:c], b[:c], view, w, m.Lambda, m.Normalize)
			} else {
				tiesPaperGeneric(out[:c], b[:c], view, w, m.Lambda, m.Normalize)
			}
		}
		narrowGeneric(f, dst[at*sz:(at+c)*sz], out[:c])
		ok = finiteEncoded(formatOf(f), dst[at*sz:(at+c)*sz]) && ok
	}
	return ok
}

// finiteElection reports whether every element's TIES election sum is
// finite: Σ float32(wᵢ·xᵢ), or with paper Σ xᵢ, from +0 in order.
func finiteElection(xs [][]float32, w []float32, paper bool) bool {
	if len(xs) == 0 {
		return true
	}
	ok := true
	for j := range xs[0] {
		var s float32
		for i, x := range xs {
			if paper {
				s = s + x[j]
			} else {
				s = s + float32(w[i]*x[j])
			}
		}
		ok = ok && !math.IsInf(float64(s), 0) && !math.IsNaN(float64(s))
	}
	return ok
}

func countKeysGeneric(f Format, raw []byte, below, eq uint32) (nBelow, nEq int) {
	sz := f.Size()
	for j := 0; j+sz <= len(raw); j += sz {
		k := keyOf(f, raw[j:])
		if k < below {
			nBelow++
		}
		if k == eq {
			nEq++
		}
	}
	return nBelow, nEq
}
