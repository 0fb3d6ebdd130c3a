// Command _asm generates half's amd64 assembly with avo:
//
//	go run . -pkg half -out ../convert_amd64.s
//
// (run by go generate in the half package). Every function takes slices
// whose length is a whole number of vectors (the Go side runs the rest
// through the generic loop) and must give exactly the bits of its generic
// twin in the half package. The vector shapes and the block loop are in
// package simd, which merge/kernel/_asm imports too.
package main

import . "github.com/mmcloughlin/avo/build"

func main() {
	ConstraintExpr("!purego")
	convert()
	Generate()
}
