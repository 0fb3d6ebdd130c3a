package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
	"github.com/potluck-hub/potluck/half/_asm/simd"
)

// VCMPPS predicates: ordered and quiet, so a NaN compares false, as in Go
// (except NEQ_UQ, which is Go's !=: true for a NaN).
const (
	cmpLT  = 0x11 // LT_OQ
	cmpGE  = 0x1D // GE_OQ
	cmpGT  = 0x1E // GT_OQ
	cmpNEQ = 0x04 // NEQ_UQ
)

func tiesKernels() {
	for _, a := range []simd.ISA{simd.AVX512, simd.AVX2} {
		ties(a, false)
		ties(a, true)
	}
}

// ties emits the TIES consensus, one vector of elements a step, each step
// looping over the inputs twice (the election sum, then the mix). An input
// that is not elected adds nothing: AVX-512 masks the adds, AVX2 adds +0,
// which leaves mix, div and the count unchanged, since none of them can be
// -0 (they start at +0 and only ever add non-zero values, or ±0 to +0).
func ties(a simd.ISA, paper bool) {
	fn := "tiesWeighted" + a.Name
	if paper {
		fn = "tiesPaper" + a.Name
	}
	TEXT(fn, NOSPLIT, "func(out []float32, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool)")
	out, base := Load(Param("out").Base(), GP64()), Load(Param("base").Base(), GP64())
	n := Load(Param("out").Len(), GP64())
	xs, cnt, wp := Load(Param("xs").Base(), GP64()), Load(Param("xs").Len(), GP64()), Load(Param("w").Base(), GP64())
	norm := Load(Param("normalize"), GP32())
	lam := scalar(a, "lambda")
	zero := a.Vec()
	VXORPS(zero, zero, zero)
	var one reg.VecVirtual
	if paper {
		one = simd.Broadcast32(a, 0x3F800000)
	}
	off, i, p := GP64(), GP64(), GP64()
	XORQ(off, off)
	l := a.Lanes()
	label := func(s string) string { return fn + "_" + s }
	// input loads input i's pointer into p and returns its vector and weight.
	input := func() (x, w reg.VecVirtual) {
		IMUL3Q(U32(24), i, p)
		MOVQ(Mem{Base: xs, Index: p, Scale: 1}, p)
		x, w = a.Vec(), a.Vec()
		VMOVUPS(Mem{Base: p, Index: off, Scale: 1}, x)
		VBROADCASTSS(Mem{Base: wp, Index: i, Scale: 4}, w)
		return x, w
	}

	Label(label("loop"))
	CMPQ(n, U32(l))
	JB(LabelRef(label("done")))

	// The election sum s: Σ w·x (weighted) or Σ x (paper).
	s := a.Vec()
	VXORPS(s, s, s)
	XORQ(i, i)
	Label(label("elect"))
	CMPQ(i, cnt)
	JAE(LabelRef(label("elected")))
	x, w := input()
	if paper {
		VADDPS(x, s, s)
	} else {
		VMULPS(x, w, x) // w·x
		VADDPS(x, s, s)
	}
	INCQ(i)
	JMP(LabelRef(label("elect")))
	Label(label("elected"))

	// The mix over the inputs that agree with the elected sign.
	mix, div := a.Vec(), a.Vec() // div: Σ w (weighted) or the count (paper)
	VXORPS(mix, mix, mix)
	VXORPS(div, div, div)
	var pos, neg reg.Register
	if a.Name == "AVX512" {
		pos, neg = K(), K()
	} else {
		pos, neg = a.Vec(), a.Vec()
	}
	VCMPPS(U8(cmpGE), zero, s, pos)
	VCMPPS(U8(cmpLT), zero, s, neg)
	XORQ(i, i)
	Label(label("mix"))
	CMPQ(i, cnt)
	JAE(LabelRef(label("mixed")))
	x, w = input()
	v, add, addDiv := x, a.Vec(), w // v decides; add goes to mix, addDiv to div
	if paper {
		VMULPS(x, w, add) // w·x
		addDiv = one
	} else {
		VMULPS(w, x, add) // x·w
		v = add
	}
	if a.Name == "AVX512" {
		kp, kn := K(), K()
		VCMPPS(U8(cmpGT), zero, v, pos, kp) // s ≥ 0 and v > 0
		VCMPPS(U8(cmpLT), zero, v, neg, kn) // s < 0 and v < 0
		KORW(kp, kn, kp)
		VADDPS(add, mix, kp, mix)
		VADDPS(addDiv, div, kp, div)
	} else {
		gt, lt := a.Vec(), a.Vec()
		VCMPPS(U8(cmpGT), zero, v, gt)
		VCMPPS(U8(cmpLT), zero, v, lt)
		VANDPS(pos, gt, gt)
		VANDPS(neg, lt, lt)
		VORPS(gt, lt, gt)
		VANDPS(gt, add, add)
		VADDPS(add, mix, mix)
		d := a.Vec()
		VANDPS(gt, addDiv, d)
		VADDPS(d, div, div)
	}
	INCQ(i)
	JMP(LabelRef(label("mix")))
	Label(label("mixed"))

	// mix / div where normalize and div ≠ 0.
	TESTL(norm, norm)
	JZ(LabelRef(label("scaled")))
	if a.Name == "AVX512" {
		k := K()
		VCMPPS(U8(cmpNEQ), zero, div, k)
		VDIVPS(div, mix, k, mix)
	} else {
		m, q := a.Vec(), a.Vec()
		VCMPPS(U8(cmpNEQ), zero, div, m)
		VDIVPS(div, mix, q)
		VBLENDVPS(m, q, mix, mix)
	}
	Label(label("scaled"))

	// out = float32(mix·λ) + base.
	VMULPS(lam, mix, mix)
	VADDPS(Mem{Base: base, Index: off, Scale: 1}, mix, mix)
	VMOVUPS(mix, Mem{Base: out, Index: off, Scale: 1})
	ADDQ(U32(a.Bytes), off)
	SUBQ(U32(l), n)
	JMP(LabelRef(label("loop")))
	Label(label("done"))
	simd.Done()
}
