package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
	"github.com/potluck-hub/potluck/half/_asm/simd"
)

// The fused masked merges (fusedmask.go in the kernel package): for each
// step of one vector of encoded 16-bit elements (two vectors of float32
// elements), every input is loaded, masked on its encoded bits, widened,
// rescaled and weighted, then the step is summed or TIES-elected, and
// narrowed and stored as the fused sums store theirs. A step is two
// float32 vectors wide: 16 elements on AVX2, 32 on AVX-512.
//
// Each input's MaskedInput is read from memory where the loop needs it
// (its kind decides, by a branch that repeats every step, which mask
// runs); the TIES kernels keep each input's weighted values of the step in
// scratch between the election and the mix, as the slice kernels keep
// them in xs. The arithmetic is the slice kernels' with their operands:
// x·R, then x·W (or, in the mix, W·x), sums accumulating into their first
// operand; so a result that is finite has the generic loop's bits.
//
// The result is false when an input's key (dropped or not) reaches the
// format's Inf, when a TIES election sum is not finite, or when an output
// is not finite (the fused sums' check). With every election sum finite
// and no input NaN, the agreement test "v > 0 when s ≥ 0, v < 0 when
// s < 0" is int32(v ⊕ sign(s)) > 0 (s is never −0: it starts at +0), one
// compare.
//
// Masks, on the encoded bits (a dropped element becomes +0):
//   - MaskWindow: Lo ≤ key < Hi, signed compares against Lo−1 and Hi−1 on
//     AVX2 (the bounds are at most 0x8000, or 2³¹ for float32, so Lo−1 and
//     Hi−1 fit), unsigned compares into a k mask on AVX-512;
//   - MaskDARE2: the step's draws are consecutive counters from Z, four
//     16-bit uniforms each, in element order (dareMask2's layout); for
//     float32 the word masks are widened to dwords;
//   - MaskWords: the step's mask words, packed to 16 bits for the 16-bit
//     formats.

// MaskedInput's layout (the kernel package's fusedmask.go), byte offsets.
const (
	inSrc   = 0
	inW     = 24
	inR     = 28
	inKind  = 32
	inLo    = 36
	inHi    = 40
	inKeep  = 44
	inZ     = 48
	inWords = 56
	inSize  = 80
	// scratchStride is kernel.MaskedScratch float32s: one input's scratch.
	scratchStride = 64 * 4
)

// The mask kinds and merge kinds, as the kernel package numbers them.
const (
	kindWindow = 1
	kindDARE2  = 2
	kindWords  = 3
)

type mergeKind int

const (
	mergeSum mergeKind = iota
	mergeTIES
	mergePaper
)

var mergeNames = map[mergeKind]string{mergeSum: "Sum", mergeTIES: "TIES", mergePaper: "Paper"}

func maskedKernels() {
	for _, a := range []simd.ISA{simd.AVX512, simd.AVX2} {
		for _, f := range []format{fmtBF16, fmtF16, fmtF32} {
			for _, k := range []mergeKind{mergeSum, mergeTIES, mergePaper} {
				mergeMasked(a, f, k)
			}
			countKeys(a, f)
		}
	}
}

// maskedGen is one masked kernel being emitted.
type maskedGen struct {
	*fusedGen
	fn    string
	kind  mergeKind
	e     reg.Register // elements done: the step's first element
	base  reg.Register
	mxIn  reg.VecVirtual // the running maximum of the inputs' keys
	signs Mem            // TIES: the step's election sums' signs
}

// stepVecs is the float32 vectors of a step: two groups, each one vector
// of encoded 16-bit elements (or two of float32), of 2·lanes elements.
const stepVecs = 4

func (m *maskedGen) label(s string) string { return m.fn + "_" + s }

// groupElems is the elements of a group; stepElems of a step.
func (m *maskedGen) groupElems() int { return 2 * m.a.Lanes() }
func (m *maskedGen) stepElems() int  { return stepVecs * m.a.Lanes() }

