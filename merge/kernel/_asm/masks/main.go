// Command masks generates the amd64 assembly of the kernel package's
// masking and lane-reduction kernels (mask.go) with avo:
//
//	go run ./masks -pkg kernel -out ../mask_amd64.s
//
// (run from _asm by go generate in the kernel package). It is separate from
// the main generator so that the two .s files can be regenerated
// independently; it keeps its own small helpers because a main package
// cannot import another. Every function takes slices whose length is a
// whole number of vectors (the Go side runs the rest through the generic
// loop) and must give exactly the bits of its generic twin.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	for _, a := range []isa{avx512, avx2} {
		dareMask(a)
		dareMask2(a)
		maskBetween(a)
		countKey(a)
	}
	// The lane sums are latency-bound (see laneSums): two ymm chains are as
	// fast as one zmm chain, faster on AMD's Zen 4, so both levels run
	// the AVX2 code.
	firstInBins()
	dare2L1("BF16")
	dare2L1("F32")
	sumAbsLanes()
	dotLanes()
	for g := 1; g <= dotPairsMax; g++ {
		dotPairs(g)
	}
	for _, f := range []string{"F32", "BF16"} {
		for k := 1; k <= gramMax; k++ {
			gram(k, f)
		}
	}
	Generate()
}

// isa is one instruction set's vector shape.
type isa struct {
	name  string // suffix of the function names: AVX512, AVX2
	bytes int    // bytes per vector register
	vec   func() reg.VecVirtual
}

var (
	avx512 = isa{"AVX512", 64, ZMM}
	avx2   = isa{"AVX2", 32, YMM}
)

func (a isa) is512() bool { return a.bytes == 64 }

// lanes32 is the number of 32-bit lanes of one vector.
func (a isa) lanes32() int { return a.bytes / 4 }

// stream is a pointer walking one slice of 4-byte elements.
type stream struct{ p reg.Register }

// at is the memory operand disp bytes into vector j (of lanes elements)
// of the block.
func (s stream) at(j, lanes, disp int) Mem { return Mem{Base: s.p, Disp: j*lanes*4 + disp} }

// param loads the base of float32 slice parameter name.
func param(name string) stream { return stream{Load(Param(name).Base(), GP64())} }

// blocks emits the loop over n elements (a multiple of lanes): unroll
// vectors of lanes elements an iteration, then one at a time. body(j)
// emits the work on vector j of the block; the streams then advance.
func blocks(fn string, n reg.Register, lanes, unroll int, ss []stream, body func(j int)) {
	loop := func(label, next string, u int) {
		Label(fn + "_" + label)
		CMPQ(n, U32(u*lanes))
		JB(LabelRef(fn + "_" + next))
		for j := range u {
			body(j)
		}
		for _, s := range ss {
			ADDQ(U32(u*lanes*4), s.p)
		}
		SUBQ(U32(u*lanes), n)
		JMP(LabelRef(fn + "_" + label))
	}
	if unroll > 1 {
		loop("wide", "one", unroll)
	}
	loop("one", "done", 1)
	Label(fn + "_done")
}

// tables holds the constant tables emitted so far, by name.
var tables = map[string]Mem{}

