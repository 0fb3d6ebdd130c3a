package kernel

// Benchmarks of the fused sums against the bandwidth ceiling, on one
// goroutine:
//
//	go test -run XXX -bench 'SumScaled|SumLinear' ./merge/kernel
//
// Each case merges 4 inputs and a base of 16 Ki elements (cache-resident)
// or 64 Mi (memory-resident), in bf16, f16 and f32, at each level (generic
// on the small size only). The MB/s column counts input bytes (base and
// inputs). After the timed loop the case times itself and XorN at the
// best level (the ceiling of BenchmarkPipeline in bench_test.go) over the
// same five inputs into an output of the same size, alternately, seven
// times each, and reports the best of each (best-GB/s, xorN-GB/s) and
// their ratio (ratio-to-xorN): single-threaded input bandwidth against the
// ceiling.

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/potluck-hub/potluck/internal/isa"
	"github.com/potluck-hub/potluck/internal/simdtest"
)

const fusedBenchInputs = 4

// fusedBenchSizes are the cases' lengths. Staggered starts buffer i of
// the inputs and output i·4160 bytes into its allocation; otherwise the
// buffers are same-sized allocations one after the other, as the kernel
// report makes them, whose addresses at 64 Mi elements agree in their low
// 27 or 28 bits: on AMD (Zen) the L1 way predictor then keeps one input's
// line at each offset, and speed depends on how long a run of each input
// a kernel reads at a time (see _asm/fused.go).
var fusedBenchSizes = []struct {
	name      string
	n         int
	staggered bool
}{{"16Ki", 16 << 10, false}, {"64Mi", 64 << 20, false}, {"64Mi-staggered", 64 << 20, true}}

// fusedBenchData returns a base and inputs of n elements of f, finite
// values of order 0.01 (a tiled random block, to build 64 Mi quickly).
func fusedBenchData(f Format, n int) (base []byte, srcs [][]byte) {
	r := rand.New(rand.NewPCG(uint64(f), 3))
	const block = 1 << 16
	mk := func() []byte {
		b := make([]byte, n*f.Size())
		m := min(n, block)
		for i := range m {
			putElemBits(f, b, i, encode(f, float32(r.NormFloat64()*0.01)))
		}
		for i := m * f.Size(); i < len(b); i += m * f.Size() {
			copy(b[i:], b[:m*f.Size()])
		}
		return b
	}
	base = mk()
	for range fusedBenchInputs {
		srcs = append(srcs, mk())
	}
	return base, srcs
}

func benchFused(b *testing.B, linear bool) {
	w := []float32{0.4, 0.3, 0.2, 0.1}
	for _, size := range fusedBenchSizes {
		b.Run(size.name, func(b *testing.B) {
			for _, f := range fusedFormats {
				b.Run(fmtName(f), func(b *testing.B) {
					base, srcs := fusedBenchData(f, size.n)
					dst := make([]byte, len(base))
					if size.staggered {
						stagger := func(b []byte, i int) []byte {
							s := make([]byte, i*4160+len(b))[i*4160:]
							copy(s, b)
							return s
						}
						base, dst = stagger(base, 1), stagger(dst, 6)
						for i := range srcs {
							srcs[i] = stagger(srcs[i], i+2)
						}
					}
					all := append([][]byte{base}, srcs...)
					inBytes := int64(len(all) * len(base))
					ls := simdtest.Levels()
					if size.n <= 1<<20 {
						ls = append(ls, generic)
					}
					for _, l := range ls {
						b.Run(l.String(), func(b *testing.B) {
							atLevel(l, func() {
								run := func() {
									var ok bool
									if linear {
										ok = SumLinear(f, dst, base, srcs, w)
									} else {
										ok = SumScaled(f, dst, base, srcs, w, 1, 0.8)
									}
									if !ok {
										b.Fatal("non-finite")
									}
								}
								run() // fault dst in, warm the caches
								b.SetBytes(inBytes)
								for b.Loop() {
									run()
								}
								// The ratio: best of a few alternating timings
								// of both, to ride out a noisy machine.
								reps := max(1, (1<<20)/size.n)
								fused, xor := math.Inf(1), math.Inf(1)
								for range 7 {
									fused = min(fused, timeOp(run, reps))
									atLevel(isa.Best, func() { xor = min(xor, timeOp(func() { XorN(dst, all) }, reps)) })
								}
								b.ReportMetric(float64(inBytes)/fused/1e9, "best-GB/s")
								b.ReportMetric(float64(inBytes)/xor/1e9, "xorN-GB/s")
								b.ReportMetric(xor/fused, "ratio-to-xorN")
							})
						})
					}
				})
			}
		})
	}
}

// timeOp returns the seconds per call of fn over reps calls.
func timeOp(fn func(), reps int) float64 {
	start := time.Now()
	for range reps {
		fn()
	}
	return time.Since(start).Seconds() / float64(reps)
}

func BenchmarkSumScaled(b *testing.B) { benchFused(b, false) }

func BenchmarkSumLinear(b *testing.B) { benchFused(b, true) }