func mergeMasked(a simd.ISA, f format, kind mergeKind) {
	fn := "mergeMasked" + mergeNames[kind] + f.name + a.Name
	// ins is []MaskedInput on the Go side: the same slice header.
	TEXT(fn, NOSPLIT, "func(dst []byte, base []byte, ins []uint64, scratch []float32, div float32, lambda float32, divide bool, normalize bool) bool")
	dst, base := Load(Param("dst").Base(), GP64()), Load(Param("base").Base(), GP64())
	n := Load(Param("dst").Len(), GP64()) // bytes left
	ins := Load(Param("ins").Base(), GP64())
	end := Load(Param("ins").Len(), GP64())
	IMUL3Q(U32(inSize), end, end)
	ADDQ(ins, end)
	scr := Load(Param("scratch").Base(), GP64())
	off, e, p, sp := GP64(), GP64(), GP64(), GP64()
	XORQ(off, off)
	XORQ(e, e)
	var consts []uint32 // finishTIES's
	switch kind {
	case mergeTIES:
		consts = []uint32{0x80000000, 0x7FFFFFFF}
	case mergePaper:
		consts = []uint32{0x80000000, 0x7FFFFFFF, one32}
	}
	m := &maskedGen{fusedGen: newFusedGen(a, f, dst, off, consts...), fn: fn, kind: kind, e: e, base: base}
	m.mxIn = a.Vec()
	m.o.zero(m.mxIn)
	var smx reg.VecVirtual // TIES: the running maximum of |s|
	if kind != mergeSum {
		smx = a.Vec()
		m.o.zero(smx)
		m.signs = AllocLocal(stepVecs * a.Bytes)
	}
	stepBytes := m.stepElems() * f.size

	Label(m.label("step"))
	CMPQ(n, U32(stepBytes))
	JB(LabelRef(m.label("done")))
	acc := make([]reg.VecVirtual, stepVecs) // the sum, or the election sum
	for j := range acc {
		acc[j] = a.Vec()
		m.o.zero(acc[j])
	}
	MOVQ(ins, p)
	MOVQ(scr, sp)
	Label(m.label("input"))
	CMPQ(p, end)
	JE(LabelRef(m.label("inputs")))
	// An input whose factors are 1 (R, and W where the input phase
	// multiplies by it) runs the code without those multiplies: x·1 is x
	// for every finite x, and a step with an input that is not finite
	// returns false whatever its sums hold.
	CMPL(Mem{Base: p, Disp: inR}, U32(one32))
	JNE(LabelRef(m.label("scaled")))
	if kind != mergePaper {
		CMPL(Mem{Base: p, Disp: inW}, U32(one32))
		JNE(LabelRef(m.label("scaled")))
	}
	m.dispatch(p, sp, acc, "unit", true)
	Label(m.label("scaled"))
	m.dispatch(p, sp, acc, "scaled", false)
	Label(m.label("next"))
	ADDQ(U32(inSize), p)
	ADDQ(U32(scratchStride), sp)
	JMP(LabelRef(m.label("input")))
	Label(m.label("inputs"))

	var out []reg.VecVirtual
	if kind == mergeSum {
		out = m.finishSum(acc)
	} else {
		out = m.finishTIES(acc, smx, ins, end, scr, kind == mergePaper)
	}
	m.store(out)
	ADDQ(U32(stepBytes), off)
	ADDQ(U32(m.stepElems()), e)
	SUBQ(U32(stepBytes), n)
	JMP(LabelRef(m.label("step")))

	Label(m.label("done"))
	ok := m.allBelow(m.mx, outInf(f), f != fmtF32, f == fmtF16)
	in := m.allBelow(m.mxIn, keyInf(f), f != fmtF32, false)
	ANDB(in, ok)
	if kind != mergeSum {
		s := m.allBelow(smx, 0x7F800000, false, false)
		ANDB(s, ok)
	}
	Store(ok, ReturnIndex(0))
	simd.Done()
}

// dareGammaConst is SplitMix64's γ.
const dareGammaConst = 0x9E3779B97F4A7C15

// outInf is the format's Inf in both 16-bit halves (or float32's).
func outInf(f format) uint32 {
	switch f {
	case fmtBF16:
		return 0x7F807F80
	case fmtF16:
		return 0x7C007C00
	}
	return 0x7F800000
}