// table64 is a read-only table of 64-bit constants.
func table64(name string, vs ...uint64) Mem {
	if m, ok := tables[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	for i, v := range vs {
		DATA(8*i, U64(v))
	}
	tables[name] = m
	return m
}

// const64 is a single 64-bit constant, for broadcasting.
func const64(v uint64) Mem { return table64(fmt.Sprintf("maskq%016x", v), v) }

// const32 is a single 32-bit constant, for broadcasting.
func const32(v uint32) Mem {
	name := fmt.Sprintf("maskd%08x", v)
	if m, ok := tables[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	DATA(0, U32(v))
	tables[name] = m
	return m
}

// broadcast64 puts a 64-bit constant in every lane of a new vector.
func broadcast64(a isa, v uint64) reg.VecVirtual {
	r := a.vec()
	VPBROADCASTQ(const64(v), r)
	return r
}

// broadcast32 puts a 32-bit constant in every lane of a new vector.
func broadcast32(a isa, v uint32) reg.VecVirtual {
	r := a.vec()
	VPBROADCASTD(const32(v), r)
	return r
}

// broadcastParam32 puts the 32-bit parameter name in every lane of a new
// vector (through a general register: vet's asmdecl takes VPBROADCASTD
// of a stack slot for an 8-byte read).
func broadcastParam32(a isa, name string) reg.VecVirtual {
	g, r := GP32(), a.vec()
	Load(Param(name), g)
	if a.is512() {
		VPBROADCASTD(g, r)
	} else {
		x := XMM()
		VMOVD(g, x)
		VPBROADCASTD(x, r)
	}
	return r
}

// addr is the stack address of a scalar parameter.
func addr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// done ends a function that used vector registers.
func done() {
	VZEROUPPER()
	RET()
}

// SplitMix64's constants: the increment γ and the finaliser's multipliers.
const (
	gamma = 0x9E3779B97F4A7C15
	mul1  = 0xBF58476D1CE4E5B9
	mul2  = 0x94D049BB133111EB
)

// dareMask zeroes x[i] when mix(z + i·γ)>>11 ≥ keep, for keep < 2⁵³ (the
// Go side does nothing when keep ≥ 2⁵³: every draw is below it). The
// counters are kept in 64-bit lanes, one per element, and advance by 8γ a
// vector of 8 elements (wrapping, as uint64 arithmetic does).
//
// AVX-512 (DQ for VPMULLQ): one zmm of 8 counters. It takes lim =
// keep·2¹¹ and compares the finalised z itself, unsigned (z>>11 < keep
// exactly when z < keep·2¹¹), which saves the shift; a store of zeros
// under the mask of the dropped elements (x is not read, the kept
// elements not written) measured a little faster than a zero-masked load
// and a store.
//
// AVX2 has no 64-bit multiply: z·c = lo(z)·lo(c) + (hi(z)·lo(c) +
// lo(z)·hi(c))<<32 from three VPMULUDQs. Two ymm of 4 counters hold
// elements {0,1,4,5} and {2,3,6,7} of 8, so that VSHUFPS $0x88 of their
// compare masks (the low dword of each qword, per 128-bit half) is the
// mask of elements 0…7 in order, ANDed with x. u = z>>11 and keep are
// below 2⁶³, so a signed VPCMPGTQ serves.
func dareMask(a isa) {
	fn := "dareMask" + a.name
	const lanes = 8 // elements (and 64-bit counters) a vector of x
	if a.is512() {
		TEXT(fn, NOSPLIT, "func(x []float32, z uint64, lim uint64)")
	} else {
		TEXT(fn, NOSPLIT, "func(x []float32, z uint64, keep uint64)")
	}
	x := param("x")
	n := Load(Param("x").Len(), GP64())
	step := broadcast64(a, lanesTimes(lanes)[0])
	if a.is512() {
		z, lim := ZMM(), ZMM()
		VPBROADCASTQ(addr("z"), z)
		VPADDQ(table64("maskDareLanes8", lanesTimes(0, 1, 2, 3, 4, 5, 6, 7)...), z, z)
		VPBROADCASTQ(addr("lim"), lim)
		m1, m2 := broadcast64(a, mul1), broadcast64(a, mul2)
		zero := YMM()
		VPXOR(zero, zero, zero)
		blocks(fn, n, lanes, 4, []stream{x}, func(j int) {
			t, u := ZMM(), ZMM()
			VPSRLQ(U8(30), z, t)
			VPXORQ(z, t, t)
			VPMULLQ(m1, t, t)
			VPSRLQ(U8(27), t, u)
			VPXORQ(u, t, t)
			VPMULLQ(m2, t, t)
			VPSRLQ(U8(31), t, u)
			VPXORQ(u, t, t)
			k := K()
			VPCMPUQ(U8(5), lim, t, k) // z >= keep·2¹¹: dropped
			VMOVDQU32(zero, k, x.at(j, lanes, 0))
			VPADDQ(step, z, z)
		})
		done()
		return
	}
	za, zb, keep := YMM(), YMM(), YMM()
	VPBROADCASTQ(addr("z"), za)
	VMOVDQA(za, zb)
	VPADDQ(table64("maskDareLanesA", lanesTimes(0, 1, 4, 5)...), za, za)
	VPADDQ(table64("maskDareLanesB", lanesTimes(2, 3, 6, 7)...), zb, zb)
	VPBROADCASTQ(addr("keep"), keep)
	m1lo, m1hi := const64(mul1), const64(mul1>>32)
	m2lo, m2hi := const64(mul2), const64(mul2>>32)
	c1, c1h, c2, c2h := a.vec(), a.vec(), a.vec(), a.vec()
	VPBROADCASTQ(m1lo, c1)
	VPBROADCASTQ(m1hi, c1h)
	VPBROADCASTQ(m2lo, c2)
	VPBROADCASTQ(m2hi, c2h)
	// mul sets t = t·c (mod 2⁶⁴); c holds lo(c) (VPMULUDQ reads the low
	// dword of each qword), ch holds hi(c).
	mul := func(t, c, ch reg.VecVirtual) {
		lo, h := YMM(), YMM()
		VPMULUDQ(c, t, lo)
		VPSRLQ(U8(32), t, h)
		VPMULUDQ(c, h, h)
		VPMULUDQ(ch, t, t)
		VPADDQ(h, t, t)
		VPSLLQ(U8(32), t, t)
		VPADDQ(lo, t, t)
	}
	// kept returns the mask (all ones in a qword) of the counters of z
	// whose draw is below keep.
	kept := func(z reg.VecVirtual) reg.VecVirtual {
		t, u := YMM(), YMM()
		VPSRLQ(U8(30), z, t)
		VPXOR(z, t, t)
		mul(t, c1, c1h)
		VPSRLQ(U8(27), t, u)
		VPXOR(u, t, t)
		mul(t, c2, c2h)
		VPSRLQ(U8(31), t, u)
		VPXOR(u, t, t)
		VPSRLQ(U8(11), t, t)
		VPCMPGTQ(t, keep, t) // keep > u
		return t
	}
	blocks(fn, n, lanes, 2, []stream{x}, func(j int) {
		ma := kept(za)
		mb := kept(zb)
		VSHUFPS(U8(0x88), mb, ma, ma)
		VPAND(x.at(j, lanes, 0), ma, ma)
		VMOVDQU(ma, x.at(j, lanes, 0))
		VPADDQ(step, za, za)
		VPADDQ(step, zb, zb)
	})
	done()
}

// dareMask2 zeroes x[j] when the 16-bit field j mod 4 of mix(z + (j/4)·γ)
// is ≥ keep, for keep < 2¹⁶ (the Go side does nothing when keep ≥ 2¹⁶) and
// len(x) a multiple of 4 draws a vector: the Go side starts x at a
// multiple of 4 elements of the tensor, so that z is a draw's counter.
//
// A vector of counters holds consecutive draws, so the 16-bit words of the
// finalised vector are the uniforms of consecutive elements, in order
// (little-endian: word 4k+f is field f of draw k). One unsigned word
// compare gives the drop mask of 16 (AVX2) or 32 (AVX-512) elements.
//
// AVX-512: the 32-bit compare mask drops through masked stores of zeros,
// its low and high 16 bits one vector each. AVX2: u ≥ keep is
// max(u, keep) = u; the word mask is widened to dwords (VPMOVSXWD) for
// each half and cleared from x with VPANDN. The 64-bit multiplies are
// dareMask's three VPMULUDQs.
func dareMask2(a isa) {
	fn := "dareMask2" + a.name
	TEXT(fn, NOSPLIT, "func(x []float32, z uint64, keep uint32)")
	x := param("x")
	n := Load(Param("x").Len(), GP64())
	g := GP32()
	Load(Param("keep"), g)
	keep := a.vec()
	if a.is512() {
		draws := 8 // a zmm of counters: 32 elements
		z, m1, m2 := ZMM(), broadcast64(a, mul1), broadcast64(a, mul2)
		VPBROADCASTQ(addr("z"), z)
		VPADDQ(table64("maskDare2Lanes8", lanesTimes(0, 1, 2, 3, 4, 5, 6, 7)...), z, z)
		step := broadcast64(a, lanesTimes(uint64(draws))[0])
		VPBROADCASTW(g, keep)
		zero := ZMM()
		VPXORD(zero, zero, zero)
		blocks(fn, n, 4*draws, 1, []stream{x}, func(int) {
			t, u := ZMM(), ZMM()
			VPSRLQ(U8(30), z, t)
			VPXORQ(z, t, t)
			VPMULLQ(m1, t, t)
			VPSRLQ(U8(27), t, u)
			VPXORQ(u, t, t)
			VPMULLQ(m2, t, t)
			VPSRLQ(U8(31), t, u)
			VPXORQ(u, t, t)
			k, kh := K(), K()
			VPCMPUW(U8(5), keep, t, k) // u ≥ keep: dropped
			KSHIFTRD(U8(16), k, kh)
			VMOVDQU32(zero, k, x.at(0, 16, 0))
			VMOVDQU32(zero, kh, x.at(1, 16, 0))
			VPADDQ(step, z, z)
		})
		done()
		return
	}
	const draws = 4 // a ymm of counters: 16 elements
	xk := XMM()
	VMOVD(g, xk)
	VPBROADCASTW(xk, keep)
	z := YMM()
	VPBROADCASTQ(addr("z"), z)
	VPADDQ(table64("maskDare2Lanes4", lanesTimes(0, 1, 2, 3)...), z, z)
	step := broadcast64(a, lanesTimes(draws)[0])
	c1, c1h, c2, c2h := a.vec(), a.vec(), a.vec(), a.vec()
	VPBROADCASTQ(const64(mul1), c1)
	VPBROADCASTQ(const64(mul1>>32), c1h)
	VPBROADCASTQ(const64(mul2), c2)
	VPBROADCASTQ(const64(mul2>>32), c2h)
	blocks(fn, n, 4*draws, 1, []stream{x}, func(int) {
		t := splitMixAVX2(z, c1, c1h, c2, c2h)
		m := YMM()
		VPMAXUW(keep, t, m)
		VPCMPEQW(t, m, m) // u ≥ keep: dropped
		lo, hi := YMM(), YMM()
		VPMOVSXWD(m.AsX(), lo)
		VEXTRACTI128(U8(1), m, hi.AsX())
		VPMOVSXWD(hi.AsX(), hi)
		VPANDN(x.at(0, 8, 0), lo, lo) // x &^ drop
		VPANDN(x.at(1, 8, 0), hi, hi)
		VMOVDQU(lo, x.at(0, 8, 0))
		VMOVDQU(hi, x.at(1, 8, 0))
		VPADDQ(step, z, z)
	})
	done()
}

// splitMixAVX2 returns SplitMix64's finaliser of the four counters of z,
// each 64-bit multiply done as dareMask's AVX2 code does it: c holds the
// multiplier's low dword in each qword, ch its high dword.
func splitMixAVX2(z reg.VecVirtual, c1, c1h, c2, c2h Op) reg.VecVirtual {
	mul := func(t reg.VecVirtual, c, ch Op) {
		lo, h := YMM(), YMM()
		VPMULUDQ(c, t, lo)
		VPSRLQ(U8(32), t, h)
		VPMULUDQ(c, h, h)
		VPMULUDQ(ch, t, t)
		VPADDQ(h, t, t)
		VPSLLQ(U8(32), t, t)
		VPADDQ(lo, t, t)
	}
	t, u := YMM(), YMM()
	VPSRLQ(U8(30), z, t)
	VPXOR(z, t, t)
	mul(t, c1, c1h)
	VPSRLQ(U8(27), t, u)
	VPXOR(u, t, t)
	mul(t, c2, c2h)
	VPSRLQ(U8(31), t, u)
	VPXOR(u, t, t)
	return t
}

// lanesTimes is j·γ (mod 2⁶⁴) for each j.
func lanesTimes(js ...uint64) []uint64 {
	vs := make([]uint64, len(js))
	for i, j := range js {
		vs[i] = j * gamma
	}
	return vs
}

// maskBetween keeps the elements whose magnitude key k = bits & 0x7FFFFFFF
// has int32(k+add) < lim (add wrapping) and clears the others' bits. With
// add = 2³¹ − lo and lim = (hi − lo) ⊕ 2³¹ (the Go side's bounds clamped
// to [0, 2³¹], hi ≥ lo) that is the unsigned k − lo < hi − lo, which is
// lo ≤ k < hi: one compare.
func maskBetween(a isa) {
	fn := "maskBetween" + a.name
	TEXT(fn, NOSPLIT, "func(x []float32, add uint32, lim uint32)")
	x := param("x")
	n := Load(Param("x").Len(), GP64())
	add, lim := broadcastParam32(a, "add"), broadcastParam32(a, "lim")
	abs := broadcast32(a, 0x7FFFFFFF)
	l := a.lanes32()
	blocks(fn, n, l, 4, []stream{x}, func(j int) {
		v, t := a.vec(), a.vec()
		movdqu(a, x.at(j, l, 0), v)
		if a.is512() {
			VPANDD(abs, v, t)
			VPADDD(add, t, t)
			keep := K()
			VPCMPGTD(t, lim, keep) // lim > t
			VMOVDQU32_Z(v, keep, v)
		} else {
			VPAND(abs, v, t)
			VPADDD(add, t, t)
			VPCMPGTD(t, lim, t) // lim > t
			VPAND(t, v, v)
		}
		movdqu(a, v, x.at(j, l, 0))
	})
	done()
}

// movdqu is an unaligned move: VMOVDQU32 (AVX-512) or VMOVDQU.
func movdqu(a isa, src, dst Op) {
	if a.is512() {
		VMOVDQU32(src, dst)
	} else {
		VMOVDQU(src, dst)
	}
}

// countKey counts the elements whose magnitude key equals key, in 32-bit
// lane counters (the Go side passes fewer than 2³¹ elements a call), then
// adds the lanes.
func countKey(a isa) {
	fn := "countKey" + a.name
	TEXT(fn, NOSPLIT, "func(x []float32, key uint32) int")
	x := param("x")
	n := Load(Param("x").Len(), GP64())
	key := broadcastParam32(a, "key")
	abs := broadcast32(a, 0x7FFFFFFF)
	l := a.lanes32()
	const unroll = 4
	acc := make([]reg.VecVirtual, unroll)
	for j := range acc {
		acc[j] = a.vec()
		if a.is512() {
			VPXORD(acc[j], acc[j], acc[j])
		} else {
			VPXOR(acc[j], acc[j], acc[j])
		}
	}
	var one reg.VecVirtual
	if a.is512() {
		one = broadcast32(a, 1)
	}
	blocks(fn, n, l, unroll, []stream{x}, func(j int) {
		k := a.vec()
		if a.is512() {
			VPANDD(x.at(j, l, 0), abs, k)
			eq := K()
			VPCMPEQD(key, k, eq)
			VPADDD(one, acc[j], eq, acc[j])
		} else {
			VPAND(x.at(j, l, 0), abs, k)
			VPCMPEQD(key, k, k)
			VPSUBD(k, acc[j], acc[j]) // −(−1)
		}
	})
	if a.is512() {
		for j := 1; j < unroll; j++ {
			VPADDD(acc[j], acc[0], acc[0])
		}
		h := YMM()
		VEXTRACTI64X4(U8(1), acc[0], h)
		VPADDD(h, acc[0].AsY(), h)
		acc[0] = h
	} else {
		for j := 1; j < unroll; j++ {
			VPADDD(acc[j], acc[0], acc[0])
		}
	}
	s, t := XMM(), XMM()
	VEXTRACTI128(U8(1), acc[0], s)
	VPADDD(s, acc[0].AsX(), s)
	VPSHUFD(U8(0x4E), s, t)
	VPADDD(t, s, s)
	VPSHUFD(U8(0xB1), s, t)
	VPADDD(t, s, s)
	r := GP32()
	VMOVD(s, r)
	Store(r.As64(), ReturnIndex(0))
	done()
}

// sumAbsLanes adds |float64(x[i])| to acc[i&7], each lane in element
// order: the 8 float64 lanes are two ymm, to which the widened halves of a
// vector of 8 elements are added, acc the first operand as in the Go
// code's acc[j] += v.
func sumAbsLanes() {
	const fn = "sumAbsLanesAVX2"
	TEXT(fn, NOSPLIT, "func(acc *[8]float64, x []float32)")
	p := Load(Param("acc"), GP64())
	x := param("x")
	n := Load(Param("x").Len(), GP64())
	abs := broadcast64(avx2, 0x7FFFFFFFFFFFFFFF)
	laneSums(fn, p, n, []stream{x}, func(j, half int, t reg.VecVirtual) {
		VCVTPS2PD(x.at(j, 8, 16*half), t)
		VANDPD(abs, t, t)
	})
	done()
}

// dotLanes adds float64(a[i])·float64(b[i]) to acc[i&7]: a multiply (exact:
// 24-bit by 24-bit mantissas) then an add, as sumAbsLanes.
func dotLanes() {
	const fn = "dotLanesAVX2"
	TEXT(fn, NOSPLIT, "func(acc *[8]float64, a []float32, b []float32)")
	p := Load(Param("acc"), GP64())
	xa, xb := param("a"), param("b")
	n := Load(Param("a").Len(), GP64())
	laneSums(fn, p, n, []stream{xa, xb}, func(j, half int, t reg.VecVirtual) {
		u := YMM()
		VCVTPS2PD(xa.at(j, 8, 16*half), t)
		VCVTPS2PD(xb.at(j, 8, 16*half), u)
		VMULPD(u, t, t)
	})
	done()
}

// laneSums emits the 8-lane float64 accumulation loop of sumAbsLanes and
// dotLanes: acc loaded from p into two ymm (lanes 0–3 and 4–7), a block of
// 8 elements at a time, term computing the widened terms of half h (its
// elements 4h…4h+3) of vector j into t, acc stored back at the end.
//
// The additions of a lane form one dependency chain, so the loop runs at
// one vector of 8 elements per add latency, whatever the width: unrolling
// only saves loop overhead, and a single zmm chain is no faster than two
// ymm chains (on Zen 4 it measured 10–25% slower: 512-bit adds are
// double-pumped), so the avx512 level runs this code too.
func laneSums(fn string, p, n reg.Register, ss []stream, term func(j, half int, t reg.VecVirtual)) {
	acc := []reg.VecVirtual{YMM(), YMM()}
	for h := range acc {
		VMOVUPD(Mem{Base: p, Disp: 32 * h}, acc[h])
	}
	blocks(fn, n, 8, 4, ss, func(j int) {
		for h := range acc {
			t := YMM()
			term(j, h, t)
			VADDPD(t, acc[h], acc[h]) // acc + t
		}
	})
	for h := range acc {
		VMOVUPD(acc[h], Mem{Base: p, Disp: 32 * h})
	}
}

// dotPairsMax is the most pairs one dotPairs kernel takes: their 2·g
// accumulators and four temporaries fit AVX2's 16 registers.
const dotPairsMax = 4

// dotPairs emits dotPairs<g>AVX2: for g pairs of float32 streams at once,
// acc[8p + i&7] += float64(a_p[i])·float64(b_p[i]), each lane in element
// order, as dotLanes (g of them, their chains interleaved, so that no add
// waits on its lane's last). The product of two float32s is exact in
// float64, so VFMADD231PD gives the bits of a multiply and an add.
func dotPairs(g int) {
	fn := fmt.Sprintf("dotPairs%dAVX2", g)
	TEXT(fn, NOSPLIT, "func(acc *float64, ptrs **float32, n int)")
	p := Load(Param("acc"), GP64())
	ptrs := Load(Param("ptrs"), GP64())
	n := Load(Param("n"), GP64())
	var ss []stream
	for k := range 2 * g {
		r := GP64()
		MOVQ(Mem{Base: ptrs, Disp: 8 * k}, r)
		ss = append(ss, stream{r})
	}
	acc := make([]reg.VecVirtual, 2*g)
	for k := range acc {
		acc[k] = YMM()
		VMOVUPD(Mem{Base: p, Disp: 32 * k}, acc[k])
	}
	blocks(fn, n, 8, 1, ss, func(int) {
		for q := range g {
			for h := range 2 {
				x, y := YMM(), YMM()
				VCVTPS2PD(ss[2*q].at(0, 8, 16*h), x)
				VCVTPS2PD(ss[2*q+1].at(0, 8, 16*h), y)
				VFMADD231PD(y, x, acc[2*q+h]) // acc + x·y
			}
		}
	})
	for k := range acc {
		VMOVUPD(acc[k], Mem{Base: p, Disp: 32 * k})
	}
	done()
}

// gramMax is the most inputs one gram kernel takes: the 10 accumulators
// of their pairs' half lanes and the 4 widened inputs fit AVX2's 16
// registers.
const gramMax = 4

// gram emits gram<k><f>AVX2: for every pair i ≤ j of k streams (float32 or
// bfloat16), in the order (0,0), (0,1), …, (0,k−1), (1,1), …, acc[8p +
// e&7] += float64(x_i[e])·float64(x_j[e]), each lane in element order, as
// dotPairs over the pairs would, but each element widened once for all its
// pairs, not once per pair it is in.
//
// The k(k+1)/2 pairs need twice as many ymm accumulators (lanes 0–3 and
// 4–7): when they and the k inputs do not fit 16 registers (k = 4), the
// loop goes over the elements twice, lanes 0–3 of every block of 8 and
// then lanes 4–7; the Go side hands it blocks short enough to stay in L1
// between the two. A lane's chain gets one add a block either way, so the
// loop is bound by the FMA ports, not by their latency, from k = 3.
// VFMADD231PD gives the bits of a multiply and an add: the product of two
// float32s is exact in float64.
func gram(k int, f string) {
	fn := fmt.Sprintf("gram%d%sAVX2", k, f)
	TEXT(fn, NOSPLIT, "func(acc *float64, ptrs **byte, n int)")
	p := Load(Param("acc"), GP64())
	ptrs := Load(Param("ptrs"), GP64())
	n := Load(Param("n"), GP64())
	size := 4
	if f == "BF16" {
		size = 2
	}
	src := make([]reg.GPVirtual, k)
	for i := range src {
		src[i] = GP64()
		MOVQ(Mem{Base: ptrs, Disp: 8 * i}, src[i])
	}
	var pairs [][2]int
	for i := range k {
		for j := i; j < k; j++ {
			pairs = append(pairs, [2]int{i, j})
		}
	}
	end := GP64()
	MOVQ(n, end)
	SHLQ(U8(map[int]uint8{2: 1, 4: 2}[size]), end) // bytes
	var zero reg.VecVirtual
	free := 16 - k // the registers left for accumulators
	if size == 2 {
		zero = YMM()
		VPXOR(zero, zero, zero)
		free--
	}
	halves := [][]int{{0, 1}}
	if 2*len(pairs) > free {
		halves = [][]int{{0}, {1}}
	}
	off := GP64()
	for pass, hs := range halves {
		acc := make([][]reg.VecVirtual, len(hs))
		for a, h := range hs {
			acc[a] = make([]reg.VecVirtual, len(pairs))
			for q := range pairs {
				acc[a][q] = YMM()
				VMOVUPD(Mem{Base: p, Disp: 64*q + 32*h}, acc[a][q])
			}
		}
		loop, next := fmt.Sprintf("%s_loop%d", fn, pass), fmt.Sprintf("%s_next%d", fn, pass)
		XORQ(off, off)
		TESTQ(end, end)
		JZ(LabelRef(next))
		Label(loop)
		for a, h := range hs {
			x := make([]reg.VecVirtual, k)
			for i := range x {
				x[i] = YMM()
				if size == 4 {
					VCVTPS2PD(Mem{Base: src[i], Index: off, Scale: 1, Disp: 16 * h}, x[i])
					continue
				}
				// bfloat16 is float32's high half: interleaved with zero
				// words below it, the block's 16 bytes give elements 0–3
				// (low words) or 4–7 (high) as float32.
				at := Mem{Base: src[i], Index: off, Scale: 1}
				if h == 0 {
					VPUNPCKLWD(at, zero.AsX(), x[i].AsX())
				} else {
					VPUNPCKHWD(at, zero.AsX(), x[i].AsX())
				}
				VCVTPS2PD(x[i].AsX(), x[i])
			}
			for q, ij := range pairs {
				VFMADD231PD(x[ij[1]], x[ij[0]], acc[a][q]) // acc + x_i·x_j
			}
		}
		ADDQ(U32(8*size), off)
		CMPQ(off, end)
		JB(LabelRef(loop))
		Label(next)
		for a, h := range hs {
			for q := range pairs {
				VMOVUPD(acc[a][q], Mem{Base: p, Disp: 64*q + 32*h})
			}
		}
	}
	done()
}

// firstInBins emits firstInBinsAVX2: the byte offset of the first block of
// four vectors of raw (little-endian float32s, a whole number of blocks)
// holding an element whose magnitude key's high 16 bits are b0 or b1, or
// len(raw) when none does. A magnitude cut's low histogram counts the few
// elements of its bin: the blocks without one are skipped at the speed of
// their load. One ymm level serves AVX-512 too (the loop is bound by loads).
func firstInBins() {
	const fn, unroll = "firstInBinsAVX2", 4
	TEXT(fn, NOSPLIT, "func(raw []byte, b0 uint32, b1 uint32) int")
	src := Load(Param("raw").Base(), GP64())
	n := Load(Param("raw").Len(), GP64())
	v0, v1 := broadcastParam32(avx2, "b0"), broadcastParam32(avx2, "b1")
	abs := broadcast32(avx2, 0x7FFFFFFF)
	off := GP64()
	XORQ(off, off)
	Label(fn + "_loop")
	CMPQ(off, n)
	JAE(LabelRef(fn + "_done"))
	hit := YMM()
	for j := range unroll {
		k, e := YMM(), YMM()
		VPAND(Mem{Base: src, Index: off, Scale: 1, Disp: 32 * j}, abs, k)
		VPSRLD(U8(16), k, k)
		VPCMPEQD(v1, k, e)
		VPCMPEQD(v0, k, k)
		if j == 0 {
			VPOR(e, k, hit)
		} else {
			VPOR(e, hit, hit)
			VPOR(k, hit, hit)
		}
	}
	VPTEST(hit, hit)
	JNZ(LabelRef(fn + "_done"))
	ADDQ(U32(32*unroll), off)
	JMP(LabelRef(fn + "_loop"))
	Label(fn + "_done")
	Store(off, ReturnIndex(0))
	done()
}

// dare2L1 emits dare2L1<f>AVX2: over raw (bfloat16 or float32, 16
// elements a block, the first element's index a multiple of 8), each
// element's |x| is added, in float64, to lane i mod 8 of acc[0:8] and, when
// DAREMask2's draw keeps it (u < keep, the draws of z on as dareMask2's),
// to lane i mod 8 of acc[8:16]: a DARE input's L1 norms before and after
// its mask in one pass over its encoded bytes. The lanes add in element
// order (elements j and j+8 of a block, in that order), as SumAbsLanes
// does. It returns false when it met a value that is not finite.
func dare2L1(f string) {
	fn := "dare2L1" + f + "AVX2"
	TEXT(fn, NOSPLIT, "func(raw []byte, z uint64, keep uint32, acc *[16]float64) bool")
	src := Load(Param("raw").Base(), GP64())
	n := Load(Param("raw").Len(), GP64())
	accp := Load(Param("acc"), GP64())
	g := GP32()
	Load(Param("keep"), g)
	keep, xk := YMM(), XMM()
	VMOVD(g, xk)
	VPBROADCASTW(xk, keep)
	z := YMM()
	VPBROADCASTQ(addr("z"), z)
	VPADDQ(table64("maskDare2Lanes4", lanesTimes(0, 1, 2, 3)...), z, z)
	// Constants stay in memory, whole vectors: the loop needs the registers.
	vec := func(name string, v uint64) Mem { return table64(name, v, v, v, v) }
	step := vec("maskDare2Step4", lanesTimes(4)[0])
	c1, c1h := vec("maskMul1x4", mul1), vec("maskMul1Hx4", mul1>>32)
	c2, c2h := vec("maskMul2x4", mul2), vec("maskMul2Hx4", mul2>>32)
	acc := make([]reg.VecVirtual, 4) // before lo, before hi, after lo, after hi
	for j := range acc {
		acc[j] = YMM()
		VMOVUPD(Mem{Base: accp, Disp: 32 * j}, acc[j])
	}
	abs, finite := vec("maskAbs32x8", 0x7FFFFFFF7FFFFFFF), vec("maskFinite32x8", 0x7F7FFFFF7F7FFFFF)
	bad := YMM()
	VPXOR(bad, bad, bad)
	block := 32 // bytes of 16 elements
	if f == "F32" {
		block = 64
	}
	Label(fn + "_loop")
	CMPQ(n, U32(block))
	JB(LabelRef(fn + "_done"))
	d := splitMixAVX2(z, c1, c1h, c2, c2h)
	m := YMM()
	VPMAXUW(keep, d, m)
	VPCMPEQW(d, m, m) // u ≥ keep: dropped
	drop := []reg.VecVirtual{YMM(), YMM()}
	VPMOVSXWD(m.AsX(), drop[0])
	VEXTRACTI128(U8(1), m, drop[1].AsX())
	VPMOVSXWD(drop[1].AsX(), drop[1])
	add := func(v reg.VecVirtual, lo, hi reg.VecVirtual) {
		p, t := YMM(), XMM()
		VCVTPS2PD(v.AsX(), p)
		VADDPD(p, lo, lo)
		VEXTRACTF128(U8(1), v, t)
		VCVTPS2PD(t, p)
		VADDPD(p, hi, hi)
	}
	for h := range 2 {
		x := YMM()
		if f == "F32" {
			VMOVDQU(Mem{Base: src, Disp: 32 * h}, x)
		} else {
			VPMOVZXWD(Mem{Base: src, Disp: 16 * h}, x)
			VPSLLD(U8(16), x, x)
		}
		VPAND(abs, x, x)
		t := YMM()
		VPCMPGTD(finite, x, t)
		VPOR(t, bad, bad)
		add(x, acc[0], acc[1])
		VPANDN(x, drop[h], x) // x &^ drop
		add(x, acc[2], acc[3])
	}
	VPADDQ(step, z, z)
	ADDQ(U32(block), src)
	SUBQ(U32(block), n)
	JMP(LabelRef(fn + "_loop"))
	Label(fn + "_done")
	for j := range acc {
		VMOVUPD(acc[j], Mem{Base: accp, Disp: 32 * j})
	}
	ok := GP8()
	VPTEST(bad, bad)
	SETEQ(ok)
	Store(ok, ReturnIndex(0))
	done()
}
