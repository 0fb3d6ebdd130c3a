package kernel

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// The reference loops of mask.go. They are written without data-dependent
// branches (an unpredictable branch per element costs more than the
// work), which changes nothing in their results.

// splitMix is SplitMix64's finaliser.
func splitMix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// dareBase is the counter of element 0 of x: key + (off+1)·γ, mod 2⁶⁴.
// Element i's is dareBase + i·γ.
func dareBase(key uint64, off int64) uint64 { return key + uint64(off+1)*dareGamma }

func dareMaskGeneric(x []float32, key uint64, off int64, keep uint64) {
	z := dareBase(key, off)
	for i, v := range x {
		_, borrow := bits.Sub64(splitMix(z)>>11, keep, 0) // 1 when u < keep
		x[i] = math.Float32frombits(math.Float32bits(v) & -uint32(borrow))
		z += dareGamma
	}
}

func dareMask2Generic(x []float32, key uint64, e uint64, keep uint32) {
	if keep >= 1<<16 {
		return
	}
	// keepBit is 1 when u < keep, u the 16-bit field.
	keepBit := func(u uint64) uint32 {
		_, borrow := bits.Sub32(uint32(u)&0xFFFF, keep, 0)
		return -borrow
	}
	i := 0
	for ; i < len(x) && (e&3 != 0 || len(x)-i < 4); i, e = i+1, e+1 {
		z := splitMix(key + (e>>2+1)*dareGamma)
		x[i] = math.Float32frombits(math.Float32bits(x[i]) & keepBit(z>>(16*(e&3))))
	}
	for ; i+4 <= len(x); i, e = i+4, e+4 {
		z := splitMix(key + (e>>2+1)*dareGamma)
		y := x[i : i+4 : i+4]
		y[0] = math.Float32frombits(math.Float32bits(y[0]) & keepBit(z))
		y[1] = math.Float32frombits(math.Float32bits(y[1]) & keepBit(z>>16))
		y[2] = math.Float32frombits(math.Float32bits(y[2]) & keepBit(z>>32))
		y[3] = math.Float32frombits(math.Float32bits(y[3]) & keepBit(z>>48))
	}
	for ; i < len(x); i, e = i+1, e+1 {
		z := splitMix(key + (e>>2+1)*dareGamma)
		x[i] = math.Float32frombits(math.Float32bits(x[i]) & keepBit(z>>(16*(e&3))))
	}
}

// keyBound clamps a magnitude-key bound to [0, 2³¹]: the keys are in
// [0, 2³¹), so k ≥ b and k < b keep their truth, and k − b cannot overflow.
func keyBound(b int64) int64 { return min(max(b, 0), 1<<31) }

func maskBetweenGeneric(x []float32, lo, hi int64) {
	lo, hi = keyBound(lo), keyBound(hi)
	for i, v := range x {
		b := math.Float32bits(v)
		k := int64(b & 0x7FFFFFFF)
		keep := ^uint32((k-lo)>>63) & uint32((k-hi)>>63) // all ones when lo ≤ k < hi
		x[i] = math.Float32frombits(b & keep)
	}
}

func countKeyGeneric(x []float32, key uint32) int {
	n := 0
	for _, v := range x {
		if math.Float32bits(v)&0x7FFFFFFF == key {
			n++
		}
	}
	return n
}

// dare2L1Generic is the composition DARE2L1 stands for, a block at a time:
// widen, check, sum, mask, sum.
func dare2L1Generic(f Format, raw []byte, key, e uint64, keep uint32, before, after *[8]float64) bool {
	var x [genericBlock]float32
	sz := f.Size()
	for len(raw) >= sz {
		y := x[:min(len(x), len(raw)/sz)]
		widenGeneric(f, y, raw[:len(y)*sz])
		if firstNonFiniteGeneric(y) >= 0 {
			return false
		}
		sumAbsLanesGeneric(before, int(e&7), y)
		dareMask2Generic(y, key, e, keep)
		sumAbsLanesGeneric(after, int(e&7), y)
		raw, e = raw[len(y)*sz:], e+uint64(len(y))
	}
	return true
}

func firstInBinsGeneric(raw []byte, b0, b1 uint32) int {
	i := 0
	for ; len(raw) >= 4; raw, i = raw[4:], i+1 {
		if k := binary.LittleEndian.Uint32(raw[:4]) & 0x7FFFFFFF >> 16; k == b0 || k == b1 {
			return i
		}
	}
	return i
}

func sumAbsLanesGeneric(acc *[8]float64, lane int, x []float32) {
	for i, v := range x {
		acc[(lane+i)&7] += math.Abs(float64(v))
	}
}

func dotLanesGeneric(acc *[8]float64, lane int, a, b []float32) {
	b = b[:len(a)]
	for i := range a {
		acc[(lane+i)&7] += float64(float64(a[i]) * float64(b[i])) // rounded: never fused
	}
}

func dotPairsGeneric(acc []*[8]float64, lane int, as, bs [][]float32) {
	for p := range acc {
		dotLanesGeneric(acc[p], lane, as[p], bs[p])
	}
}

func gramGeneric(acc []*[8]float64, lane int, xs [][]float32) {
	p := 0
	for i := range xs {
		for j := i; j < len(xs); j++ {
			dotLanesGeneric(acc[p], lane, xs[i], xs[j])
			p++
		}
	}
}

func gramEncodedGeneric(f Format, acc []*[8]float64, lane int, raws [][]byte) bool {
	var buf [GramEncodedMax][genericBlock]float32
	var xs [GramEncodedMax][]float32
	sz := f.Size()
	n := 0
	if len(raws) > 0 {
		n = len(raws[0]) / sz
	}
	for s := 0; s < n; s += genericBlock {
		m := min(genericBlock, n-s)
		for i, r := range raws {
			xs[i] = buf[i][:m]
			widenGeneric(f, xs[i], r[s*sz:(s+m)*sz])
			if firstNonFiniteGeneric(xs[i]) >= 0 {
				return false
			}
		}
		gramGeneric(acc, lane+s, xs[:len(raws)])
	}
	return true
}