// keyInf is the least key of a value that is not finite, in both halves.
func keyInf(f format) uint32 { return outInf(f) }

// one32 is float32 1's bits.
const one32 = 0x3F800000

// dispatch emits the branch on the input's mask kind to its code, each
// kind's labels suffixed with variant; unit leaves out the multiplies by
// R and W.
func (m *maskedGen) dispatch(p, sp reg.Register, acc []reg.VecVirtual, variant string, unit bool) {
	names := []string{kindWindow: "window", kindDARE2: "dare", kindWords: "words"}
	kindReg := GP32()
	MOVL(Mem{Base: p, Disp: inKind}, kindReg)
	for _, k := range []int{kindWindow, kindDARE2, kindWords} {
		CMPL(kindReg, U8(k))
		JE(LabelRef(m.label(names[k] + "_" + variant)))
	}
	m.input(p, sp, acc, 0, unit)
	for _, k := range []int{kindWindow, kindDARE2, kindWords} {
		Label(m.label(names[k] + "_" + variant))
		m.input(p, sp, acc, k, unit)
	}
}

// input emits one input's work on the step for mask kind k: each group
// loaded, masked, widened, rescaled and weighted (unless unit), added to
// acc and (TIES) kept in the input's scratch; then it jumps to the next
// input.
func (m *maskedGen) input(p, sp reg.Register, acc []reg.VecVirtual, k int, unit bool) {
	a := m.a
	src := GP64()
	MOVQ(Mem{Base: p, Disp: inSrc}, src)
	var r, w reg.VecVirtual
	if !unit {
		r = a.Vec()
		VBROADCASTSS(Mem{Base: p, Disp: inR}, r)
		if m.kind != mergePaper {
			w = a.Vec()
			VBROADCASTSS(Mem{Base: p, Disp: inW}, w)
		}
	}
	var mask func(g int, raw, keys []reg.VecVirtual)
	switch k {
	case kindWindow:
		mask = m.windowMask(p)
	case kindDARE2:
		mask = m.dareMask(p)
	case kindWords:
		mask = m.wordsMask(p)
	}
	for g := range stepVecs / 2 {
		raw, keys := m.loadGroup(src, g)
		if mask != nil {
			mask(g, raw, keys)
		}
		for j, x := range m.widenRaw(raw) {
			v := 2*g + j
			if !unit {
				VMULPS(r, x, x) // x·R
				if m.kind != mergePaper {
					VMULPS(w, x, x) // x·W
				}
			}
			VADDPS(x, acc[v], acc[v]) // acc + v
			if m.kind != mergeSum {
				VMOVUPS(x, Mem{Base: sp, Disp: v * a.Bytes})
			}
		}
	}
	JMP(LabelRef(m.label("next")))
}

// loadGroup loads group g of the input at src, encoded, and its keys,
// which it folds into the running maximum.
func (m *maskedGen) loadGroup(src reg.Register, g int) (raw, keys []reg.VecVirtual) {
	a, o := m.a, m.o
	nraw, absBits := 1, uint32(0x7FFF7FFF)
	if m.f == fmtF32 {
		nraw, absBits = 2, 0x7FFFFFFF
	}
	abs := m.konst(absBits)
	for j := range nraw {
		r, k := a.Vec(), a.Vec()
		o.movu(m.at(src, (g*nraw+j)*a.Bytes), r)
		o.and(abs, r, k)
		if m.f == fmtF32 {
			VPMAXUD(k, m.mxIn, m.mxIn)
		} else {
			VPMAXUW(k, m.mxIn, m.mxIn)
		}
		raw, keys = append(raw, r), append(keys, k)
	}
	return raw, keys
}

