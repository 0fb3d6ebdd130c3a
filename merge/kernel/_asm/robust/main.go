// Command robust generates the amd64 assembly of the kernel package's
// robust kernels (robust.go: the coordinate-wise median and trimmed mean)
// with avo:
//
//	go run ./robust -pkg kernel -out ../robust_amd64.s
//
// (run from _asm by go generate in the kernel package). It is separate from
// the other generators so that each .s file can be regenerated on its own,
// and keeps its own small helpers because a main package cannot import
// another.
//
// Each function takes len(out) a whole number of vectors (the Go side runs
// the rest through the generic loop) and gives exactly the bits of its
// generic twin. A block of 16 (AVX-512) or 8 (AVX2) elements is sorted
// across the inputs by a sorting network of compare-exchanges on the
// values' sortable keys (VPMINSD and VPMAXSD: exact, and a total order).
//
// median… and trimmed… hold the network's wires in registers: one loop for
// each number of inputs N up to 16 (AVX-512: a recipe rarely has more,
// and each N costs ~750 lines) or 15 (AVX2), its network
// unrolled; the median computes only the comparisons its middle values
// depend on. The vector registers are assigned here, not by avo: a wire
// lives in a register, a compare-exchange writes its minimum to the free
// register and its maximum over one operand, and the other operand's
// register becomes the free one, so N wires need N+1 registers and no
// moves. That keeps the AVX2 code to Y0–Y15, which avo's allocator would
// not (it may hand out Y16–Y31, which the assembler then encodes as EVEX).
//
// robustNet… takes any N, the keys in a scratch area and the comparators
// from a list the Go side computes: 5–10 times slower than registers (two
// vector loads and two stores a comparator; Zen 4 stores one 256-bit half
// a cycle), still some 20 times the generic loop.
package main

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
	"github.com/potluck-hub/potluck/merge/kernel/_asm/sortnet"
)

func main() {
	ConstraintExpr("!purego")
	for _, a := range []isa{avx512, avx2} {
		robust(a, false)
		robust(a, true)
		robustNet(a)
	}
	Generate()
}

// isa is one instruction set's vector shape.
type isa struct {
	name  string // suffix of the function names: AVX512, AVX2
	lanes int    // float32 lanes of a vector
	// pool holds the registers the wires and the temporary live in; the
	// 512-bit level keeps λ, the scale (½ or the count) and a mask in the
	// three others, the 256-bit one λ and the scale in memory.
	pool []reg.VecPhysical
	maxN int // the most inputs median… and trimmed… take: len(pool) − 1
}

var (
	avx512 = isa{"AVX512", 16, []reg.VecPhysical{
		reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
		reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
		reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
		reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28,
	}, 16}
	avx2 = isa{"AVX2", 8, []reg.VecPhysical{
		reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
		reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15,
	}, 15}
)

func (a isa) is512() bool { return a.lanes == 16 }

// xor is VPXORD (AVX-512) or VPXOR.
func (a isa) xor(x, y, d Op) {
	if a.is512() {
		VPXORD(x, y, d)
	} else {
		VPXOR(x, y, d)
	}
}

// The λ, scale and magnitude-mask (0x7FFFFFFF) registers of the 512-bit
// level.
var lam512, scale512, mag512 = reg.Z31, reg.Z30, reg.Z29

