// Package simd holds the avo building blocks that the kernel generators
// share: the vector shapes of AVX-512 and AVX2, and the loop that walks
// slices a block of vectors at a time. half/_asm generates half's
// conversions with it, and merge/kernel/_asm the merge kernels, so both
// emit their loops the same way.
package simd

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// ISA is one instruction set's vector shape.
type ISA struct {
	Name  string // suffix of the function names: AVX512, AVX2
	Bytes int    // bytes per vector register
	Vec   func() reg.VecVirtual
}

// The instruction sets the kernels are generated for.
var (
	AVX512 = ISA{"AVX512", 64, ZMM}
	AVX2   = ISA{"AVX2", 32, YMM}
)

// Lanes is the number of float32s in one vector.
func (a ISA) Lanes() int { return a.Bytes / 4 }

// Stream is a pointer walking one slice, Size bytes per element.
type Stream struct {
	P    reg.Register
	Size int
}

// At is the memory operand of vector j (of lanes elements) of the block.
func (s Stream) At(j, lanes int) Mem { return Mem{Base: s.P, Disp: j * lanes * s.Size} }

// Slice loads slice parameter name as a stream of size-byte elements.
func Slice(name string, size int) Stream {
	return Stream{Load(Param(name).Base(), GP64()), size}
}

// Blocks emits the loop over n elements (a multiple of lanes): unroll
// vectors of lanes elements an iteration, then one at a time. body(j)
// emits the work on vector j of the block; the streams then advance.
func Blocks(fn string, n reg.Register, lanes, unroll int, ss []Stream, body func(j int)) {
	loop := func(label string, u int) {
		Label(fn + "_" + label)
		CMPQ(n, U32(u*lanes))
		JB(LabelRef(fn + "_" + next(label)))
		for j := range u {
			body(j)
		}
		for _, s := range ss {
			ADDQ(U32(u*lanes*s.Size), s.P)
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

// Broadcast32 puts a 32-bit constant in every lane of a new vector.
func Broadcast32(a ISA, v uint32) reg.VecVirtual {
	m, ok := consts[v]
	if !ok {
		m = ConstData(fmt.Sprintf("c%08x", v), U32(v))
		consts[v] = m
	}
	r := a.Vec()
	VPBROADCASTD(m, r)
	return r
}

// Done ends a function that used vector registers.
func Done() {
	VZEROUPPER()
	RET()
}