// windowMask returns the mask that keeps the elements whose key is in
// [Lo, Hi), its bounds broadcast once per input.
func (m *maskedGen) windowMask(p reg.Register) func(g int, raw, keys []reg.VecVirtual) {
	a, words := m.a, m.f != fmtF32
	lo, hi := a.Vec(), a.Vec()
	bcast := func(disp int, v reg.VecVirtual) {
		if words {
			VPBROADCASTW(Mem{Base: p, Disp: disp}, v)
		} else {
			VPBROADCASTD(Mem{Base: p, Disp: disp}, v)
		}
	}
	bcast(inLo, lo)
	bcast(inHi, hi)
	if m.o.is512() {
		return func(_ int, raw, keys []reg.VecVirtual) {
			for j, r := range raw {
				kl, kh := K(), K()
				if words {
					VPCMPUW(U8(5), lo, keys[j], kl) // key ≥ Lo
					VPCMPUW(U8(1), hi, keys[j], kh) // key < Hi
					KANDD(kl, kh, kl)
					VMOVDQU16_Z(r, kl, r)
				} else {
					VPCMPUD(U8(5), lo, keys[j], kl)
					VPCMPUD(U8(1), hi, keys[j], kh)
					KANDW(kl, kh, kl)
					VMOVDQU32_Z(r, kl, r)
				}
			}
		}
	}
	ones := vecConst(0xFFFFFFFF)
	if words {
		VPADDW(ones, lo, lo) // Lo − 1
		VPADDW(ones, hi, hi)
	} else {
		VPADDD(ones, lo, lo)
		VPADDD(ones, hi, hi)
	}
	return func(_ int, raw, keys []reg.VecVirtual) {
		for j, r := range raw {
			gl, gh := keys[j], a.Vec()
			if words {
				VPCMPGTW(hi, keys[j], gh) // key > Hi−1
				VPCMPGTW(lo, keys[j], gl) // key > Lo−1
			} else {
				VPCMPGTD(hi, keys[j], gh)
				VPCMPGTD(lo, keys[j], gl)
			}
			VPANDN(gl, gh, gl) // key ≥ Lo and not key ≥ Hi
			VPAND(gl, r, r)
		}
	}
}

// dareMask returns the mask that keeps the elements whose DAREMask2
// uniform is below Keep: group g's draws are the counters from c + 4g·γ
// (AVX2) or c + 8g·γ (AVX-512), c the step's first.
func (m *maskedGen) dareMask(p reg.Register) func(g int, raw, keys []reg.VecVirtual) {
	a := m.a
	c, gm := GP64(), GP64()
	MOVQ(m.e, c)
	SHRQ(U8(2), c)
	MOVQ(U64(dareGammaConst), gm)
	IMULQ(gm, c)
	ADDQ(Mem{Base: p, Disp: inZ}, c)
	keep := a.Vec()
	VPBROADCASTW(Mem{Base: p, Disp: inKeep}, keep)
	draws := m.groupElems() / 4
	lanes := dareLanes(draws * stepVecs / 2)
	if m.o.is512() {
		return func(g int, raw, _ []reg.VecVirtual) {
			z := a.Vec()
			VPBROADCASTQ(c, z)
			VPADDQ(lanes.Offset(8*draws*g), z, z)
			t := splitMix512(z)
			k := K()
			VPCMPUW(U8(1), keep, t, k) // u < Keep: kept
			if m.f != fmtF32 {
				VMOVDQU16_Z(raw[0], k, raw[0])
				return
			}
			kh := K()
			KSHIFTRD(U8(16), k, kh)
			VMOVDQU32_Z(raw[0], k, raw[0])
			VMOVDQU32_Z(raw[1], kh, raw[1])
		}
	}
	return func(g int, raw, _ []reg.VecVirtual) {
		z, x := a.Vec(), XMM()
		VMOVQ(c, x)
		VPBROADCASTQ(x, z)
		VPADDQ(lanes.Offset(8*draws*g), z, z)
		t := splitMixMem(z)
		d := a.Vec()
		VPMAXUW(keep, t, d)
		VPCMPEQW(t, d, d) // u ≥ Keep: dropped
		if m.f != fmtF32 {
			VPANDN(raw[0], d, raw[0])
			return
		}
		lo, hi := a.Vec(), a.Vec()
		VPMOVSXWD(d.AsX(), lo)
		VEXTRACTI128(U8(1), d, hi.AsX())
		VPMOVSXWD(hi.AsX(), hi)
		VPANDN(raw[0], lo, raw[0])
		VPANDN(raw[1], hi, raw[1])
	}
}