// robust emits medianAVX512, medianAVX2, trimmedAVX512 or trimmedAVX2: a
// dispatch on len(xs), then one loop for each number of inputs.
func robust(a isa, trim bool) {
	fn := "median" + a.name
	sig := "func(out []float32, base []float32, xs [][]float32, lambda float32)"
	if trim {
		fn = "trimmed" + a.name
		sig = "func(out []float32, base []float32, xs [][]float32, k int, lambda float32)"
	}
	TEXT(fn, NOSPLIT, sig)
	out := Load(Param("out").Base(), GP64())
	base := Load(Param("base").Base(), GP64())
	end := Load(Param("out").Len(), GP64())
	SHLQ(U8(2), end) // bytes
	xs := Load(Param("xs").Base(), GP64())
	n := Load(Param("xs").Len(), GP64())
	var k reg.Register
	if trim {
		k = Load(Param("k"), GP64())
	}

	// λ and the scale: ½ for the median of an even count, float32(N−2k)
	// for the trimmed mean (in registers at the 512-bit level, in 32-byte
	// stack slots at the 256-bit one).
	var lam, scale Op
	if trim {
		c := GP64()
		MOVQ(k, c)
		SHLQ(U8(1), c)
		NEGQ(c)
		ADDQ(n, c) // N − 2k
		var x reg.Register = reg.X0
		if a.is512() {
			x = scale512.AsX()
		}
		VXORPS(x, x, x)
		VCVTSI2SSQ(c, x, x)
		if a.is512() {
			VBROADCASTSS(x, scale512)
			scale = scale512
		} else {
			VBROADCASTSS(x, reg.Y0)
			m := AllocLocal(32)
			VMOVUPS(reg.Y0, m)
			scale = m
		}
	} else if a.is512() {
		VBROADCASTSS(const32(math.Float32bits(0.5)), scale512)
		scale = scale512
	} else {
		scale = halves8()
	}
	if a.is512() {
		VBROADCASTSS(addr("lambda"), lam512)
		lam = lam512
		VPBROADCASTD(const32(0x7FFFFFFF), mag512)
	} else {
		VBROADCASTSS(addr("lambda"), reg.Y0)
		m := AllocLocal(32)
		VMOVUPS(reg.Y0, m)
		lam = m
	}

	off := GP64()
	XORQ(off, off)
	label := func(s string, args ...any) string { return fn + "_" + fmt.Sprintf(s, args...) }
	for N := 1; N <= a.maxN; N++ {
		CMPQ(n, U32(N))
		JE(LabelRef(label("n%d", N)))
	}
	JMP(LabelRef(label("done")))

	for N := 1; N <= a.maxN; N++ {
		Label(label("n%d", N))
		CMPQ(off, end)
		JAE(LabelRef(label("done")))
		p := GP64()
		// src(i) is this block's vector of input i, or of the base for N.
		src := func(i int) Mem {
			if i == N {
				return Mem{Base: base, Index: off, Scale: 1}
			}
			MOVQ(Mem{Base: xs, Disp: 24 * i}, p) // xs[i]'s data pointer
			return Mem{Base: p, Index: off, Scale: 1}
		}
		b := newBlock(a, N)
		for i := range N {
			VMOVUPS(src(i), b.wire[i])
		}
		var r reg.VecPhysical // the result, before λ
		if trim {
			for _, c := range sortnet.Network(N) {
				b.exchange(sortnet.Op{I: c[0], J: c[1], Kind: sortnet.Full})
			}
			r = b.trimmedSum(k, func(p int) string { return label("n%d_skip%d", N, p) })
			VDIVPS(scale, r, r) // s / float32(N−2k)
		} else {
			for _, o := range sortnet.MedianOps(N) {
				b.exchange(o)
			}
			r = b.value(N / 2)
			if N%2 == 0 {
				lo := b.value(N/2 - 1)
				VADDPS(r, lo, lo)
				VMULPS(scale, lo, lo) // ·½
				r = lo
			}
		}
		VMULPS(lam, r, r)
		VADDPS(src(N), r, r)
		VMOVUPS(r, Mem{Base: out, Index: off, Scale: 1})
		ADDQ(U32(4*a.lanes), off)
		JMP(LabelRef(label("n%d", N)))
	}
	Label(label("done"))
	VZEROUPPER()
	RET()
}

