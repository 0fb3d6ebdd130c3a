package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
	"github.com/potluck-hub/potluck/half/_asm/simd"
)

// The fused weighted sums (fused.go in the kernel package): one pass over
// the encoded base and N encoded inputs, a block of elements at a time.
// For each block the accumulators start at +0, the inputs are widened and
// summed in order (the slice headers and weights are reloaded for every
// block, so any number of inputs, 0 included, is one loop), the sum is
// finished, narrowed and stored, and the narrowed bits are checked for a
// non-finite value.
//
// The arithmetic is that of the slice kernels, with their operand order:
// x·w, then product + acc (axpy); acc / div (divBy); acc·λ, then + b
// (addScaled); x + b (addInto, x first). Each product is rounded before it
// is added (a VMULPS then a VADDPS, no FMA). So a result is the bits of
// WidenX, Axpy, DivBy, AddScaled and NarrowX run at the same level, NaN
// payloads included, and the bits of the generic loop up to NaN payloads
// (the rule of the package doc: Go's operand order is the compiler's
// choice). Division happens only when divide is set (div ≠ 1, decided in Go
// as the generic loop decides it); dividing by 1 would give the same bits
// anyway, the sum being a quiet NaN if a NaN.
//
// The result reports whether every narrowed output is finite. That is the
// whole of the generic condition (no input and no output non-finite):
// a non-finite operand makes the result of +, − (x + b), · and ÷ (as the
// dividend) non-finite whatever the other operand (±Inf·0 and Inf − Inf are
// NaN), so a non-finite input makes its element's output non-finite, in
// float32 and, since narrowing keeps ±Inf and NaN, in the format. The
// check is branch-free: the maximum of |h| (the bits without the sign) over
// every output is kept in a register and compared with the format's Inf
// once, at the end.
//
// The main loop takes unroll vectors of elements a step, then a second loop
// takes the rest one vector at a time. In a wide step bfloat16 loads a
// whole register of 16-bit values for two vectors, the even elements
// (shifted up) one vector and the odd (masked) the other, and the output
// merges them back into place (VPTERNLOGD, VPBLENDW) rather than packing.
// One vector of bfloat16 is widened and packed as half's WidenBF16 and
// NarrowBF16 do. Lanes hold other elements than in the slice kernels, but
// every lane does the same arithmetic, so the bits are the same.

// format is one encoding of the inputs and the output.
type format struct {
	name string // BF16, F16, F32
	size int    // bytes per element
}

var (
	fmtBF16 = format{"BF16", 2}
	fmtF16  = format{"F16", 2}
	fmtF32  = format{"F32", 4}
)

// unroll is the vectors of a step of the main loop, by instruction set,
// for sumScaled and for sumLinear (which keeps the base in registers too):
// as many as the registers hold (one more pair and avo fails to allocate).
// A wide step reads a long run of each input, which keeps the pass at
// memory speed when the inputs' addresses agree in their low 27 bits or
// more (same-sized buffers allocated one after the other), where AMD's L1
// way predictor keeps only one input's line at each offset in the cache.
// There, with 4 bfloat16 inputs and a base on a Zen 4, AVX-512 runs at
// 0.93–0.96 of XorN with 640-byte runs (20 vectors), 0.88–0.95 with 512,
// 0.8 with 256 and 0.65 with 128; with other layouts at 1.1–1.3 of XorN.
var unroll = map[string][2]int{"AVX512": {20, 8}, "AVX2": {8, 4}}

func fused() {
	for _, a := range []simd.ISA{simd.AVX512, simd.AVX2} {
		for _, f := range []format{fmtBF16, fmtF16, fmtF32} {
			fusedSum(a, f, false)
			fusedSum(a, f, true)
		}
	}
}

// vops are the integer vector instructions whose AVX-512 form has another
// name (VPANDD for VPAND, …). The AVX-512 kernels use only EVEX-encodable
// instructions, so any of the 32 registers may hold any operand.
type vops struct{ a simd.ISA }

func (o vops) is512() bool { return o.a.Name == "AVX512" }

func (o vops) and(x, y, d Op) {
	if o.is512() {
		VPANDD(x, y, d)
	} else {
		VPAND(x, y, d)
	}
}

func (o vops) zero(v Op) {
	if o.is512() {
		VPXORD(v, v, v)
	} else {
		VPXOR(v, v, v)
	}
}

func (o vops) movu(s, d Op) {
	if o.is512() {
		VMOVDQU32(s, d)
	} else {
		VMOVDQU(s, d)
	}
}

