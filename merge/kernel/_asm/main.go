// Command _asm generates the merge kernels' amd64 assembly with avo:
//
//	go run . -pkg kernel -out ../kernel_amd64.s
//
// (run by go generate in the kernel package). Every function takes slices
// whose length is a whole number of vectors (the Go side runs the rest
// through the generic loop) and must give exactly the bits of its generic
// twin in the kernel package. The float conversions are half's, generated
// by half/_asm; the vector shapes and the block loop are half/_asm/simd's,
// shared with that generator.
package main

import . "github.com/mmcloughlin/avo/build"

func main() {
	ConstraintExpr("!purego")
	arith()
	ceiling()
	tiesKernels()
	fused()
	maskedKernels()
	robustFused()
	Generate()
}