// wordsMask returns the mask that keeps the elements whose mask word is
// all ones.
func (m *maskedGen) wordsMask(p reg.Register) func(g int, raw, keys []reg.VecVirtual) {
	a := m.a
	wp := GP64()
	MOVQ(Mem{Base: p, Disp: inWords}, wp)
	return func(g int, raw, _ []reg.VecVirtual) {
		at := func(j int) Mem { return Mem{Base: wp, Index: m.e, Scale: 4, Disp: (2*g + j) * a.Bytes} }
		if m.o.is512() {
			k0, k1 := K(), K()
			w0, w1 := a.Vec(), a.Vec()
			VMOVDQU32(at(0), w0)
			VMOVDQU32(at(1), w1)
			VPTESTMD(w0, w0, k0)
			VPTESTMD(w1, w1, k1)
			if m.f == fmtF32 {
				VMOVDQU32_Z(raw[0], k0, raw[0])
				VMOVDQU32_Z(raw[1], k1, raw[1])
				return
			}
			KUNPCKWD(k0, k1, k0) // k1:k0, the group's 32 elements (Go order: the low half first)
			VMOVDQU16_Z(raw[0], k0, raw[0])
			return
		}
		if m.f == fmtF32 {
			VPAND(at(0), raw[0], raw[0])
			VPAND(at(1), raw[1], raw[1])
			return
		}
		w := a.Vec()
		VMOVDQU(at(0), w)
		VPACKSSDW(at(1), w, w) // per 128 bits: 4 words of at(0), 4 of at(1)
		VPERMQ(U8(0xD8), w, w) // the group's 16 elements in order
		VPAND(w, raw[0], raw[0])
	}
}

// widenRaw widens a masked encoded group to two float32 vectors, in the
// layout widen gives (bfloat16: the even elements, then the odd).
func (m *maskedGen) widenRaw(raw []reg.VecVirtual) []reg.VecVirtual {
	a, o := m.a, m.o
	switch m.f {
	case fmtBF16:
		x := []reg.VecVirtual{a.Vec(), raw[0]}
		VPSLLD(U8(16), raw[0], x[0])
		o.and(m.hiMask, raw[0], x[1])
		return x
	case fmtF16:
		x := []reg.VecVirtual{a.Vec(), a.Vec()}
		hi := a.Vec()
		if o.is512() {
			VCVTPH2PS(raw[0].AsY(), x[0])
			VEXTRACTI64X4(U8(1), raw[0], hi.AsY())
			VCVTPH2PS(hi.AsY(), x[1])
		} else {
			VCVTPH2PS(raw[0].AsX(), x[0])
			VEXTRACTI128(U8(1), raw[0], hi.AsX())
			VCVTPH2PS(hi.AsX(), x[1])
		}
		return x
	}
	return raw
}

// finishSum divides the step's sum when divide is set and adds λ·sum to
// the base.
func (m *maskedGen) finishSum(acc []reg.VecVirtual) []reg.VecVirtual {
	a := m.a
	divide := GP32()
	Load(Param("divide"), divide)
	TESTL(divide, divide)
	JZ(LabelRef(m.label("divided")))
	div := broadcastParam(a, "div")
	for _, v := range acc {
		VDIVPS(div, v, v) // acc / div
	}
	Label(m.label("divided"))
	lambda := broadcastParam(a, "lambda")
	m.widen(m.base, stepVecs, func(j int, b reg.VecVirtual) {
		VMULPS(lambda, acc[j], acc[j]) // acc·λ
		VADDPS(b, acc[j], acc[j])      // + b
	})
	return acc
}