// half is the register holding a vector's worth of 16-bit values: the lower
// half of v.
func (o vops) half(v reg.VecVirtual) reg.Register {
	if o.is512() {
		return v.AsY()
	}
	return v.AsX()
}

// broadcastParam puts float32 parameter name in every lane, straight from
// memory (MOVSS cannot reach registers 16–31).
func broadcastParam(a simd.ISA, name string) reg.VecVirtual {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	v := a.Vec()
	VBROADCASTSS(b.Addr, v)
	return v
}

// vecConsts holds the vector constants emitted so far, by value.
var vecConsts = map[uint32]Mem{}

// vecConst is a 32-byte constant, v in every lane: a memory operand for an
// AVX2 instruction.
func vecConst(v uint32) Mem {
	m, ok := vecConsts[v]
	if !ok {
		m = GLOBL(fmt.Sprintf("v%08x", v), RODATA|NOPTR)
		for i := range 8 {
			DATA(4*i, U32(v))
		}
		vecConsts[v] = m
	}
	return m
}

// fusedGen is one fused kernel being emitted: its format and instruction
// set, and what the helpers that load, narrow, store and check its vectors
// share.
type fusedGen struct {
	a      simd.ISA
	o      vops
	f      format
	dst    reg.Register // the output
	off    reg.Register // bytes into every stream
	mx     reg.VecVirtual
	hiMask reg.VecVirtual // bfloat16: 0xFFFF0000
	kregs  map[uint32]reg.VecVirtual
	sealed bool // the prologue is over: konst makes no new constant
	round  Op   // bfloat16 rounding: 0x7FFF, 1, the quiet bit
	one    Op
	quiet  Op
}

// newFusedGen sets up the running maximum, the narrowing constants and
// the kernel's own constants (extra), all before the kernel's first branch.
//
// mx is the running maximum of the outputs' bits without the sign: of
// 16-bit words for the 16-bit formats (in the lower half for float16,
// whose VCVTPS2PH writes half a register), of 32-bit words for float32.
func newFusedGen(a simd.ISA, f format, dst, off reg.Register, extra ...uint32) *fusedGen {
	g := &fusedGen{a: a, o: vops{a}, f: f, dst: dst, off: off, kregs: map[uint32]reg.VecVirtual{}}
	g.mx = a.Vec()
	g.o.zero(g.mx)
	if f == fmtBF16 {
		g.hiMask = simd.Broadcast32(a, 0xFFFF0000)
	}
	if f == fmtBF16 {
		g.round, g.one, g.quiet = g.konst(0x7FFF), g.konst(1), g.konst(0x400000)
	}
	if f == fmtF32 {
		g.konst(0x7FFFFFFF)
	} else {
		g.konst(0x7FFF7FFF)
	}
	for _, v := range extra {
		g.konst(v)
	}
	g.sealed = true
	return g
}

// konst is a constant in every lane: a register on AVX-512, memory on
// AVX2 (whose 16 registers go to the accumulators).
//
// On AVX-512 every constant is broadcast in the prologue (newFusedGen's
// extra): one first broadcast where a kernel first asks for it would sit
// inside one branch, and every path that jumps past it would read a
// register never written (avo's allocator does not object). The robust
// and masked kernels did exactly that, and failed only on AVX-512
// hardware; konst now refuses, when the kernel is generated.
func (g *fusedGen) konst(v uint32) Op {
	if !g.o.is512() {
		return vecConst(v)
	}
	if _, ok := g.kregs[v]; !ok {
		if g.sealed {
			panic(fmt.Sprintf("konst %#08x: not broadcast in the prologue; pass it to newFusedGen", v))
		}
		g.kregs[v] = simd.Broadcast32(g.a, v)
	}
	return g.kregs[v]
}

// at is the operand disp bytes into the stream at ptr, at the offset.
func (g *fusedGen) at(ptr reg.Register, disp int) Mem {
	return Mem{Base: ptr, Index: g.off, Scale: 1, Disp: disp}
}

// widen loads u vectors of elements of the stream at ptr as float32s,
// passing each to fn as soon as it is loaded.
func (g *fusedGen) widen(ptr reg.Register, u int, fn func(j int, x reg.VecVirtual)) {
	a, o, f := g.a, g.o, g.f
	switch {
	case f == fmtBF16 && u%2 == 0:
		for i := 0; i < u; i += 2 {
			e, od := a.Vec(), a.Vec()
			o.movu(g.at(ptr, i/2*a.Bytes), od)
			VPSLLD(U8(16), od, e)
			o.and(g.hiMask, od, od)
			fn(i, e)
			fn(i+1, od)
		}
	case f == fmtBF16:
		x := a.Vec()
		VPMOVZXWD(g.at(ptr, 0), x)
		VPSLLD(U8(16), x, x)
		fn(0, x)
	case f == fmtF16:
		for j := range u {
			x := a.Vec()
			VCVTPH2PS(g.at(ptr, j*a.Bytes/2), x)
			fn(j, x)
		}
	default:
		for j := range u {
			x := a.Vec()
			VMOVUPS(g.at(ptr, j*a.Bytes), x)
			fn(j, x)
		}
	}
}

