package kernel

// Benchmarks of the robust kernels, generic beside SIMD, on one goroutine:
//
//	go test -run XXX -bench 'MedianCombine|TrimmedCombine' ./merge/kernel
//
// Each merges 4 or 8 inputs and a base of 16 Ki elements (cache-resident:
// compute speed) or 64 Mi (memory-resident), the trimmed mean with k = 1;
// 24 inputs (beyond the registers: robustNet…) on 16 Ki elements.
// The 64Mi buffers are same-sized allocations one after the other, whose
// addresses agree in their low bits (see fused_bench_test.go); the
// staggered case starts buffer i at i·4160 bytes into its allocation. GB/s
// counts the bytes of the inputs and the base read per second. Beside the
// levels, xorN (at the best level) reads the same buffers and writes the
// output: the bandwidth ceiling of the case.

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

var robustBenchSizes = []struct {
	name      string
	n         int
	staggered bool
	counts    []int
}{{"16Ki", 16 << 10, false, []int{4, 8, 24}}, {"64Mi", 64 << 20, false, []int{4, 8}}, {"64Mi-staggered", 64 << 20, true, []int{4, 8}}}

// robustBenchData returns cnt inputs, a base and an output of n elements:
// ordinary values of order 0.01 (a tiled random block), each buffer i
// staggered by i·4160 bytes when stagger is set.
func robustBenchData(cnt, n int, stagger bool) (xs [][]float32, base, out []float32) {
	r := rand.New(rand.NewPCG(uint64(cnt), 9))
	i := 0
	mk := func() []float32 {
		skip := 0
		if stagger {
			skip = i * 4160 / 4
		}
		i++
		x := make([]float32, skip+n)[skip:]
		m := min(n, 1<<16)
		for j := range m {
			x[j] = float32(r.NormFloat64() * 0.01)
		}
		for j := m; j < n; j += m {
			copy(x[j:], x[:m])
		}
		return x
	}
	for range cnt {
		xs = append(xs, mk())
	}
	return xs, mk(), mk()
}

func benchRobust(b *testing.B, trim bool) {
	for _, size := range robustBenchSizes {
		b.Run(size.name, func(b *testing.B) {
			for _, cnt := range size.counts {
				b.Run(fmt.Sprintf("N%d", cnt), func(b *testing.B) {
					xs, base, out := robustBenchData(cnt, size.n, size.staggered)
					run := func() { MedianCombine(out, base, xs, 0.5) }
					if trim {
						run = func() { TrimmedCombine(out, base, xs, 1, 0.5) }
					}
					bytes := int64(4 * (cnt + 1) * size.n)
					b.Run("xorN", func(b *testing.B) {
						srcs := [][]byte{bytesOf(base)}
						for _, x := range xs {
							srcs = append(srcs, bytesOf(x))
						}
						dst := bytesOf(out)
						xorN(dst, srcs)
						b.SetBytes(bytes)
						for b.Loop() {
							xorN(dst, srcs)
						}
						b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
					})
					for _, l := range append(simdtest.Levels(), generic) {
						b.Run(l.String(), func(b *testing.B) {
							atLevel(l, func() {
								run() // fault in, warm the caches
								b.SetBytes(bytes)
								for b.Loop() {
									run()
								}
								b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
							})
						})
					}
				})
			}
		})
	}
}

func BenchmarkMedianCombine(b *testing.B)  { benchRobust(b, false) }
func BenchmarkTrimmedCombine(b *testing.B) { benchRobust(b, true) }

// bytesOf is x's memory as bytes.
func bytesOf(x []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 4*len(x))
}