// robustNet emits robustNetAVX512 or robustNetAVX2, the kernels for more
// inputs than the registers hold: a block's keys are stored in scratch
// (a vector an input), sorted there by the comparators of pairs (byte
// offsets into scratch, i | j<<16, applied in order), then
//
//	s := zero // +0 for the trimmed mean, −0 for the median (−0 + v is v)
//	for p := lo; p < hi; p++ {
//		s = s + vals[p]
//	}
//	out = base + float32(lambda*(s/cnt))
//
// which is the median with cnt 1 or 2 (x/2 and x·½ are the same rounding
// of the same value) and the trimmed mean with cnt = N−2k.
func robustNet(a isa) {
	fn := "robustNet" + a.name
	TEXT(fn, NOSPLIT, "func(out []float32, base []float32, xs [][]float32, pairs []uint32, scratch []byte, lo int, hi int, zero float32, cnt float32, lambda float32)")
	out := Load(Param("out").Base(), GP64())
	base := Load(Param("base").Base(), GP64())
	end := Load(Param("out").Len(), GP64())
	SHLQ(U8(2), end)
	xs := Load(Param("xs").Base(), GP64())
	pairs := Load(Param("pairs").Base(), GP64())
	scratch := Load(Param("scratch").Base(), GP64())
	vb := 4 * a.lanes
	shift := U8(bits.TrailingZeros(uint(vb)))
	v := a.pool // v[0], v[1], v[2]: the operands; v[3] the temporary
	zero, cnt, lam := a.pool[len(a.pool)-1], a.pool[len(a.pool)-2], a.pool[len(a.pool)-3]
	VBROADCASTSS(addr("zero"), zero)
	VBROADCASTSS(addr("cnt"), cnt)
	VBROADCASTSS(addr("lambda"), lam)
	if a.is512() {
		VPBROADCASTD(const32(0x7FFFFFFF), mag512)
	}
	flip := func(r, t reg.VecPhysical) { // as block.flip
		VPSRAD(U8(31), r, t)
		if a.is512() {
			VPTERNLOGD(U8(0x78), mag512, t, r)
		} else {
			VPSRLD(U8(1), t, t)
			VPXOR(t, r, r)
		}
	}
	label := func(s string) string { return fn + "_" + s }
	off := GP64()
	XORQ(off, off)

	Label(label("loop"))
	CMPQ(off, end)
	JAE(LabelRef(label("done")))

	// Each input's vector, as keys, into scratch.
	q, d, c, p := GP64(), GP64(), GP64(), GP64()
	MOVQ(xs, q)
	MOVQ(scratch, d)
	MOVQ(addrOf(Param("xs").Len()), c)
	Label(label("load"))
	MOVQ(Mem{Base: q}, p)
	VMOVUPS(Mem{Base: p, Index: off, Scale: 1}, v[0])
	flip(v[0], v[3])
	VMOVUPS(v[0], Mem{Base: d})
	ADDQ(U8(24), q)
	ADDQ(U8(vb), d)
	DECQ(c)
	JNZ(LabelRef(label("load")))

	// The network.
	i, j := GP64(), GP64()
	XORQ(c, c)
	Label(label("net"))
	CMPQ(c, addrOf(Param("pairs").Len()))
	JAE(LabelRef(label("sorted")))
	MOVL(Mem{Base: pairs, Index: c, Scale: 4}, j.As32())
	MOVWLZX(j.As16(), i.As32())
	SHRL(U8(16), j.As32())
	VMOVUPS(Mem{Base: scratch, Index: i, Scale: 1}, v[0])
	VMOVUPS(Mem{Base: scratch, Index: j, Scale: 1}, v[1])
	VPMINSD(v[1], v[0], v[2])
	VPMAXSD(v[1], v[0], v[1])
	VMOVUPS(v[2], Mem{Base: scratch, Index: i, Scale: 1})
	VMOVUPS(v[1], Mem{Base: scratch, Index: j, Scale: 1})
	INCQ(c)
	JMP(LabelRef(label("net")))
	Label(label("sorted"))

	// The sum of positions lo to hi−1, ascending.
	s := v[2]
	VMOVUPS(zero, s)
	MOVQ(addr("lo"), d)
	SHLQ(shift, d)
	ADDQ(scratch, d)
	MOVQ(addr("hi"), p)
	SHLQ(shift, p)
	ADDQ(scratch, p)
	Label(label("sum"))
	VMOVUPS(Mem{Base: d}, v[0])
	flip(v[0], v[3])
	VADDPS(v[0], s, s)
	ADDQ(U8(vb), d)
	CMPQ(d, p)
	JB(LabelRef(label("sum")))
	VDIVPS(cnt, s, s)
	VMULPS(lam, s, s)
	VADDPS(Mem{Base: base, Index: off, Scale: 1}, s, s)
	VMOVUPS(s, Mem{Base: out, Index: off, Scale: 1})
	ADDQ(U8(vb), off)
	JMP(LabelRef(label("loop")))

	Label(label("done"))
	VZEROUPPER()
	RET()
}

