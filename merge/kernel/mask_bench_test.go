package kernel

// Benchmarks of the masking and lane kernels, generic beside SIMD, on one
// goroutine:
//
//	go test -run XXX -bench 'DAREMask|DAREMask2|DARE2L1|MaskBetween|CountKey|SumAbsLanes|DotLanes|Gram' ./merge/kernel
//
// Each runs on 16 Ki elements (cache-resident: compute speed) and 16 Mi
// (64 MiB a slice: memory-resident). GB/s counts the bytes of the float32
// inputs read per second (the masks also write them back).

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

var maskBenchSizes = []struct {
	name string
	n    int
}{{"16Ki", 16 << 10}, {"16Mi", 16 << 20}}

// maskBenchData is n ordinary float32 values (a tiled random block).
func maskBenchData(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 5))
	x := make([]float32, n)
	m := min(n, 1<<16)
	for i := range m {
		x[i] = float32(r.NormFloat64() * 0.01)
	}
	for i := m; i < n; i += m {
		copy(x[i:], x[:m])
	}
	return x
}

// benchMask runs fn on each size at each level, reporting GB/s of bytes
// per element.
func benchMask(b *testing.B, bytes int, fn func(n int) func()) {
	for _, size := range maskBenchSizes {
		b.Run(size.name, func(b *testing.B) {
			run := fn(size.n)
			for _, l := range append(simdtest.Levels(), generic) {
				b.Run(l.String(), func(b *testing.B) {
					atLevel(l, func() {
						run() // fault in, warm the caches
						b.SetBytes(int64(bytes * size.n))
						for b.Loop() {
							run()
						}
						b.ReportMetric(float64(bytes*size.n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
					})
				})
			}
		})
	}
}

func BenchmarkDAREMask(b *testing.B) {
	benchMask(b, 4, func(n int) func() {
		x := maskBenchData(n, 1)
		keep := uint64(math.Ceil(0.5 * (1 << 53)))
		return func() { DAREMask(x, 0x123456789ABCDEF, 1<<30, keep) } // idempotent
	})
}

func BenchmarkDAREMask2(b *testing.B) {
	benchMask(b, 4, func(n int) func() {
		x := maskBenchData(n, 1)
		return func() { DAREMask2(x, 0x123456789ABCDEF, 1<<30, 1<<15) } // idempotent
	})
}

func BenchmarkMaskBetween(b *testing.B) {
	benchMask(b, 4, func(n int) func() {
		x := maskBenchData(n, 2)
		return func() { MaskBetween(x, 0x3A000000, 0x3C000000) } // idempotent
	})
}

func BenchmarkCountKey(b *testing.B) {
	benchMask(b, 4, func(n int) func() {
		x := maskBenchData(n, 3)
		key := math.Float32bits(x[7]) & 0x7FFFFFFF
		return func() { CountKey(x, key) }
	})
}

func BenchmarkSumAbsLanes(b *testing.B) {
	benchMask(b, 4, func(n int) func() {
		x := maskBenchData(n, 4)
		var acc [8]float64
		return func() { SumAbsLanes(&acc, 3, x) }
	})
}

func BenchmarkDotLanes(b *testing.B) {
	benchMask(b, 8, func(n int) func() {
		x, y := maskBenchData(n, 5), maskBenchData(n, 6)
		var acc [8]float64
		return func() { DotLanes(&acc, 3, x, y) }
	})
}

// BenchmarkDARE2L1 takes a scheme-2 DARE input's two L1 sums on encoded
// bfloat16 and float32 (GB/s of the encoded bytes): the first of DARE's
// two passes over its inputs.
func BenchmarkDARE2L1(b *testing.B) {
	for _, f := range []Format{BF16, F32} {
		b.Run(fmtName(f), func(b *testing.B) {
			benchMask(b, f.Size(), func(n int) func() {
				x := maskBenchData(n, 7)
				raw := make([]byte, n*f.Size())
				for i, v := range x {
					putElemBits(f, raw, i, encode(f, v))
				}
				var before, after [8]float64
				return func() { DARE2L1(f, raw, 0x123456789ABCDEF, 1<<30, 0x4CCD, &before, &after) }
			})
		})
	}
}

// BenchmarkGram: all 10 pairs of 4 inputs, as model_stock's statistics
// pass takes them, through DotPairs (each input widened once per pair it
// is in) and through Gram (once); GB/s counts the 4 float32 inputs.
func BenchmarkGram(b *testing.B) {
	gramBench := func(n int) (accs []*[8]float64, xs, as, bs [][]float32) {
		for i := range 4 {
			xs = append(xs, maskBenchData(n, uint64(10+i)))
		}
		for i := range 4 {
			for j := i; j < 4; j++ {
				accs, as, bs = append(accs, new([8]float64)), append(as, xs[i]), append(bs, xs[j])
			}
		}
		return accs, xs, as, bs
	}
	b.Run("DotPairs", func(b *testing.B) {
		benchMask(b, 16, func(n int) func() {
			accs, _, as, bs := gramBench(n)
			return func() { DotPairs(accs, 3, as, bs) }
		})
	})
	b.Run("Gram", func(b *testing.B) {
		benchMask(b, 16, func(n int) func() {
			accs, xs, _, _ := gramBench(n)
			return func() { Gram(accs, 3, xs) }
		})
	})
}

// BenchmarkGramEncoded: Gram of 4 inputs on their encoded bytes (nothing
// widened into memory); GB/s counts the encoded bytes.
func BenchmarkGramEncoded(b *testing.B) {
	for _, f := range []Format{BF16, F32} {
		b.Run(fmtName(f), func(b *testing.B) {
			benchMask(b, 4*f.Size(), func(n int) func() {
				var raws [][]byte
				for i := range 4 {
					raw := make([]byte, n*f.Size())
					for e, v := range maskBenchData(n, uint64(10+i)) {
						putElemBits(f, raw, e, encode(f, v))
					}
					raws = append(raws, raw)
				}
				accs := make([]*[8]float64, 10)
				for p := range accs {
					accs[p] = new([8]float64)
				}
				return func() { GramEncoded(f, accs, 3, raws) }
			})
		})
	}
}