// rounded returns float32 v rounded to bfloat16 in the upper 16 bits of
// each lane: v + 0x7FFF + (v>>16)&1, or v | 0x400000 for a NaN.
func (g *fusedGen) rounded(v reg.VecVirtual) reg.VecVirtual {
	a, o := g.a, g.o
	lsb, r := a.Vec(), a.Vec()
	VPSRLD(U8(16), v, lsb)
	o.and(g.one, lsb, lsb)
	VPADDD(g.round, v, r)
	VPADDD(lsb, r, r)
	if o.is512() {
		nan := K()
		VCMPPS(U8(3), v, v, nan) // unordered: v is a NaN
		VPORD(g.quiet, v, nan, r)
	} else {
		nan, q := a.Vec(), a.Vec()
		VCMPPS(U8(3), v, v, nan)
		VPOR(g.quiet, v, q)
		VBLENDVPS(nan, q, r, r)
	}
	return r
}

// check folds |h| of the outputs in h into m.
func (g *fusedGen) check(h reg.Register, words bool, m reg.Register) {
	a, o := g.a, g.o
	var t reg.Register = a.Vec()
	if h.Size() < uint(a.Bytes) {
		t = o.half(t.(reg.VecVirtual))
	}
	var ab Op
	switch {
	case !words:
		ab = g.konst(0x7FFFFFFF)
	case o.is512() && h.Size() < uint(a.Bytes):
		ab = o.half(g.kregs[0x7FFF7FFF])
	default:
		ab = g.konst(0x7FFF7FFF)
	}
	o.and(ab, h, t)
	if words {
		VPMAXUW(t, m, m)
	} else {
		VPMAXUD(t, m, m)
	}
}

// store narrows the u finished vectors of acc to dst and checks them. A
// wide bfloat16 store takes its pairs as widen gives them: the even
// elements, then the odd.
func (g *fusedGen) store(acc []reg.VecVirtual) {
	a, o, f := g.a, g.o, g.f
	switch {
	case f == fmtBF16 && len(acc)%2 == 0:
		for i := 0; i < len(acc); i += 2 {
			e, od := g.rounded(acc[i]), g.rounded(acc[i+1])
			VPSRLD(U8(16), e, e)
			if o.is512() {
				VPTERNLOGD(U8(0xEC), g.hiMask, e, od) // od = od&hiMask | e
			} else {
				VPBLENDW(U8(0xAA), od, e, od) // odd words from od, even from e
			}
			o.movu(od, g.at(g.dst, i/2*a.Bytes))
			g.check(od, true, g.mx)
		}
	case f == fmtBF16:
		r := g.rounded(acc[0])
		VPSRLD(U8(16), r, r)
		h := a.Vec()
		if o.is512() {
			VPMOVDW(r, h.AsY())
		} else {
			VEXTRACTI128(U8(1), r, h.AsX())
			VPACKUSDW(h.AsX(), r.AsX(), h.AsX())
		}
		o.movu(o.half(h), g.at(g.dst, 0))
		// The words of r are the results and zeros.
		g.check(r, true, g.mx)
	case f == fmtF16:
		for j, v := range acc {
			h := o.half(a.Vec())
			VCVTPS2PH(U8(0), v, h)
			o.movu(h, g.at(g.dst, j*a.Bytes/2))
			g.check(h, true, o.half(g.mx))
		}
	default:
		for j, v := range acc {
			VMOVUPS(v, g.at(g.dst, j*a.Bytes))
			g.check(v, false, g.mx)
		}
	}
}

