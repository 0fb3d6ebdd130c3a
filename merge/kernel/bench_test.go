package kernel

// Benchmarks. go test -bench . ./merge/kernel measures each kernel on
// 256 Ki elements (cache-resident: compute speed), generic beside SIMD
// (half's benchmarks measure the conversions).
//
// BenchmarkPipeline measures the methods' kernel pipelines, beside the
// bandwidth ceiling, on in-memory tensors of 4 Mi elements, 4 deltas and a
// base, the way the merge engine runs its unfused path (chunks of 16 Ki
// elements, buffers reused, the inputs widened, checked, combined and the
// output narrowed):
//
//	go test -run - -bench Pipeline ./merge/kernel
//
// MB/s counts input bytes (the base and the deltas); the ceiling row is
// XorN over the same inputs into an output of the same dtype, at the same
// thread count. potluck bench measures the whole engine the same way.

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/potluck-hub/potluck/half"
	"github.com/potluck-hub/potluck/internal/isa"
	"github.com/potluck-hub/potluck/internal/simdtest"
)

const benchN = 256 << 10

func BenchmarkAxpy(b *testing.B) {
	acc, x := make([]float32, benchN), make([]float32, benchN)
	simdtest.BenchLevels(b, atLevel, func(b *testing.B) {
		b.SetBytes(4 * benchN)
		for b.Loop() {
			axpy(acc, 0.5, x)
		}
	})
}

func BenchmarkFirstNonFinite(b *testing.B) {
	x := make([]float32, benchN)
	simdtest.BenchLevels(b, atLevel, func(b *testing.B) {
		b.SetBytes(4 * benchN)
		for b.Loop() {
			firstNonFinite(x)
		}
	})
}

func BenchmarkTIESWeighted(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	xs := tiesInputs(r, 4, benchN)
	out, base, w := make([]float32, benchN), make([]float32, benchN), []float32{1, 0.5, 0.25, 2}
	simdtest.BenchLevels(b, atLevel, func(b *testing.B) {
		b.SetBytes(4 * 4 * benchN)
		for b.Loop() {
			tiesWeighted(out, base, xs, w, 1, true)
		}
	})
}

func BenchmarkXorN(b *testing.B) {
	srcs := [][]byte{make([]byte, 4*benchN), make([]byte, 4*benchN), make([]byte, 4*benchN), make([]byte, 4*benchN)}
	dst := make([]byte, 4*benchN)
	simdtest.BenchLevels(b, atLevel, func(b *testing.B) {
		b.SetBytes(4 * 4 * benchN)
		for b.Loop() {
			xorN(dst, srcs)
		}
	})
}

// dtypeOps are one dtype's widen and narrow.
type dtypeOps struct {
	name   string
	size   int
	widen  func([]float32, []byte)
	narrow func([]byte, []float32)
}

var benchDTypes = []dtypeOps{
	{"bf16", 2, half.WidenBF16, half.NarrowBF16},
	{"f16", 2, half.WidenF16, half.NarrowF16},
	{"f32", 4, half.ReadF32, half.WriteF32},
}

const benchChunk = 16 << 10

// chunkBufs are one worker's buffers, reused for every chunk.
type chunkBufs struct {
	base, acc, out []float32
	xs             [][]float32
}

func newChunkBufs(k int) *chunkBufs {
	c := &chunkBufs{base: make([]float32, benchChunk), acc: make([]float32, benchChunk), out: make([]float32, benchChunk)}
	for range k {
		c.xs = append(c.xs, make([]float32, benchChunk))
	}
	return c
}

// pipeline merges elements [lo, hi) of the tensors in (base first) into out.
type pipeline func(d dtypeOps, c *chunkBufs, out []byte, in [][]byte, lo, hi int)

// load widens the base and every delta's chunk and checks the deltas.
func load(d dtypeOps, c *chunkBufs, in [][]byte, lo, hi int) {
	k := hi - lo
	d.widen(c.base[:k], in[0][lo*d.size:hi*d.size])
	for i, x := range c.xs {
		d.widen(x[:k], in[i+1][lo*d.size:hi*d.size])
		if firstNonFinite(x[:k]) >= 0 {
			panic("non-finite input")
		}
	}
}

var benchWeights = []float32{0.4, 0.3, 0.2, 0.1}