// finishTIES mixes the step's inputs that agree with the election sums s
// and adds λ·mix to the base.
func (m *maskedGen) finishTIES(s []reg.VecVirtual, smx reg.VecVirtual, ins, end, scr reg.Register, paper bool) []reg.VecVirtual {
	a, o := m.a, m.o
	sign := m.konst(0x80000000)
	abs := m.konst(0x7FFFFFFF)
	for j := range s {
		t := a.Vec()
		o.and(abs, s[j], t)
		VPMAXUD(t, smx, smx)
		o.and(sign, s[j], s[j]) // s's sign bit
		o.movu(s[j], m.signs.Offset(j*a.Bytes))
	}
	mix := make([]reg.VecVirtual, stepVecs)
	div := make([]reg.VecVirtual, stepVecs)
	for j := range mix {
		mix[j], div[j] = a.Vec(), a.Vec()
		o.zero(mix[j])
		o.zero(div[j])
	}
	zero := a.Vec()
	o.zero(zero)
	p, sp := GP64(), GP64()
	MOVQ(ins, p)
	MOVQ(scr, sp)
	Label(m.label("mix"))
	CMPQ(p, end)
	JE(LabelRef(m.label("mixed")))
	w := a.Vec()
	VBROADCASTSS(Mem{Base: p, Disp: inW}, w)
	for j := range mix {
		v, t := a.Vec(), a.Vec()
		VMOVUPS(Mem{Base: sp, Disp: j * a.Bytes}, v)
		m.o.xor(m.signs.Offset(j*a.Bytes), v, t)
		add, addDiv := v, reg.VecVirtual(w)
		if paper {
			add = a.Vec()
			VMULPS(v, w, add) // W·x
		}
		if o.is512() {
			k := K()
			VPCMPGTD(zero, t, k) // agrees
			VADDPS(add, mix[j], k, mix[j])
			if paper {
				VADDPS(m.konst(one32), div[j], k, div[j])
			} else {
				VADDPS(addDiv, div[j], k, div[j])
			}
			continue
		}
		agree := a.Vec()
		VPCMPGTD(zero, t, agree) // t > 0: agrees
		VANDPS(agree, add, add)
		VADDPS(add, mix[j], mix[j])
		d := a.Vec()
		if paper {
			VANDPS(m.konst(one32), agree, d)
		} else {
			VANDPS(agree, addDiv, d)
		}
		VADDPS(d, div[j], div[j])
	}
	ADDQ(U32(inSize), p)
	ADDQ(U32(scratchStride), sp)
	JMP(LabelRef(m.label("mix")))
	Label(m.label("mixed"))
	norm := GP32()
	Load(Param("normalize"), norm)
	TESTL(norm, norm)
	JZ(LabelRef(m.label("normalized")))
	for j := range mix {
		if o.is512() {
			k := K()
			VCMPPS(U8(cmpNEQ), zero, div[j], k)
			VDIVPS(div[j], mix[j], k, mix[j])
		} else {
			nz, q := a.Vec(), a.Vec()
			VCMPPS(U8(cmpNEQ), zero, div[j], nz)
			VDIVPS(div[j], mix[j], q)
			VBLENDVPS(nz, q, mix[j], mix[j])
		}
	}
	Label(m.label("normalized"))
	lambda := broadcastParam(a, "lambda")
	m.widen(m.base, stepVecs, func(j int, b reg.VecVirtual) {
		VMULPS(lambda, mix[j], mix[j]) // mix·λ
		VADDPS(b, mix[j], mix[j])      // + b
	})
	return mix
}

// allBelow returns a byte register holding 1 when every lane of v (16-bit
// words, or 32-bit, in the lower half only when half) is below thr (in
// both halves of each dword, for words), 0 otherwise.
func (g *fusedGen) allBelow(v reg.VecVirtual, thr uint32, words, half bool) reg.GPVirtual {
	a, o := g.a, g.o
	th := simd.Broadcast32(a, thr)
	var vr, tr reg.Register = v, th
	if half {
		vr, tr = o.half(v), o.half(th)
	}
	if o.is512() {
		k := K()
		if words {
			VPCMPUW(U8(5), tr, vr, k) // v ≥ thr
			KORTESTD(k, k)
		} else {
			VPCMPUD(U8(5), tr, vr, k)
			KORTESTW(k, k)
		}
	} else {
		var t reg.Register = a.Vec()
		if half {
			t = t.(reg.VecVirtual).AsX()
		}
		if words {
			VPMINUW(tr, vr, t)
			VPCMPEQW(tr, t, t)
		} else {
			VPMINUD(tr, vr, t)
			VPCMPEQD(tr, t, t)
		}
		VPTEST(t, t)
	}
	ok := GP8()
	SETEQ(ok)
	return ok
}

