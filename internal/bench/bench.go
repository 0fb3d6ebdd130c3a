// Package bench measures the merge engine against the machine's memory
// bandwidth: each method merges one in-memory tensor of N deltas over a
// base, end to end through the engine (Job.WriteTensor), and the same
// inputs are streamed through the ceiling kernel (kernel.XorN: read every
// input, write one output, no arithmetic) in the same process and at the
// same thread count. ratio = GB/s ÷ ceiling GB/s, both counting the bytes of
// the inputs (the base and the deltas) per second.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/merge/kernel"
	"github.com/potluck-hub/potluck/merge/trimstats"
	"github.com/potluck-hub/potluck/safetensors"
)

// Options choose what is measured.
type Options struct {
	Elems   int64    // elements of the tensor (the figure: 64 Mi)
	Deltas  int      // deltas merged
	DTypes  []string // bf16, f16, f32
	Methods []string // labels of Methods; empty: all
	Threads []int    // thread counts; empty: 1 and every core
	Repeat  int      // runs per figure, the fastest kept
	Scalar  bool     // also measure the generic (pure Go) kernels
	Chunk   int      // elements per chunk (Job.ChunkElems); 0: the engine's choice
}

// Method is one measured recipe: its method, its parameters, any other
// top-level recipe lines (Top), and whether its deltas come without trim
// statistics (NoStats), as deltas published before them do.
type Method struct {
	Label, Name, Params string
	Top                 string
	NoStats             bool
}

// Methods are the recipes measured, in order. The deltas carry trim
// statistics (potluck.stats), as published deltas do; the random masks
// are scheme 2, what new merges record, unless the label says v1.
var Methods = []Method{
	{Label: "linear", Name: "linear"},
	{Label: "task_arithmetic", Name: "task_arithmetic", Params: "lambda: 0.8"},
	{Label: "fedavg", Name: "fedavg"},
	{Label: "ties", Name: "ties", Params: "density: 0.3"},
	{Label: "ties/nostats", Name: "ties", Params: "density: 0.3", NoStats: true},
	{Label: "breadcrumbs", Name: "breadcrumbs", Params: "density: 0.8\ngamma: 0.01"},
	{Label: "dare_linear", Name: "dare_linear", Params: "density: 0.3", Top: "mask_scheme: 2"},
	{Label: "dare_ties", Name: "dare_ties", Params: "density: 0.3", Top: "mask_scheme: 2"},
	{Label: "dare_ties/v1", Name: "dare_ties", Params: "density: 0.3"},
	{Label: "median", Name: "median"},
	{Label: "trimmed_mean", Name: "trimmed_mean", Params: "beta: 0.25"},
	{Label: "model_stock", Name: "model_stock"},
}

// Result is one figure, as `potluck bench --json` prints it.
type Result struct {
	Name        string  `json:"name"`
	DType       string  `json:"dtype"`
	Impl        string  `json:"impl"` // the kernels: avx512, avx2 or generic
	Inputs      int     `json:"inputs"`
	Elems       int64   `json:"elems"`
	Threads     int     `json:"threads"`
	BytesRead   int64   `json:"bytes_read"`
	Seconds     float64 `json:"seconds"`
	GBps        float64 `json:"gbps"`
	CeilingGBps float64 `json:"ceiling_gbps"`
	Ratio       float64 `json:"ratio"`
}

const tensorName = "model.layers.0.mlp.up_proj.weight"

// Run measures every dtype, thread count and method, calling emit with each
// figure as it is measured.
func Run(ctx context.Context, o Options, emit func(Result)) error {
	if o.Elems <= 0 || o.Deltas <= 0 {
		return fmt.Errorf("bench: elems and deltas must be positive")
	}
	if o.Repeat <= 0 {
		o.Repeat = 3
	}
	threads := o.Threads
	if len(threads) == 0 {
		threads = []int{1}
		if n := runtime.GOMAXPROCS(0); n > 1 {
			threads = append(threads, n)
		}
	}
	methods, err := pick(o.Methods)
	if err != nil {
		return err
	}
	for _, name := range o.DTypes {
		dt := safetensors.DType(map[string]string{"bf16": "BF16", "f16": "F16", "f32": "F32"}[name])
		if !dt.IsFloat() {
			return fmt.Errorf("bench: dtype %q: want bf16, f16 or f32", name)
		}
		set, err := newInputs(dt, o.Elems, o.Deltas)
		if err != nil {
			return err
		}
		for _, th := range threads {
			impls := []bool{false}
			if o.Scalar {
				impls = append(impls, true)
			}
			best := 0.0
			for _, m := range methods {
				for _, scalar := range impls {
					if err := ctx.Err(); err != nil {
						return err
					}
					secs, ceil, impl, err := set.measure(ctx, m, th, o.Repeat, scalar, o.Chunk)
					if err != nil {
						return fmt.Errorf("bench: %s %s: %w", m.Label, name, err)
					}
					best = max(best, ceil)
					gbps := float64(set.bytesRead) / secs / 1e9
					emit(Result{Name: m.Label, DType: name, Impl: impl, Inputs: o.Deltas, Elems: o.Elems, Threads: th,
						BytesRead: set.bytesRead, Seconds: secs, GBps: gbps, CeilingGBps: ceil, Ratio: gbps / ceil})
				}
			}
			emit(Result{Name: "ceiling (xor)", DType: name, Impl: kernel.Implementation(), Inputs: o.Deltas, Elems: o.Elems, Threads: th,
				BytesRead: set.bytesRead, Seconds: float64(set.bytesRead) / best / 1e9, GBps: best, CeilingGBps: best, Ratio: 1})
		}
	}
	return nil
}

