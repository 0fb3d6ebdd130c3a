package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
	"github.com/potluck-hub/potluck/half/_asm/simd"
)

func convert() {
	for _, a := range []simd.ISA{simd.AVX512, simd.AVX2} {
		widenBF16(a)
		widenF16(a)
		narrowBF16(a)
		narrowF16(a)
	}
}

// widenBF16: zero-extend each half-word to 32 bits, shift left by 16.
func widenBF16(a simd.ISA) {
	fn := "widenBF16" + a.Name
	TEXT(fn, NOSPLIT, "func(dst []float32, src []byte)")
	dst, src := simd.Slice("dst", 4), simd.Slice("src", 2)
	n := Load(Param("dst").Len(), GP64())
	l := a.Lanes()
	simd.Blocks(fn, n, l, 4, []simd.Stream{dst, src}, func(j int) {
		v := a.Vec()
		VPMOVZXWD(src.At(j, l), v)
		VPSLLD(U8(16), v, v)
		VMOVUPS(v, dst.At(j, l))
	})
	simd.Done()
}

// widenF16: VCVTPH2PS, which quiets a signalling NaN; where the half is a
// NaN with its quiet bit (bit 9) clear, clear bit 22 of the result again.
func widenF16(a simd.ISA) {
	fn := "widenF16" + a.Name
	TEXT(fn, NOSPLIT, "func(dst []float32, src []byte)")
	dst, src := simd.Slice("dst", 4), simd.Slice("src", 2)
	n := Load(Param("dst").Len(), GP64())
	abs, inf, quiet, bit22 := simd.Broadcast32(a, 0x7FFF), simd.Broadcast32(a, 0x7C00), simd.Broadcast32(a, 0x0200), simd.Broadcast32(a, 0x400000)
	l := a.Lanes()
	simd.Blocks(fn, n, l, 2, []simd.Stream{dst, src}, func(j int) {
		f, h := a.Vec(), a.Vec()
		VCVTPH2PS(src.At(j, l), f)
		VPMOVZXWD(src.At(j, l), h)
		if a.Name == "AVX512" {
			nan, snan := K(), K()
			t := a.Vec()
			VPANDD(abs, h, t)
			VPCMPD(U8(6), inf, t, nan)     // t > 0x7C00 (not less or equal)
			VPTESTNMD(quiet, h, nan, snan) // … and bit 9 clear
			VPXORD(bit22, f, snan, f)      // clear the quiet bit VCVTPH2PS set
		} else {
			t, q := a.Vec(), a.Vec()
			VPAND(abs, h, t)
			VPCMPGTD(inf, t, t) // all ones where the half is a NaN
			VPAND(bit22, t, t)
			VPAND(quiet, h, q)
			VPSLLD(U8(13), q, q) // bit 22 where the NaN is quiet
			VPANDN(t, q, t)      // bit 22 where it is signalling
			VPXOR(t, f, f)
		}
		VMOVUPS(f, dst.At(j, l))
	})
	simd.Done()
}

// narrowBF16: r = (b + 0x7FFF + (b>>16)&1) >> 16; a NaN gives b>>16 | 0x40.
// AVX-512 packs with VPMOVDW; AVX2 packs two vectors with VPACKUSDW (every
// value fits in 16 bits, so nothing saturates) and VPERMQ puts the halves
// back in order, 16 elements a step.
func narrowBF16(a simd.ISA) {
	fn := "narrowBF16" + a.Name
	TEXT(fn, NOSPLIT, "func(dst []byte, src []float32)")
	dst, src := simd.Slice("dst", 2), simd.Slice("src", 4)
	n := Load(Param("src").Len(), GP64())
	abs, inf, round, one, q := simd.Broadcast32(a, 0x7FFFFFFF), simd.Broadcast32(a, 0x7F800000), simd.Broadcast32(a, 0x7FFF), simd.Broadcast32(a, 1), simd.Broadcast32(a, 0x40)
	l := a.Lanes()
	rounded := func(v reg.VecVirtual) reg.VecVirtual {
		hi, lsb, r := a.Vec(), a.Vec(), a.Vec()
		VPSRLD(U8(16), v, hi)
		if a.Name == "AVX512" {
			VPANDD(one, hi, lsb)
			VPADDD(round, v, r)
			VPADDD(lsb, r, r)
			VPSRLD(U8(16), r, r)
			t, nan := a.Vec(), K()
			VPANDD(abs, v, t)
			VPCMPD(U8(6), inf, t, nan) // |b| > 0x7F800000
			VPORD(q, hi, nan, r)       // NaN lanes: b>>16 | 0x40
		} else {
			VPAND(one, hi, lsb)
			VPADDD(round, v, r)
			VPADDD(lsb, r, r)
			VPSRLD(U8(16), r, r)
			t := a.Vec()
			VPAND(abs, v, t)
			VPCMPGTD(inf, t, t)
			VPOR(q, hi, hi)
			VPBLENDVB(t, hi, r, r)
		}
		return r
	}
	if a.Name == "AVX512" {
		simd.Blocks(fn, n, l, 4, []simd.Stream{dst, src}, func(j int) {
			v := a.Vec()
			VMOVUPS(src.At(j, l), v)
			VPMOVDW(rounded(v), dst.At(j, l))
		})
	} else {
		simd.Blocks(fn, n, 2*l, 2, []simd.Stream{dst, src}, func(j int) {
			v0, v1 := a.Vec(), a.Vec()
			VMOVUPS(src.At(2*j, l), v0)
			VMOVUPS(src.At(2*j+1, l), v1)
			p := a.Vec()
			VPACKUSDW(rounded(v1), rounded(v0), p)
			VPERMQ(U8(0xD8), p, p)
			VMOVDQU(p, dst.At(2*j, l))
		})
	}
	simd.Done()
}

// narrowF16: VCVTPS2PH with rounding control 0 (nearest even).
func narrowF16(a simd.ISA) {
	fn := "narrowF16" + a.Name
	TEXT(fn, NOSPLIT, "func(dst []byte, src []float32)")
	dst, src := simd.Slice("dst", 2), simd.Slice("src", 4)
	n := Load(Param("src").Len(), GP64())
	l := a.Lanes()
	simd.Blocks(fn, n, l, 4, []simd.Stream{dst, src}, func(j int) {
		v := a.Vec()
		VMOVUPS(src.At(j, l), v)
		VCVTPS2PH(U8(0), v, dst.At(j, l))
	})
	simd.Done()
}