// xor is VPXORD (AVX-512) or VPXOR.
func (o vops) xor(x, y, d Op) {
	if o.is512() {
		VPXORD(x, y, d)
	} else {
		VPXOR(x, y, d)
	}
}

// dareLanes is a table of j·γ for the j of a vector of n counters.
func dareLanes(n int) Mem {
	name := "maskedLanes4"
	if n == 8 {
		name = "maskedLanes8"
	}
	if mm, ok := lanesTables[name]; ok {
		return mm
	}
	mm := GLOBL(name, RODATA|NOPTR)
	for j := range n {
		DATA(8*j, U64(uint64(j)*dareGammaConst))
	}
	lanesTables[name] = mm
	return mm
}

var lanesTables = map[string]Mem{}

// The SplitMix64 finaliser's multipliers.
const (
	mixMul1 = 0xBF58476D1CE4E5B9
	mixMul2 = 0x94D049BB133111EB
)

// qconst is a 64-byte table of one 64-bit constant (a whole zmm).
func qconst(v uint64) Mem {
	name := "maskedq" + hex64(v)
	if mm, ok := lanesTables[name]; ok {
		return mm
	}
	mm := GLOBL(name, RODATA|NOPTR)
	for j := range 8 {
		DATA(8*j, U64(v))
	}
	lanesTables[name] = mm
	return mm
}

func hex64(v uint64) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 16)
	for i := range b {
		b[15-i] = digits[v>>(4*i)&15]
	}
	return string(b)
}

// splitMixMem is SplitMix64's finaliser of the four counters of z (AVX2),
// the multipliers' halves read from memory: z·c = lo(z)·lo(c) +
// (hi(z)·lo(c) + lo(z)·hi(c))<<32.
func splitMixMem(z reg.VecVirtual) reg.VecVirtual {
	mul := func(t reg.VecVirtual, c uint64) {
		lo, h := YMM(), YMM()
		VPMULUDQ(qconst(c&0xFFFFFFFF), t, lo)
		VPSRLQ(U8(32), t, h)
		VPMULUDQ(qconst(c&0xFFFFFFFF), h, h)
		VPMULUDQ(qconst(c>>32), t, t)
		VPADDQ(h, t, t)
		VPSLLQ(U8(32), t, t)
		VPADDQ(lo, t, t)
	}
	t, u := YMM(), YMM()
	VPSRLQ(U8(30), z, t)
	VPXOR(z, t, t)
	mul(t, mixMul1)
	VPSRLQ(U8(27), t, u)
	VPXOR(u, t, t)
	mul(t, mixMul2)
	VPSRLQ(U8(31), t, u)
	VPXOR(u, t, t)
	return t
}

// splitMix512 is SplitMix64's finaliser of the eight counters of z
// (AVX-512 DQ's VPMULLQ).
func splitMix512(z reg.VecVirtual) reg.VecVirtual {
	t, u := ZMM(), ZMM()
	VPSRLQ(U8(30), z, t)
	VPXORQ(z, t, t)
	VPMULLQ(qconst(mixMul1), t, t)
	VPSRLQ(U8(27), t, u)
	VPXORQ(u, t, t)
	VPMULLQ(qconst(mixMul2), t, t)
	VPSRLQ(U8(31), t, u)
	VPXORQ(u, t, t)
	return t
}

