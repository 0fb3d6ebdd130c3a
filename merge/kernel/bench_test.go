package kernel

// Benchmarks. go test -bench . ./merge/kernel measures each kernel on
// 256 Ki elements (cache-resident: compute speed), generic beside SIMD
// (half's benchmarks measure the conversions).
//
// The report measures, against the bandwidth ceiling, the methods' kernel
// pipelines on in-memory tensors, 4 deltas and a base, the way the merge
// engine runs them (chunks of 16 Ki elements, buffers reused, the inputs
// widened, checked, combined and the output narrowed):
//
//	POTLUCK_KERNEL_BENCH=1 go test -run TestKernelReport -v ./merge/kernel
//
// POTLUCK_BENCH_ELEMS sets the elements per tensor (default 16 Mi; the
// issue's figure is 64 Mi), POTLUCK_BENCH_JSON=1 prints one JSON object a
// line. GB/s counts input bytes (the base and the deltas) per second;
// ratio = GB/s / ceiling GB/s, the ceiling being XorN over the same inputs
// into an output of the same dtype, at the same thread count.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

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
	k := hi - lo
	for ; lo < hi; lo += benchChunk {
		k = min(benchChunk, hi-lo)
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

// run times pipe over n elements on threads goroutines (each a contiguous
// share), best of reps, and returns input GB/s.
func runPipe(pipe pipeline, d dtypeOps, out []byte, in [][]byte, n, threads, reps int) float64 {
	bufs := make([]*chunkBufs, threads)
	for t := range bufs {
		bufs[t] = newChunkBufs(len(in) - 1)
	}
	best := time.Duration(1 << 62)
	for range reps {
		start := time.Now()
		var wg sync.WaitGroup
		share := (n/threads + benchChunk - 1) / benchChunk * benchChunk
		for t := range threads {
			lo, hi := min(n, t*share), min(n, (t+1)*share)
			wg.Go(func() { pipe(d, bufs[t], out, in, lo, hi) })
		}
		wg.Wait()
		best = min(best, time.Since(start))
	}
	return float64(len(in)*n*d.size) / best.Seconds() / 1e9
}

// reportRow is one line of the report, as the issue asks for it.
type reportRow struct {
	Name        string  `json:"name"`
	DType       string  `json:"dtype"`
	Impl        string  `json:"impl"`
	Inputs      int     `json:"inputs"`
	Threads     int     `json:"threads"`
	BytesRead   int64   `json:"bytes_read"`
	GBps        float64 `json:"gbps"`
	CeilingGBps float64 `json:"ceiling_gbps"`
	Ratio       float64 `json:"ratio"`
}

func TestKernelReport(t *testing.T) {
	if os.Getenv("POTLUCK_KERNEL_BENCH") == "" {
		t.Skip("set POTLUCK_KERNEL_BENCH=1 to run the kernel report")
	}
	n := 16 << 20
	if s := os.Getenv("POTLUCK_BENCH_ELEMS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	asJSON := os.Getenv("POTLUCK_BENCH_JSON") != ""
	const deltas = 4
	methods := []struct {
		name string
		pipe pipeline
	}{{"linear", linear}, {"task_arithmetic", weightedSum}, {"fedavg", weightedSum}, {"ties (consensus, no trim)", ties}}
	threadCounts := []int{1}
	if c := runtime.NumCPU(); c > 1 {
		threadCounts = append(threadCounts, c)
	}
	if !asJSON {
		fmt.Printf("%d elements per tensor, %d deltas + base; kernels: %s; GB/s of input\n", n, deltas, Implementation())
		fmt.Printf("%-26s %-5s %-8s %7s %8s %8s %6s\n", "method", "dtype", "impl", "threads", "GB/s", "ceiling", "ratio")
	}
	for _, d := range benchDTypes {
		r := rand.New(rand.NewPCG(uint64(d.size), 7))
		in := make([][]byte, deltas+1)
		for i := range in {
			v := make([]float32, n)
			for j := range v {
				v[j] = float32(r.NormFloat64()) * 0.01
			}
			in[i] = make([]byte, n*d.size)
			d.narrow(in[i], v)
		}
		out := make([]byte, n*d.size)
		for _, threads := range threadCounts {
			for _, l := range []level{isa.Best, generic} {
				var ceil float64
				atLevel(isa.Best, func() { ceil = runPipe(ceilingPipe, d, out, in, n, threads, 3) })
				for _, m := range methods {
					var g float64
					atLevel(l, func() { g = runPipe(m.pipe, d, out, in, n, threads, 2) })
					row := reportRow{m.name, d.name, l.String(), deltas + 1, threads, int64((deltas + 1) * n * d.size), g, ceil, g / ceil}
					if asJSON {
						b, _ := json.Marshal(row)
						fmt.Println(string(b))
					} else {
						fmt.Printf("%-26s %-5s %-8s %7d %8.2f %8.2f %6.3f\n", row.Name, row.DType, row.Impl, threads, row.GBps, row.CeilingGBps, row.Ratio)
					}
				}
			}
		}
	}
}
