// Command _asm generates the merge kernels' amd64 assembly with avo:
//
//	go run . -pkg kernel -out ../kernel_amd64.s
//
// (run by go generate in the kernel package). Every function takes slices
// whose length is a whole number of vectors (the Go side runs the rest
// through the generic loop) and must give exactly the bits of its generic
// twin in the kernel package.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	convert()
	arith()
	ceiling()
	tiesKernels()
	fused()
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

// lanes is the number of float32s in one vector.
func (a isa) lanes() int { return a.bytes / 4 }

// stream is a pointer walking one slice, size bytes per element.
type stream struct {
	p    reg.Register
	size int
}

// at is the memory operand of vector j (of lanes elements) of the block.
func (s stream) at(j, lanes int) Mem { return Mem{Base: s.p, Disp: j * lanes * s.size} }

// param loads slice parameter name as a stream of size-byte elements.
func param(name string, size int) stream {
	return stream{Load(Param(name).Base(), GP64()), size}
}

// blocks emits the loop over n elements (a multiple of lanes): unroll
// vectors of lanes elements an iteration, then one at a time. body(j)
// emits the work on vector j of the block; the streams then advance.
func blocks(fn string, n reg.Register, lanes, unroll int, ss []stream, body func(j int)) {
	loop := func(label string, u int) {
		Label(fn + "_" + label)
		CMPQ(n, U32(u*lanes))
		JB(LabelRef(fn + "_" + next(label)))
		for j := range u {
			body(j)
		}
		for _, s := range ss {
			ADDQ(U32(u*lanes*s.size), s.p)
		}
		SUBQ(U32(u*lanes), n)
		JMP(LabelRef(fn + "_" + label))
	}
	if unroll > 1 {
		loop("wide", unroll)
	}
	loop("one", 1)
	Label(fn + "_done")
}

func next(label string) string {
	if label == "wide" {
		return "one"
	}
	return "done"
}

// consts holds the 32-bit constants emitted so far, by value.
var consts = map[uint32]Mem{}

// broadcast32 puts a 32-bit constant in every lane of a new vector.
func broadcast32(a isa, v uint32) reg.VecVirtual {
	m, ok := consts[v]
	if !ok {
		m = ConstData(fmt.Sprintf("c%08x", v), U32(v))
		consts[v] = m
	}
	r := a.vec()
	VPBROADCASTD(m, r)
	return r
}

// done ends a function that used vector registers.
func done() {
	VZEROUPPER()
	RET()
}
