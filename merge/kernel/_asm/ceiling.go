package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
	"github.com/potluck-hub/potluck/half/_asm/simd"
)

// ceiling emits the bandwidth ceiling: dst = srcs[0] ^ srcs[1] ^ …, 256
// bytes a step, each source read once, no arithmetic. len(dst) is a
// multiple of 256 and every source at least as long.
func ceiling() {
	for _, a := range []simd.ISA{simd.AVX512, simd.AVX2} {
		fn := "xorN" + a.Name
		TEXT(fn, NOSPLIT, "func(dst []byte, srcs [][]byte)")
		dst := simd.Slice("dst", 1)
		n := Load(Param("dst").Len(), GP64())
		srcs := Load(Param("srcs").Base(), GP64())
		cnt := Load(Param("srcs").Len(), GP64())
		off, i, p := GP64(), GP64(), GP64()
		XORQ(off, off)
		const step = 256
		per := step / a.Bytes
		mov := func(s, d Op) { VMOVDQU(s, d) }
		xor := func(s, x, d Op) { VPXOR(s, x, d) }
		if a.Name == "AVX512" {
			mov = func(s, d Op) { VMOVDQU64(s, d) }
			xor = func(s, x, d Op) { VPXORQ(s, x, d) }
		}
		at := func(base reg.Register, j int) Mem { return Mem{Base: base, Index: off, Scale: 1, Disp: j * a.Bytes} }
		Label(fn + "_loop")
		CMPQ(n, U32(step))
		JB(LabelRef(fn + "_done"))
		vs := make([]reg.VecVirtual, per)
		MOVQ(Mem{Base: srcs}, p)
		for j := range vs {
			vs[j] = a.Vec()
			mov(at(p, j), vs[j])
		}
		MOVQ(U32(1), i)
		Label(fn + "_src")
		CMPQ(i, cnt)
		JAE(LabelRef(fn + "_store"))
		IMUL3Q(U32(24), i, p)
		MOVQ(Mem{Base: srcs, Index: p, Scale: 1}, p)
		for j, v := range vs {
			xor(at(p, j), v, v)
		}
		INCQ(i)
		JMP(LabelRef(fn + "_src"))
		Label(fn + "_store")
		for j, v := range vs {
			mov(v, at(dst.P, j))
		}
		ADDQ(U32(step), off)
		SUBQ(U32(step), n)
		JMP(LabelRef(fn + "_loop"))
		Label(fn + "_done")
		simd.Done()
	}
}