func pick(labels []string) ([]Method, error) {
	if len(labels) == 0 {
		return Methods, nil
	}
	var out []Method
	for _, l := range labels {
		found := false
		for _, m := range Methods {
			if m.Label == l {
				out, found = append(out, m), true
			}
		}
		if !found {
			return nil, fmt.Errorf("bench: unknown method %q", l)
		}
	}
	return out, nil
}

// inputs are one dtype's base and deltas, each a safetensors file in memory,
// and the output buffer every run writes into.
type inputs struct {
	dt        safetensors.DType
	base      *merge.Model
	deltas    []*merge.Model
	bare      []*merge.Model // the same deltas without trim statistics
	raw       [][]byte       // the tensor's bytes: the base, then each delta
	out       []byte
	bytesRead int64
}

// benchBase stands in for the base's CID: the deltas' manifests name it.
const benchBase = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"

func newInputs(dt safetensors.DType, n int64, deltas int) (*inputs, error) {
	cols := int64(4096)
	for n%cols != 0 {
		cols /= 2
	}
	shape := []int64{n / cols, cols}
	s := &inputs{dt: dt, out: make([]byte, n*int64(dt.Size()))}
	touch(s.out)
	model := func(name string, seed uint64, scale float64, man *potluck.Manifest) (*merge.Model, *merge.Model, error) {
		// Tensors in different files start at different offsets within a
		// page (their headers differ in length); padding the metadata by
		// 1088 bytes (17 cache lines) per model keeps that here, where
		// every model would otherwise have the same header.
		var buf bytes.Buffer
		meta := map[string]string{"format": "pt", "pad": strings.Repeat(" ", 1088*len(s.raw))}
		w, err := safetensors.NewWriter(&buf, []safetensors.TensorSpec{{Name: tensorName, DType: dt, Shape: shape}}, meta)
		if err != nil {
			return nil, nil, err
		}
		data := randomTensor(dt, n, seed, scale)
		if _, err := w.Write(data); err != nil {
			return nil, nil, err
		}
		if err := w.Close(); err != nil {
			return nil, nil, err
		}
		files := map[string][]byte{"model.safetensors": buf.Bytes()}
		bare, err := merge.OpenModel(name, memSource(files))
		if err != nil {
			return nil, nil, err
		}
		if man != nil {
			b, err := man.Encode()
			if err != nil {
				return nil, nil, err
			}
			files[potluck.ManifestFile] = b
			if files[trimstats.FileName], err = statsOf(dt, data); err != nil {
				return nil, nil, err
			}
			if bare, err = merge.OpenModel(name, memSource(map[string][]byte{"model.safetensors": buf.Bytes(), potluck.ManifestFile: b})); err != nil {
				return nil, nil, err
			}
		}
		m, err := merge.OpenModel(name, memSource(files))
		if err != nil {
			return nil, nil, err
		}
		t, _ := m.Tensor(tensorName)
		s.raw = append(s.raw, buf.Bytes()[t.Start:t.End])
		s.bytesRead += t.Size()
		return m, bare, nil
	}
	var err error
	if s.base, _, err = model("base", 1, 0.02, nil); err != nil {
		return nil, err
	}
	for i := range deltas {
		man := &potluck.Manifest{Schema: potluck.ManifestSchema, Kind: potluck.KindDelta, Base: benchBase, Samples: int64(1000 * (i + 1))}
		d, bare, err := model(fmt.Sprintf("delta-%d", i), uint64(i+2), 0.001, man)
		if err != nil {
			return nil, err
		}
		s.deltas, s.bare = append(s.deltas, d), append(s.bare, bare)
	}
	return s, nil
}

// statsOf is a delta tensor's trim statistics, as its sidecar holds them.
func statsOf(dt safetensors.DType, data []byte) ([]byte, error) {
	h, err := trimstats.Compute(dt, data)
	if err != nil {
		return nil, err
	}
	st := trimstats.New()
	st.Add(tensorName, h)
	return st.MarshalBinary()
}

