package kernel

// Benchmarks of the masked merges' compute speed, on one goroutine, inputs
// cache-resident (16 Ki elements: what the engine gives a call):
//
//	go test -run XXX -bench 'MergeMasked|CountKeys' ./merge/kernel
//
// GB/s counts the bytes of the base and the 4 inputs per second; against
// the machine's bandwidth (BenchmarkSumScaled's xorN-GB/s at 64 Mi) it
// says whether a kernel can keep up with memory.

import (
	"math"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

func BenchmarkMergeMasked(b *testing.B) {
	const n = 16 << 10
	masks := []struct {
		name string
		set  func(in *MaskedInput, f Format)
	}{
		{"none", func(*MaskedInput, Format) {}},
		{"window", func(in *MaskedInput, f Format) {
			in.Kind, in.Lo, in.Hi = MaskWindow, 0x3C00, 1<<15
			if f == F32 {
				in.Lo, in.Hi = 0x3C000000, 1<<31
			}
		}},
		{"window1", func(in *MaskedInput, f Format) { // R and W 1: TIES's usual inputs
			in.Kind, in.Lo, in.Hi, in.W, in.R = MaskWindow, 0x3C00, 1<<15, 1, 1
			if f == F32 {
				in.Lo, in.Hi = 0x3C000000, 1<<31
			}
		}},
		{"dare2", func(in *MaskedInput, f Format) { in.Kind, in.Keep, in.Z = MaskDARE2, 0x4CCD, 12345 }},
		{"words", func(in *MaskedInput, f Format) {
			in.Kind, in.Words = MaskWords, make([]uint32, n)
			for j := range in.Words {
				in.Words[j] = uint32(j%3-1) & math.MaxUint32
			}
		}},
	}
	for _, f := range fusedFormats {
		base, srcs := fusedBenchData(f, n)
		for _, mk := range []MergeKind{MergeSum, MergeTIES, MergeTIESPaper} {
			for _, mask := range masks {
				b.Run(fmtName(f)+"/"+[]string{"sum", "ties", "paper"}[mk]+"/"+mask.name, func(b *testing.B) {
					ins := make([]MaskedInput, len(srcs))
					for k, s := range srcs {
						ins[k] = MaskedInput{Src: s, W: 0.25 * float32(k+1), R: 1.5}
						mask.set(&ins[k], f)
					}
					dst := make([]byte, len(base))
					scratch := make([]float32, MaskedScratch*len(ins))
					m := Merge{Kind: mk, Div: 1, Lambda: 0.8, Normalize: true}
					for _, l := range append(simdtest.Levels(), generic) {
						b.Run(l.String(), func(b *testing.B) {
							atLevel(l, func() {
								b.SetBytes(int64(len(base) * (len(ins) + 1)))
								for b.Loop() {
									MergeMasked(f, dst, base, ins, m, scratch)
								}
							})
						})
					}
				})
			}
		}
	}
}

func BenchmarkCountKeys(b *testing.B) {
	const n = 16 << 10
	for _, f := range fusedFormats {
		base, _ := fusedBenchData(f, n)
		b.Run(fmtName(f), func(b *testing.B) {
			for _, l := range append(simdtest.Levels(), generic) {
				b.Run(l.String(), func(b *testing.B) {
					atLevel(l, func() {
						b.SetBytes(int64(len(base)))
						for b.Loop() {
							CountKeys(f, base, 0x3C00, 0x3C00)
						}
					})
				})
			}
		})
	}
}
