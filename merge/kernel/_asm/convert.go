package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func convert() {
	for _, a := range []isa{avx512, avx2} {
		widenBF16(a)
		widenF16(a)
		narrowBF16(a)
		narrowF16(a)
	}
}

// widenBF16: zero-extend each half-word to 32 bits, shift left by 16.
func widenBF16(a isa) {
	fn := "widenBF16" + a.name
	TEXT(fn, NOSPLIT, "func(dst []float32, src []byte)")
	dst, src := param("dst", 4), param("src", 2)
	n := Load(Param("dst").Len(), GP64())
	l := a.lanes()
	blocks(fn, n, l, 4, []stream{dst, src}, func(j int) {
		v := a.vec()
		VPMOVZXWD(src.at(j, l), v)
		VPSLLD(U8(16), v, v)
		VMOVUPS(v, dst.at(j, l))
	})
	done()
}

// widenF16: VCVTPH2PS, which quiets a signalling NaN; where the half is a
// NaN with its quiet bit (bit 9) clear, clear bit 22 of the result again.
func widenF16(a isa) {
	fn := "widenF16" + a.name
	TEXT(fn, NOSPLIT, "func(dst []float32, src []byte)")
	dst, src := param("dst", 4), param("src", 2)
	n := Load(Param("dst").Len(), GP64())
	abs, inf, quiet, bit22 := broadcast32(a, 0x7FFF), broadcast32(a, 0x7C00), broadcast32(a, 0x0200), broadcast32(a, 0x400000)
	l := a.lanes()
	blocks(fn, n, l, 2, []stream{dst, src}, func(j int) {
		f, h := a.vec(), a.vec()
		VCVTPH2PS(src.at(j, l), f)
		VPMOVZXWD(src.at(j, l), h)
		if a.name == "AVX512" {
			nan, snan := K(), K()
			t := a.vec()
			VPANDD(abs, h, t)
			VPCMPD(U8(6), inf, t, nan)     // t > 0x7C00 (not less or equal)
			VPTESTNMD(quiet, h, nan, snan) // … and bit 9 clear
			VPXORD(bit22, f, snan, f)      // clear the quiet bit VCVTPH2PS set
		} else {
			t, q := a.vec(), a.vec()
			VPAND(abs, h, t)
			VPCMPGTD(inf, t, t) // all ones where the half is a NaN
			VPAND(bit22, t, t)
			VPAND(quiet, h, q)
			VPSLLD(U8(13), q, q) // bit 22 where the NaN is quiet
			VPANDN(t, q, t)      // bit 22 where it is signalling
			VPXOR(t, f, f)
		}
		VMOVUPS(f, dst.at(j, l))
	})
	done()
}

// narrowBF16: r = (b + 0x7FFF + (b>>16)&1) >> 16; a NaN gives b>>16 | 0x40.
// AVX-512 packs with VPMOVDW; AVX2 packs two vectors with VPACKUSDW (every
// value fits in 16 bits, so nothing saturates) and VPERMQ puts the halves
// back in order, 16 elements a step.
func narrowBF16(a isa) {
	fn := "narrowBF16" + a.name
	TEXT(fn, NOSPLIT, "func(dst []byte, src []float32)")
	dst, src := param("dst", 2), param("src", 4)
	n := Load(Param("src").Len(), GP64())
	abs, inf, round, one, q := broadcast32(a, 0x7FFFFFFF), broadcast32(a, 0x7F800000), broadcast32(a, 0x7FFF), broadcast32(a, 1), broadcast32(a, 0x40)
	l := a.lanes()
	rounded := func(v reg.VecVirtual) reg.VecVirtual {
		hi, lsb, r := a.vec(), a.vec(), a.vec()
		VPSRLD(U8(16), v, hi)
		if a.name == "AVX512" {
			VPANDD(one, hi, lsb)
			VPADDD(round, v, r)
			VPADDD(lsb, r, r)
			VPSRLD(U8(16), r, r)
			t, nan := a.vec(), K()
			VPANDD(abs, v, t)
			VPCMPD(U8(6), inf, t, nan) // |b| > 0x7F800000
			VPORD(q, hi, nan, r)       // NaN lanes: b>>16 | 0x40
		} else {
			VPAND(one, hi, lsb)
			VPADDD(round, v, r)
			VPADDD(lsb, r, r)
			VPSRLD(U8(16), r, r)
			t := a.vec()
			VPAND(abs, v, t)
			VPCMPGTD(inf, t, t)
			VPOR(q, hi, hi)
			VPBLENDVB(t, hi, r, r)
		}
		return r
	}
	if a.name == "AVX512" {
		blocks(fn, n, l, 4, []stream{dst, src}, func(j int) {
			v := a.vec()
			VMOVUPS(src.at(j, l), v)
			VPMOVDW(rounded(v), dst.at(j, l))
		})
	} else {
		blocks(fn, n, 2*l, 2, []stream{dst, src}, func(j int) {
			v0, v1 := a.vec(), a.vec()
			VMOVUPS(src.at(2*j, l), v0)
			VMOVUPS(src.at(2*j+1, l), v1)
			p := a.vec()
			VPACKUSDW(rounded(v1), rounded(v0), p)
			VPERMQ(U8(0xD8), p, p)
			VMOVDQU(p, dst.at(2*j, l))
		})
	}
	done()
}

// narrowF16: VCVTPS2PH with rounding control 0 (nearest even).
func narrowF16(a isa) {
	fn := "narrowF16" + a.name
	TEXT(fn, NOSPLIT, "func(dst []byte, src []float32)")
	dst, src := param("dst", 2), param("src", 4)
	n := Load(Param("src").Len(), GP64())
	l := a.lanes()
	blocks(fn, n, l, 4, []stream{dst, src}, func(j int) {
		v := a.vec()
		VMOVUPS(src.at(j, l), v)
		VCVTPS2PH(U8(0), v, dst.at(j, l))
	})
	done()
}
