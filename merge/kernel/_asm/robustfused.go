package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
	"github.com/potluck-hub/potluck/half/_asm/simd"
	"github.com/potluck-hub/potluck/merge/kernel/_asm/sortnet"
)

// The fused robust merges (robustfused.go in the kernel package): the
// median and trimmed mean of N ≤ robustFusedMax encoded inputs straight
// from their bytes, one vector of elements a step: each input widened
// (and its bits folded into a running maximum, for the finiteness check),
// the step sorted across the inputs by the robust generator's networks on
// the values' sortable keys (VPMINSD and VPMAXSD), the median or the
// trimmed sum taken as _asm/robust takes it, then λ·r + base narrowed and
// stored as the fused sums store theirs. One loop for each N, after a
// dispatch on len(xs). The result is false when some input or output is
// not finite.

// robustFusedMax is the most inputs the fused robust kernels take: with
// the running maxima and the temporaries, what AVX2's 16 registers hold.
const robustFusedMax = 8

func robustFused() {
	for _, a := range []simd.ISA{simd.AVX512, simd.AVX2} {
		for _, f := range []format{fmtBF16, fmtF16, fmtF32} {
			robustFusedFn(a, f, false)
			robustFusedFn(a, f, true)
		}
	}
}

// wires are a step's values (or sortable keys) across the inputs, in
// virtual registers.
type wires struct {
	g   *fusedGen
	v   []reg.VecVirtual
	key []bool
}

// flip turns wire i from value to key or back: v ⊕ ((v >>arith 31)
// >>logic 1), as _asm/robust's block.flip.
func (w *wires) flip(i int) {
	r, t := w.v[i], w.g.a.Vec()
	VPSRAD(U8(31), r, t)
	VPSRLD(U8(1), t, t)
	w.g.o.xor(t, r, r)
	w.key[i] = !w.key[i]
}

// exchange emits compare-exchange o on keys.
func (w *wires) exchange(o sortnet.Op) {
	for _, i := range []int{o.I, o.J} {
		if !w.key[i] {
			w.flip(i)
		}
	}
	x, y := w.v[o.I], w.v[o.J]
	switch o.Kind {
	case sortnet.Full:
		t := w.g.a.Vec()
		VPMINSD(y, x, t)
		VPMAXSD(y, x, y)
		w.v[o.I] = t
	case sortnet.MinOnly:
		VPMINSD(y, x, x)
	case sortnet.MaxOnly:
		VPMAXSD(y, x, y)
	}
}

// value returns wire i holding its float32 value.
func (w *wires) value(i int) reg.VecVirtual {
	if w.key[i] {
		w.flip(i)
	}
	return w.v[i]
}

func robustFusedFn(a simd.ISA, f format, trim bool) {
	fn := "medianEnc" + f.name + a.Name
	if trim {
		fn = "trimmedEnc" + f.name + a.Name
	}
	TEXT(fn, NOSPLIT, "func(dst []byte, base []byte, xs [][]byte, k int, lambda float32) bool")
	dst, base := Load(Param("dst").Base(), GP64()), Load(Param("base").Base(), GP64())
	n := Load(Param("dst").Len(), GP64()) // bytes left
	xs := Load(Param("xs").Base(), GP64())
	cnt := Load(Param("xs").Len(), GP64())
	k := Load(Param("k"), GP64())
	off := GP64()
	XORQ(off, off)
	// 0x7FFFFFFF takes the inputs' magnitudes into mxIn, the running
	// maximum of their float32 magnitude bits.
	g := newFusedGen(a, f, dst, off, 0x7FFFFFFF)
	mxIn := a.Vec()
	g.o.zero(mxIn)
	// λ and the scale (½ for the median of an even count, float32(N−2k)
	// for the trimmed mean): registers on AVX-512, 32-byte stack slots on
	// AVX2, whose 16 registers go to the wires.
	var lambda, scale Op
	keep := func(v reg.VecVirtual) Op {
		if g.o.is512() {
			return v
		}
		m := AllocLocal(a.Bytes)
		VMOVUPS(v, m)
		return m
	}
	lambda = keep(broadcastParam(a, "lambda"))
	sv := a.Vec()
	if trim {
		c := GP64()
		MOVQ(k, c)
		SHLQ(U8(1), c)
		NEGQ(c)
		ADDQ(cnt, c)
		x := XMM()
		VXORPS(x, x, x)
		VCVTSI2SSQ(c, x, x)
		VBROADCASTSS(x, sv)
	} else {
		VBROADCASTSS(halfConst(), sv)
	}
	scale = keep(sv)
	step := a.Lanes() * f.size
	label := func(s string, args ...any) string { return fn + "_" + fmt.Sprintf(s, args...) }
	for N := 1; N <= robustFusedMax; N++ {
		CMPQ(cnt, U32(N))
		JE(LabelRef(label("n%d", N)))
	}
	JMP(LabelRef(label("done")))

	for N := 1; N <= robustFusedMax; N++ {
		Label(label("n%d", N))
		CMPQ(n, U32(step))
		JB(LabelRef(label("done")))
		w := &wires{g: g, key: make([]bool, N)}
		p := GP64()
		for i := range N {
			MOVQ(Mem{Base: xs, Disp: 24 * i}, p) // xs[i]'s data pointer
			g.widen(p, 1, func(_ int, x reg.VecVirtual) {
				t := a.Vec()
				g.o.and(g.konst(0x7FFFFFFF), x, t)
				VPMAXUD(t, mxIn, mxIn)
				w.v = append(w.v, x)
			})
		}
		var r reg.VecVirtual
		if trim {
			for _, c := range sortnet.Network(N) {
				w.exchange(sortnet.Op{I: c[0], J: c[1], Kind: sortnet.Full})
			}
			s := a.Vec()
			g.o.zero(s)
			kmax := (N - 1) / 2
			for pos := range N {
				m := min(pos, N-1-pos) // pos survives when k ≤ m
				if m < kmax {
					CMPQ(k, U32(m))
					JA(LabelRef(label("n%d_skip%d", N, pos)))
				}
				VADDPS(w.value(pos), s, s)
				if m < kmax {
					Label(label("n%d_skip%d", N, pos))
				}
			}
			VDIVPS(scale, s, s) // s / float32(N−2k)
			r = s
		} else {
			for _, o := range sortnet.MedianOps(N) {
				w.exchange(o)
			}
			r = w.value(N / 2)
			if N%2 == 0 {
				lo := w.value(N/2 - 1)
				VADDPS(r, lo, lo)
				VMULPS(scale, lo, lo) // ·½
				r = lo
			}
		}
		VMULPS(lambda, r, r)
		g.widen(base, 1, func(_ int, b reg.VecVirtual) {
			VADDPS(b, r, r) // + base
		})
		g.store([]reg.VecVirtual{r})
		ADDQ(U32(step), off)
		SUBQ(U32(step), n)
		JMP(LabelRef(label("n%d", N)))
	}
	Label(label("done"))
	ok := g.allBelow(g.mx, outInf(f), f != fmtF32, f == fmtF16)
	in := g.allBelow(mxIn, 0x7F800000, false, false)
	ANDB(in, ok)
	Store(ok, ReturnIndex(0))
	simd.Done()
}

// halfConst is a float32 ½, for broadcasting.
func halfConst() Mem {
	const name = "robustEncHalf"
	if m, ok := lanesTables[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	DATA(0, U32(math.Float32bits(0.5)))
	lanesTables[name] = m
	return m
}