// randomTensor is n normal values of standard deviation scale in dt,
// generated on every core.
func randomTensor(dt safetensors.DType, n int64, seed uint64, scale float64) []byte {
	size := int64(dt.Size())
	out := make([]byte, n*size)
	const part = 1 << 20
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for off := int64(0); off < n; off += part {
		k := min(part, n-off)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := rand.New(rand.NewPCG(seed, uint64(off)))
			f := make([]float32, k)
			for i := range f {
				f[i] = float32(r.NormFloat64() * scale)
			}
			if err := safetensors.EncodeFloat32(out[off*size:(off+k)*size], f, dt); err != nil {
				panic(err) // a float dtype and matching lengths: cannot fail
			}
		}()
	}
	wg.Wait()
	return out
}

// touch writes every page of b, so no run pays for first-touch faults.
func touch(b []byte) {
	for i := 0; i < len(b); i += 4096 {
		b[i] = 0
	}
}

// xorPass is one XorN pass over the inputs into the output, on th
// goroutines taking 1 Mi-element blocks in turn, in seconds.
func (s *inputs) xorPass(th int) float64 {
	size := int64(s.dt.Size())
	n := int64(len(s.out)) / size
	const block = 1 << 20
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range th {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srcs := make([][]byte, len(s.raw))
			for from := next.Add(block) - block; from < n; from = next.Add(block) - block {
				to := min(from+block, n)
				for i, r := range s.raw {
					srcs[i] = r[from*size : to*size]
				}
				kernel.XorN(s.out[from*size:to*size], srcs)
			}
		}()
	}
	wg.Wait()
	return time.Since(start).Seconds()
}

// measure merges the tensor by m on th workers repeat times, each run after
// a ceiling pass at the same thread count (a noisy machine then slows both
// alike), and returns the fastest merge in seconds, the fastest ceiling in
// GB/s of input, and the kernels that ran.
func (s *inputs) measure(ctx context.Context, m Method, th, repeat int, scalar bool, chunk int) (float64, float64, string, error) {
	y := fmt.Sprintf("merge_method: %s\nbase_model: base\n", m.Name)
	if m.Top != "" {
		y += m.Top + "\n"
	}
	if m.Params != "" {
		y += "parameters:\n  " + strings.ReplaceAll(m.Params, "\n", "\n  ") + "\n"
	}
	y += "models:\n"
	for i := range s.deltas {
		y += fmt.Sprintf("  - model: delta-%d\n", i)
	}
	r, err := merge.ParseRecipe([]byte(y))
	if err != nil {
		return 0, 0, "", err
	}
	deltas := s.deltas
	if m.NoStats {
		deltas = s.bare
	}
	job := &merge.Job{Recipe: r, Base: s.base, BaseCID: benchBase, Deltas: deltas, Workers: th, ChunkElems: chunk}
	for i := range s.deltas {
		job.DeltaCIDs = append(job.DeltaCIDs, fmt.Sprintf("delta-%d", i))
	}
	impl := kernel.Implementation()
	if scalar {
		impl = "generic"
	}
	best, ceil := math.Inf(1), math.Inf(1)
	for r := range repeat + 1 { // the first run warms up
		c := s.xorPass(th) // the ceiling always at the best level
		w := &sliceWriter{b: s.out}
		restore := func() {}
		if scalar {
			restore = kernel.ForceGeneric()
		}
		start := time.Now()
		err := job.WriteTensor(ctx, tensorName, w)
		secs := time.Since(start).Seconds()
		restore()
		if err != nil {
			return 0, 0, "", err
		}
		if r > 0 {
			best, ceil = min(best, secs), min(ceil, c)
		}
		if got := int64(w.n) + w.touched.Load(); got != int64(len(s.out)) {
			return 0, 0, "", fmt.Errorf("wrote %d of %d bytes", got, len(s.out))
		}
	}
	return best, float64(s.bytesRead) / ceil / 1e9, impl, nil
}

// sliceWriter is the output in memory: the merge writes into it in place
// (merge.InPlaceWriter), as the ceiling kernel writes into it.
type sliceWriter struct {
	b       []byte
	n       int
	touched atomic.Int64
}

func (w *sliceWriter) SliceAt(off, n int64) []byte {
	w.touched.Add(n)
	return w.b[off : off+n : off+n]
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	if len(p) > len(w.b)-w.n {
		return 0, io.ErrShortWrite
	}
	w.n += copy(w.b[w.n:], p)
	return len(p), nil
}

// memSource is a model held in memory, by path.
type memSource map[string][]byte

func (m memSource) Files() ([]string, error) {
	var out []string
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

func (m memSource) Open(p string) (merge.ReaderAtCloser, int64, error) {
	b, ok := m[p]
	if !ok {
		return nil, 0, fmt.Errorf("bench: no file %s", p)
	}
	return memFile(b), int64(len(b)), nil
}

// memFile is a file in memory, read in place (merge.SliceReaderAt).
type memFile []byte

func (f memFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(f)) {
		return 0, io.EOF
	}
	n := copy(p, f[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f memFile) SliceAt(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off+n > int64(len(f)) {
		return nil, io.ErrUnexpectedEOF
	}
	return f[off : off+n : off+n], nil
}

func (f memFile) Close() error { return nil }