// block is the generation-time state of one loop body: which register
// holds each wire, whether it holds the wire's key or its value, and the
// free registers.
type block struct {
	a    isa
	wire []reg.VecPhysical
	key  []bool
	free []reg.VecPhysical
}

func newBlock(a isa, n int) *block {
	b := &block{a: a, wire: slices.Clone(a.pool[:n]), key: make([]bool, n)}
	b.free = slices.Clone(a.pool[n:])
	return b
}

// temp is a free register, left free.
func (b *block) temp() reg.VecPhysical { return b.free[len(b.free)-1] }

// take removes a free register from the pool.
func (b *block) take() reg.VecPhysical {
	r := b.temp()
	b.free = b.free[:len(b.free)-1]
	return r
}

// flip turns wire i from value to key or back: the sortable key of a
// float32's bits v is v ⊕ ((v >>arith 31) >>logic 1), which flips the
// magnitude bits of a negative value so that signed integer order is the
// total order −max … −0 +0 … +max; applied twice it gives v back.
//
// AVX-512 computes v ⊕ ((v >>arith 31) ∧ 0x7FFFFFFF) in one VPTERNLOGD
// after the shift (0x78 is the truth table of A ⊕ (B ∧ C), A the
// destination).
func (b *block) flip(i int) {
	r, t := b.wire[i], b.temp()
	VPSRAD(U8(31), r, t)
	if b.a.is512() {
		VPTERNLOGD(U8(0x78), mag512, t, r)
	} else {
		VPSRLD(U8(1), t, t)
		VPXOR(t, r, r)
	}
	b.key[i] = !b.key[i]
}

// exchange emits compare-exchange o on keys.
func (b *block) exchange(o sortnet.Op) {
	for _, w := range []int{o.I, o.J} {
		if !b.key[w] {
			b.flip(w)
		}
	}
	x, y := b.wire[o.I], b.wire[o.J]
	switch o.Kind {
	case sortnet.Full:
		t := b.take()
		VPMINSD(y, x, t)
		VPMAXSD(y, x, y)
		b.wire[o.I] = t
		b.free = append(b.free, x)
	case sortnet.MinOnly:
		VPMINSD(y, x, x)
	case sortnet.MaxOnly:
		VPMAXSD(y, x, y)
	}
}

// value returns the register of wire i holding its float32 value.
func (b *block) value(i int) reg.VecPhysical {
	if b.key[i] {
		b.flip(i)
	}
	return b.wire[i]
}

// trimmedSum emits s = +0, then s = s + v for each sorted value v whose
// position p has k ≤ p < N−k, in ascending order, and returns s's
// register. Positions that some k may drop are behind a compare of k (the
// same branch every block of a call). skip names the label after
// position p.
func (b *block) trimmedSum(k reg.Register, skip func(p int) string) reg.VecPhysical {
	n := len(b.wire)
	kmax := (n - 1) / 2
	if len(b.free) < 2 {
		// No register for s beside the temporary: convert every value
		// first, then s takes the temporary.
		for i := range n {
			b.value(i)
		}
	}
	s := b.take()
	b.a.xor(s, s, s)
	for p := range n {
		m := min(p, n-1-p) // p survives when k ≤ m
		if m < kmax {
			CMPQ(k, U32(m))
			JA(LabelRef(skip(p)))
		}
		VADDPS(b.value(p), s, s)
		if m < kmax {
			Label(skip(p))
		}
	}
	return s
}

// tables holds the constants emitted so far, by name.
var tables = map[string]Mem{}

// const32 is a single 32-bit constant, for broadcasting.
func const32(v uint32) Mem {
	name := fmt.Sprintf("robustd%08x", v)
	if m, ok := tables[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	DATA(0, U32(v))
	tables[name] = m
	return m
}

// halves8 is a 32-byte table of 8 float32 ½s.
func halves8() Mem {
	const name = "robustHalves8"
	if m, ok := tables[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	for i := range 8 {
		DATA(4*i, U32(math.Float32bits(0.5)))
	}
	tables[name] = m
	return m
}

// addr is the stack address of a scalar parameter.
func addr(name string) Mem { return addrOf(Param(name)) }

// addrOf is the stack address of a parameter's component.
func addrOf(c gotypes.Component) Mem {
	b, err := c.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}