// weightedSum is task arithmetic and fedavg: base + λ·Σ wᵢδᵢ.
func weightedSum(d dtypeOps, c *chunkBufs, out []byte, in [][]byte, lo, hi int) {
	for ; lo < hi; lo += benchChunk {
		k := min(benchChunk, hi-lo)
		load(d, c, in, lo, lo+k)
		acc := c.acc[:k]
		clear(acc)
		for i, x := range c.xs {
			axpy(acc, benchWeights[i], x[:k])
		}
		addScaled(c.out[:k], c.base[:k], 0.8, acc)
		d.narrow(out[lo*d.size:(lo+k)*d.size], c.out[:k])
	}
}

// linear is Σ wᵢ(θ₀+δᵢ).
func linear(d dtypeOps, c *chunkBufs, out []byte, in [][]byte, lo, hi int) {
	for ; lo < hi; lo += benchChunk {
		k := min(benchChunk, hi-lo)
		load(d, c, in, lo, lo+k)
		acc := c.acc[:k]
		clear(acc)
		for i, x := range c.xs {
			addInto(x[:k], c.base[:k])
			axpy(acc, benchWeights[i], x[:k])
		}
		d.narrow(out[lo*d.size:(lo+k)*d.size], acc)
	}
}

// ties is the TIES consensus (mergekit's), without the magnitude trim.
func ties(d dtypeOps, c *chunkBufs, out []byte, in [][]byte, lo, hi int) {
	for ; lo < hi; lo += benchChunk {
		k := min(benchChunk, hi-lo)
		load(d, c, in, lo, lo+k)
		var buf [8][]float32
		xs := buf[:0]
		for _, x := range c.xs {
			xs = append(xs, x[:k])
		}
		tiesWeighted(c.out[:k], c.base[:k], xs, benchWeights, 1, true)
		d.narrow(out[lo*d.size:(lo+k)*d.size], c.out[:k])
	}
}

// ceiling XORs the inputs' bytes into out.
func ceilingPipe(d dtypeOps, c *chunkBufs, out []byte, in [][]byte, lo, hi int) {
	var buf [8][]byte
	srcs := buf[:0]
	for _, b := range in {
		srcs = append(srcs, b[lo*d.size:hi*d.size])
	}
	xorN(out[lo*d.size:hi*d.size], srcs)
}

// runPipe runs pipe over n elements on len(bufs) goroutines, each a
// contiguous share with its own buffers.
func runPipe(pipe pipeline, d dtypeOps, bufs []*chunkBufs, out []byte, in [][]byte, n int) {
	threads := len(bufs)
	share := (n/threads + benchChunk - 1) / benchChunk * benchChunk
	var wg sync.WaitGroup
	for t := range threads {
		lo, hi := min(n, t*share), min(n, (t+1)*share)
		wg.Go(func() { pipe(d, bufs[t], out, in, lo, hi) })
	}
	wg.Wait()
}

// pipeInputs returns a base and deltas of n elements in dtype d: small
// normal values, as deltas are.
func pipeInputs(d dtypeOps, n, deltas int) [][]byte {
	r := rand.New(rand.NewPCG(uint64(d.size), 7))
	v := make([]float32, n)
	in := make([][]byte, deltas+1)
	for i := range in {
		for j := range v {
			v[j] = float32(r.NormFloat64()) * 0.01
		}
		in[i] = make([]byte, n*d.size)
		d.narrow(in[i], v)
	}
	return in
}

func BenchmarkPipeline(b *testing.B) {
	const n, deltas = 4 << 20, 4
	methods := []struct {
		name string
		pipe pipeline
	}{{"linear", linear}, {"weighted_sum", weightedSum}, {"ties_consensus", ties}}
	threadCounts := []int{1}
	if c := runtime.NumCPU(); c > 1 {
		threadCounts = append(threadCounts, c)
	}
	for _, d := range benchDTypes {
		b.Run(d.name, func(b *testing.B) {
			in, out := pipeInputs(d, n, deltas), make([]byte, n*d.size)
			run := func(name string, l level, pipe pipeline) {
				for _, threads := range threadCounts {
					b.Run(fmt.Sprintf("%s/%s/threads=%d", name, l, threads), func(b *testing.B) {
						bufs := make([]*chunkBufs, threads)
						for t := range bufs {
							bufs[t] = newChunkBufs(deltas)
						}
						b.SetBytes(int64(len(in) * n * d.size))
						atLevel(l, func() {
							for b.Loop() {
								runPipe(pipe, d, bufs, out, in, n)
							}
						})
					})
				}
			}
			run("ceiling", isa.Best, ceilingPipe)
			for _, m := range methods {
				for _, l := range append(simdtest.Levels(), generic) {
					run(m.name, l, m.pipe)
				}
			}
		})
	}
}
