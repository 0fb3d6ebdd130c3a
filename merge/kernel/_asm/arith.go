package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The arithmetic kernels keep the Go compiler's operand order (the first
// source operand is the one whose payload a NaN result carries when both
// are NaN): x·w, then product + acc; dst + x; x / d.
func arith() {
	for _, a := range []isa{avx512, avx2} {
		axpy(a)
		addScaled(a)
		addInto(a)
		scaleBy(a)
		divBy(a)
		nonFinite(a)
	}
}

// scalar broadcasts the float32 parameter name to every lane.
func scalar(a isa, name string) reg.VecVirtual {
	x, v := XMM(), a.vec()
	Load(Param(name), x)
	VBROADCASTSS(x, v)
	return v
}

// axpy: acc = float32(x·w) + acc, a multiply then an add (no FMA).
func axpy(a isa) {
	fn := "axpy" + a.name
	TEXT(fn, NOSPLIT, "func(acc []float32, w float32, x []float32)")
	acc, x := param("acc", 4), param("x", 4)
	n := Load(Param("acc").Len(), GP64())
	w := scalar(a, "w")
	l := a.lanes()
	blocks(fn, n, l, 4, []stream{acc, x}, func(j int) {
		t := a.vec()
		VMOVUPS(x.at(j, l), t)
		VMULPS(w, t, t)
		VADDPS(acc.at(j, l), t, t)
		VMOVUPS(t, acc.at(j, l))
	})
	done()
}

// addScaled: out = float32(acc·s) + base.
func addScaled(a isa) {
	fn := "addScaled" + a.name
	TEXT(fn, NOSPLIT, "func(out []float32, base []float32, s float32, acc []float32)")
	out, base, acc := param("out", 4), param("base", 4), param("acc", 4)
	n := Load(Param("out").Len(), GP64())
	s := scalar(a, "s")
	l := a.lanes()
	blocks(fn, n, l, 4, []stream{out, base, acc}, func(j int) {
		t := a.vec()
		VMOVUPS(acc.at(j, l), t)
		VMULPS(s, t, t)
		VADDPS(base.at(j, l), t, t)
		VMOVUPS(t, out.at(j, l))
	})
	done()
}

// addInto: dst = dst + x.
func addInto(a isa) {
	fn := "addInto" + a.name
	TEXT(fn, NOSPLIT, "func(dst []float32, x []float32)")
	dst, x := param("dst", 4), param("x", 4)
	n := Load(Param("dst").Len(), GP64())
	l := a.lanes()
	blocks(fn, n, l, 4, []stream{dst, x}, func(j int) {
		t := a.vec()
		VMOVUPS(dst.at(j, l), t)
		VADDPS(x.at(j, l), t, t)
		VMOVUPS(t, dst.at(j, l))
	})
	done()
}

// scaleBy: x = x·s.
func scaleBy(a isa) {
	fn := "scaleBy" + a.name
	TEXT(fn, NOSPLIT, "func(x []float32, s float32)")
	x := param("x", 4)
	n := Load(Param("x").Len(), GP64())
	s := scalar(a, "s")
	l := a.lanes()
	blocks(fn, n, l, 4, []stream{x}, func(j int) {
		t := a.vec()
		VMOVUPS(x.at(j, l), t)
		VMULPS(s, t, t)
		VMOVUPS(t, x.at(j, l))
	})
	done()
}

// divBy: x = x / d.
func divBy(a isa) {
	fn := "divBy" + a.name
	TEXT(fn, NOSPLIT, "func(x []float32, d float32)")
	x := param("x", 4)
	n := Load(Param("x").Len(), GP64())
	d := scalar(a, "d")
	l := a.lanes()
	blocks(fn, n, l, 4, []stream{x}, func(j int) {
		t := a.vec()
		VMOVUPS(x.at(j, l), t)
		VDIVPS(d, t, t)
		VMOVUPS(t, x.at(j, l))
	})
	done()
}

// nonFinite returns the offset of the first block (of up to four vectors)
// holding a value whose exponent bits are all ones, or len(x).
func nonFinite(a isa) {
	fn := "nonFinite" + a.name
	TEXT(fn, NOSPLIT, "func(x []float32) int")
	x := param("x", 4)
	n := Load(Param("x").Len(), GP64())
	exp := broadcast32(a, 0x7F800000)
	l := a.lanes()
	blocks(fn, n, l, 4, []stream{x}, func(j int) {
		t := a.vec()
		if a.name == "AVX512" {
			k := K()
			VPANDD(x.at(j, l), exp, t)
			VPCMPEQD(exp, t, k)
			KORTESTW(k, k)
		} else {
			VPAND(x.at(j, l), exp, t)
			VPCMPEQD(exp, t, t)
			VPTEST(t, t)
		}
		JNE(LabelRef(fn + "_found"))
	})
	Label(fn + "_found")
	total := Load(Param("x").Len(), GP64())
	SUBQ(n, total)
	Store(total, ReturnIndex(0))
	done()
}