// okResult stores whether no lane of the running maximum reaches the
// format's Inf: every output was finite.
func (g *fusedGen) okResult() {
	a, o, f := g.a, g.o, g.f
	var inf uint32
	words := true
	switch f {
	case fmtBF16:
		inf = 0x7F807F80
	case fmtF16:
		inf = 0x7C007C00
	default:
		inf, words = 0x7F800000, false
	}
	thr := simd.Broadcast32(a, inf)
	var mr, tr reg.Register = g.mx, thr
	if f == fmtF16 {
		mr, tr = o.half(g.mx), o.half(thr)
	}
	if o.is512() {
		k := K()
		if words {
			VPCMPUW(U8(5), tr, mr, k) // mx ≥ Inf
			KORTESTD(k, k)
		} else {
			VPCMPUD(U8(5), tr, mr, k)
			KORTESTW(k, k)
		}
	} else {
		var t reg.Register = a.Vec()
		if f == fmtF16 {
			t = t.(reg.VecVirtual).AsX()
		}
		if words {
			VPMINUW(tr, mr, t)
			VPCMPEQW(tr, t, t)
		} else {
			VPMINUD(tr, mr, t)
			VPCMPEQD(tr, t, t)
		}
		VPTEST(t, t)
	}
	ok := GP8()
	SETEQ(ok)
	Store(ok, ReturnIndex(0))
}

// fusedSum emits sumScaled<f><a> (linear false) or sumLinear<f><a>.
func fusedSum(a simd.ISA, f format, linear bool) {
	fn := "sumScaled" + f.name + a.Name
	sig := "func(dst []byte, base []byte, srcs [][]byte, w []float32, div float32, lambda float32, divide bool) bool"
	if linear {
		fn = "sumLinear" + f.name + a.Name
		sig = "func(dst []byte, base []byte, srcs [][]byte, w []float32) bool"
	}
	TEXT(fn, NOSPLIT, sig)
	l := a.Lanes()
	dst, base := Load(Param("dst").Base(), GP64()), Load(Param("base").Base(), GP64())
	n := Load(Param("dst").Len(), GP64()) // bytes left
	srcs := Load(Param("srcs").Base(), GP64())
	end := Load(Param("srcs").Len(), GP64()) // srcs + 24·len(srcs): the end of the headers
	IMUL3Q(U32(24), end, end)
	ADDQ(srcs, end)
	w := Load(Param("w").Base(), GP64())
	var div, lambda reg.VecVirtual
	var divide reg.Register
	if !linear {
		div, lambda = broadcastParam(a, "div"), broadcastParam(a, "lambda")
		divide = Load(Param("divide"), GP32())
	}
	off, hp, wp, p := GP64(), GP64(), GP64(), GP64()
	XORQ(off, off)
	g := newFusedGen(a, f, dst, off)
	o := g.o

	label := func(s string) string { return fn + "_" + s }
	step := func(name, next string, u int) {
		bytes := u * l * f.size
		Label(label(name))
		CMPQ(n, U32(bytes))
		JB(LabelRef(label(next)))
		b := make([]reg.VecVirtual, u)
		if linear {
			g.widen(base, u, func(j int, x reg.VecVirtual) { b[j] = x })
		}
		acc := make([]reg.VecVirtual, u)
		for j := range acc {
			acc[j] = a.Vec()
			o.zero(acc[j])
		}
		MOVQ(srcs, hp)
		MOVQ(w, wp)
		CMPQ(hp, end)
		JE(LabelRef(label(name + "_summed")))
		Label(label(name + "_src"))
		MOVQ(Mem{Base: hp}, p)
		wv := a.Vec()
		VBROADCASTSS(Mem{Base: wp}, wv)
		g.widen(p, u, func(j int, x reg.VecVirtual) {
			if linear {
				VADDPS(b[j], x, x) // x + b
			}
			VMULPS(wv, x, x)          // ·w
			VADDPS(acc[j], x, acc[j]) // product + acc
		})
		ADDQ(U32(24), hp)
		ADDQ(U32(4), wp)
		CMPQ(hp, end)
		JNE(LabelRef(label(name + "_src")))
		Label(label(name + "_summed"))
		if !linear {
			TESTL(divide, divide)
			JZ(LabelRef(label(name + "_divided")))
			for _, v := range acc {
				VDIVPS(div, v, v) // acc / div
			}
			Label(label(name + "_divided"))
			g.widen(base, u, func(j int, x reg.VecVirtual) {
				VMULPS(lambda, acc[j], acc[j]) // acc·λ
				VADDPS(x, acc[j], acc[j])      // + b
			})
		}
		g.store(acc)
		ADDQ(U32(bytes), off)
		SUBQ(U32(bytes), n)
		JMP(LabelRef(label(name)))
	}
	if linear {
		step("wide", "one", unroll[a.Name][1])
	} else {
		step("wide", "one", unroll[a.Name][0])
	}
	step("one", "done", 1)
	Label(label("done"))
	g.okResult()
	simd.Done()
}