// countKeys emits countKeys<f><a>: the number of elements whose key is at
// least below (key > below−1, signed, as window compares) and the number
// equal to eq, over whole vectors of raw. The 16-bit formats count in
// 16-bit lanes on AVX2 (the Go side passes at most 2¹⁵−1 vectors a call),
// by popcount of the compare masks on AVX-512; float32 in 32-bit lanes.
func countKeys(a simd.ISA, f format) {
	fn := "countKeys" + f.name + a.Name
	TEXT(fn, NOSPLIT, "func(raw []byte, below uint32, eq uint32) (notBelow int, equal int)")
	o := vops{a}
	words := f != fmtF32
	src := Load(Param("raw").Base(), GP64())
	n := Load(Param("raw").Len(), GP64())
	lo, eq := a.Vec(), a.Vec()
	// Through a general register: vet's asmdecl takes a broadcast of a
	// stack slot for a read of the wrong size.
	bcast := func(name string, v reg.VecVirtual) {
		g := GP32()
		Load(Param(name), g)
		var from Op = g
		if !o.is512() {
			x := XMM()
			VMOVD(g, x)
			from = x
		}
		if words {
			VPBROADCASTW(from, v)
		} else {
			VPBROADCASTD(from, v)
		}
	}
	bcast("below", lo)
	bcast("eq", eq)
	abs := simd.Broadcast32(a, 0x7FFFFFFF)
	if words {
		abs = simd.Broadcast32(a, 0x7FFF7FFF)
	}
	label := func(s string) string { return fn + "_" + s }
	nb, ne := GP64(), GP64()
	XORQ(nb, nb)
	XORQ(ne, ne)
	var accB, accE reg.VecVirtual
	if o.is512() {
		// Unsigned compares: key ≥ below is what key > below−1 counts.
		Label(label("loop"))
		CMPQ(n, U32(a.Bytes))
		JB(LabelRef(label("done")))
		k := a.Vec()
		o.and(Mem{Base: src}, abs, k)
		kb, ke := K(), K()
		t := GP64()
		if words {
			VPCMPUW(U8(5), lo, k, kb)
			VPCMPEQW(eq, k, ke)
			KMOVD(kb, t.As32())
			POPCNTL(t.As32(), t.As32())
			ADDQ(t, nb)
			KMOVD(ke, t.As32())
			POPCNTL(t.As32(), t.As32())
			ADDQ(t, ne)
		} else {
			VPCMPUD(U8(5), lo, k, kb)
			VPCMPEQD(eq, k, ke)
			KMOVW(kb, t.As32())
			POPCNTL(t.As32(), t.As32())
			ADDQ(t, nb)
			KMOVW(ke, t.As32())
			POPCNTL(t.As32(), t.As32())
			ADDQ(t, ne)
		}
		ADDQ(U32(a.Bytes), src)
		SUBQ(U32(a.Bytes), n)
		JMP(LabelRef(label("loop")))
		Label(label("done"))
		Store(nb, ReturnIndex(0))
		Store(ne, ReturnIndex(1))
		simd.Done()
		return
	}
	ones := vecConst(0xFFFFFFFF)
	accB, accE = a.Vec(), a.Vec()
	VPXOR(accB, accB, accB)
	VPXOR(accE, accE, accE)
	if words {
		VPADDW(ones, lo, lo) // below − 1
	} else {
		VPADDD(ones, lo, lo)
	}
	Label(label("loop"))
	CMPQ(n, U32(a.Bytes))
	JB(LabelRef(label("done")))
	k, g, e := a.Vec(), a.Vec(), a.Vec()
	VPAND(Mem{Base: src}, abs, k)
	if words {
		VPCMPGTW(lo, k, g)
		VPCMPEQW(eq, k, e)
		VPSUBW(g, accB, accB) // − (−1)
		VPSUBW(e, accE, accE)
	} else {
		VPCMPGTD(lo, k, g)
		VPCMPEQD(eq, k, e)
		VPSUBD(g, accB, accB)
		VPSUBD(e, accE, accE)
	}
	ADDQ(U32(a.Bytes), src)
	SUBQ(U32(a.Bytes), n)
	JMP(LabelRef(label("loop")))
	Label(label("done"))
	for i, acc := range []reg.VecVirtual{accB, accE} {
		if words { // 16-bit lanes to 32-bit: pairs added by VPMADDWD, read unsigned
			lo16, hi16 := a.Vec(), a.Vec()
			mask := simd.Broadcast32(a, 0x0000FFFF)
			VPAND(mask, acc, lo16)
			VPSRLD(U8(16), acc, hi16)
			VPADDD(hi16, lo16, acc)
		}
		s, t := XMM(), XMM()
		VEXTRACTI128(U8(1), acc, s)
		VPADDD(s, acc.AsX(), s)
		VPSHUFD(U8(0x4E), s, t)
		VPADDD(t, s, s)
		VPSHUFD(U8(0xB1), s, t)
		VPADDD(t, s, s)
		r := GP32()
		VMOVD(s, r)
		Store(r.As64(), ReturnIndex(i))
	}
	simd.Done()
}
