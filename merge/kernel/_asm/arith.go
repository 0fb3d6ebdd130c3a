package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
	"github.com/potluck-hub/potluck/half/_asm/simd"
)

// The arithmetic kernels keep the Go compiler's operand order (the first
// source operand is the one whose payload a NaN result carries when both
// are NaN): x·w, then product + acc; dst + x; x / d.
func arith() {
	for _, a := range []simd.ISA{simd.AVX512, simd.AVX2} {
		axpy(a)
		addScaled(a)
		addInto(a)
		scaleBy(a)
		divBy(a)
		nonFinite(a)
	}
}

// scalar broadcasts the float32 parameter name to every lane.
func scalar(a simd.ISA, name string) reg.VecVirtual {
	x, v := XMM(), a.Vec()
	Load(Param(name), x)
	VBROADCASTSS(x, v)
	return v
}

// axpy: acc = float32(x·w) + acc, a multiply then an add (no FMA).
func axpy(a simd.ISA) {
	fn := "axpy" + a.Name
	TEXT(fn, NOSPLIT, "func(acc []float32, w float32, x []float32)")
	acc, x := simd.Slice("acc", 4), simd.Slice("x", 4)
	n := Load(Param("acc").Len(), GP64())
	w := scalar(a, "w")
	l := a.Lanes()
	simd.Blocks(fn, n, l, 4, []simd.Stream{acc, x}, func(j int) {
		t := a.Vec()
		VMOVUPS(x.At(j, l), t)
		VMULPS(w, t, t)
		VADDPS(acc.At(j, l), t, t)
		VMOVUPS(t, acc.At(j, l))
	})
	simd.Done()
}

// addScaled: out = float32(acc·s) + base.
func addScaled(a simd.ISA) {
	fn := "addScaled" + a.Name
	TEXT(fn, NOSPLIT, "func(out []float32, base []float32, s float32, acc []float32)")
	out, base, acc := simd.Slice("out", 4), simd.Slice("base", 4), simd.Slice("acc", 4)
	n := Load(Param("out").Len(), GP64())
	s := scalar(a, "s")
	l := a.Lanes()
	simd.Blocks(fn, n, l, 4, []simd.Stream{out, base, acc}, func(j int) {
		t := a.Vec()
		VMOVUPS(acc.At(j, l), t)
		VMULPS(s, t, t)
		VADDPS(base.At(j, l), t, t)
		VMOVUPS(t, out.At(j, l))
	})
	simd.Done()
}

// addInto: dst = dst + x.
func addInto(a simd.ISA) {
	fn := "addInto" + a.Name
	TEXT(fn, NOSPLIT, "func(dst []float32, x []float32)")
	dst, x := simd.Slice("dst", 4), simd.Slice("x", 4)
	n := Load(Param("dst").Len(), GP64())
	l := a.Lanes()
	simd.Blocks(fn, n, l, 4, []simd.Stream{dst, x}, func(j int) {
		t := a.Vec()
		VMOVUPS(dst.At(j, l), t)
		VADDPS(x.At(j, l), t, t)
		VMOVUPS(t, dst.At(j, l))
	})
	simd.Done()
}

// scaleBy: x = x·s.
func scaleBy(a simd.ISA) {
	fn := "scaleBy" + a.Name
	TEXT(fn, NOSPLIT, "func(x []float32, s float32)")
	x := simd.Slice("x", 4)
	n := Load(Param("x").Len(), GP64())
	s := scalar(a, "s")
	l := a.Lanes()
	simd.Blocks(fn, n, l, 4, []simd.Stream{x}, func(j int) {
		t := a.Vec()
		VMOVUPS(x.At(j, l), t)
		VMULPS(s, t, t)
		VMOVUPS(t, x.At(j, l))
	})
	simd.Done()
}

// divBy: x = x / d.
func divBy(a simd.ISA) {
	fn := "divBy" + a.Name
	TEXT(fn, NOSPLIT, "func(x []float32, d float32)")
	x := simd.Slice("x", 4)
	n := Load(Param("x").Len(), GP64())
	d := scalar(a, "d")
	l := a.Lanes()
	simd.Blocks(fn, n, l, 4, []simd.Stream{x}, func(j int) {
		t := a.Vec()
		VMOVUPS(x.At(j, l), t)
		VDIVPS(d, t, t)
		VMOVUPS(t, x.At(j, l))
	})
	simd.Done()
}

// nonFinite returns the offset of the first block (of up to four vectors)
// holding a value whose exponent bits are all ones, or len(x).
func nonFinite(a simd.ISA) {
	fn := "nonFinite" + a.Name
	TEXT(fn, NOSPLIT, "func(x []float32) int")
	x := simd.Slice("x", 4)
	n := Load(Param("x").Len(), GP64())
	exp := simd.Broadcast32(a, 0x7F800000)
	l := a.Lanes()
	simd.Blocks(fn, n, l, 4, []simd.Stream{x}, func(j int) {
		t := a.Vec()
		if a.Name == "AVX512" {
			k := K()
			VPANDD(x.At(j, l), exp, t)
			VPCMPEQD(exp, t, k)
			KORTESTW(k, k)
		} else {
			VPAND(x.At(j, l), exp, t)
			VPCMPEQD(exp, t, t)
			VPTEST(t, t)
		}
		JNE(LabelRef(fn + "_found"))
	})
	Label(fn + "_found")
	total := Load(Param("x").Len(), GP64())
	SUBQ(n, total)
	Store(total, ReturnIndex(0))
	simd.Done()
}
