package merge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// WriteTensor streams exactly the bytes Run writes for each tensor, with
// one worker and with several sharing its segments.
func TestWriteTensorMatchesRun(t *testing.T) {
	defer func(prev []methodTensor) { methodTensors = prev }(methodTensors)
	methodTensors = append(methodTensors[:len(methodTensors):len(methodTensors)], methodTensor{"model.layers.1.self_attn.q_proj.weight", "BF16", []int64{32, 40}, 1})
	for _, mc := range methodCases {
		t.Run(mc.method+"/"+mc.global, func(t *testing.T) {
			f := mc.fixture(t)
			out := outDir(t)
			runJob(t, mc.yaml(f), out, 1, 0, 0)
			got, err := merge.OpenDir(out)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			r, err := merge.ParseRecipe([]byte(mc.yaml(f)))
			if err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{1, 3} {
				job, err := merge.OpenLocal(r)
				if err != nil {
					t.Fatal(err)
				}
				job.Workers, job.ChunkElems, job.SegmentElems = workers, 64, 128
				for _, name := range got.Names() {
					want, _ := got.Tensor(name)
					wb, err := io.ReadAll(want.Section())
					if err != nil {
						t.Fatal(err)
					}
					var buf bytes.Buffer
					if err := job.WriteTensor(context.Background(), name, &buf); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if !bytes.Equal(buf.Bytes(), wb) {
						t.Errorf("workers %d: tensor %s: WriteTensor's %d bytes differ from Run's %d", workers, name, buf.Len(), len(wb))
					}
					mem := &memOut{b: make([]byte, len(wb))}
					if err := job.WriteTensor(context.Background(), name, mem); err != nil {
						t.Fatalf("%s in place: %v", name, err)
					}
					if !bytes.Equal(append(mem.b[:0:0], mem.b...), wb) {
						t.Errorf("workers %d: tensor %s: written in place, the bytes differ from Run's", workers, name)
					}
				}
				if err := job.WriteTensor(context.Background(), "no.such.tensor", io.Discard); err == nil {
					t.Error("WriteTensor of a tensor the base lacks: no error")
				}
				job.Close()
			}
		})
	}
}

// A NaN in a late segment of a tensor merged by several goroutines stops
// the merge with the element named, through the fused path and the
// general one, and leaves no output.
func TestSegmentNaNNamed(t *testing.T) {
	const big = "model.layers.1.self_attn.q_proj.weight"
	defer func(prev []methodTensor) { methodTensors = prev }(methodTensors)
	methodTensors = append(methodTensors[:len(methodTensors):len(methodTensors)], methodTensor{big, "BF16", []int64{32, 40}, 1})
	defer func() { sameDTypes = false }()
	sameDTypes = true
	f := newMethodFixture(t, 2, []float64{1})
	vals := make([]float64, 32*40)
	for i := range vals {
		vals[i] = float64(i%13) / 16
	}
	vals[1000] = math.NaN()
	for _, dt := range []safetensors.DType{"BF16", "F16"} { // the raw-key histograms' fallback too
		bad := filepath.Join(t.TempDir(), "bad-"+string(dt))
		writeDelta(t, bad, hashDir(t, f.base), map[string][]tensor{"model.safetensors": {{Name: big, DType: dt, Shape: []int64{32, 40}, Vals: vals}}})
		segmentNaN(t, f, bad, big)
	}
}

func segmentNaN(t *testing.T, f *methodFixture, bad, big string) {
	for _, method := range []string{"task_arithmetic", "ties"} {
		for _, fused := range []bool{true, false} {
			y := fmt.Sprintf("merge_method: %s\nbase_model: %s\nparameters:\n  density: 0.5\nmodels:\n  - model: %s\n  - model: %s\n", method, f.base, f.deltas[0], bad)
			if method == "task_arithmetic" {
				y = strings.Replace(y, "density: 0.5", "lambda: 0.5", 1)
			}
			r, err := merge.ParseRecipe([]byte(y))
			if err != nil {
				t.Fatal(err)
			}
			job, err := merge.OpenLocal(r)
			if err != nil {
				t.Fatal(err)
			}
			job.Workers, job.ChunkElems, job.SegmentElems = 3, 64, 128
			restore := func() {}
			if !fused {
				restore = merge.DisableFused()
			}
			out := outDir(t)
			_, err = merge.Run(context.Background(), job, out)
			restore()
			job.Close()
			wantErr(t, err, merge.ErrIncompatible, `"`+big+`"`, "element 1000 ", "NaN")
			checkNoOutput(t, out)
		}
	}
}

// memOut is an output in memory the merge writes into in place, or (for
// tensors it copies) through Write.
type memOut struct {
	b []byte
	n int
}

func (m *memOut) Write(p []byte) (int, error) {
	m.n += copy(m.b[m.n:], p)
	return len(p), nil
}

func (m *memOut) SliceAt(off, n int64) []byte { return m.b[off : off+n] }

// A job whose plan fails for a late tensor keeps no half-made plan:
// WriteTensor after the failed Run reports the same error.
func TestWriteTensorAfterFailedRun(t *testing.T) {
	f := newMethodFixture(t, 2, []float64{1})
	y := fmt.Sprintf("merge_method: della\nbase_model: %q\nparameters:\n  density: [0.5, 0.1]\n  epsilon: 0.2\nmodels:\n  - model: %q\n  - model: %q\n", f.base, f.deltas[0], f.deltas[1])
	r, err := merge.ParseRecipe([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	job, err := merge.OpenLocal(r)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	out := outDir(t)
	_, err = merge.Run(context.Background(), job, out)
	wantErr(t, err, merge.ErrRecipe, "density 0.1 ± epsilon 0.2")
	err = job.WriteTensor(context.Background(), f.tensors[0].Name, io.Discard)
	wantErr(t, err, merge.ErrRecipe, "density 0.1 ± epsilon 0.2")
}

// A row-wise method (della) gives each tensor a chunk of whole rows, which
// grows the engine's buffers for long rows; a helper engine that shares a
// later tensor's segments takes the same chunk, so its buffers must hold
// it too (they were sized by its own, shorter rows).
func TestSegmentsAfterLongRows(t *testing.T) {
	const long, big = "model.layers.0.long.weight", "model.layers.1.self_attn.q_proj.weight"
	defer func(prev []methodTensor) { methodTensors = prev }(methodTensors)
	methodTensors = append(slices.Clip(methodTensors), methodTensor{long, "F32", []int64{1, 100}, 0}, methodTensor{big, "BF16", []int64{128, 40}, 1})
	f := newMethodFixture(t, 1, []float64{1})
	y := fmt.Sprintf("merge_method: della_linear\nbase_model: %q\nseed: 3\nparameters: {density: 0.5}\nmodels: [{model: %q}]\n", f.base, f.deltas[0])
	out := outDir(t)
	runJob(t, y, out, 1, 0, 0)
	want := readTensors(t, out)
	r, err := merge.ParseRecipe([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	job, err := merge.OpenLocal(r)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	job.Workers, job.ChunkElems, job.SegmentElems = 3, 64, 128
	for _, name := range []string{long, big} { // long rows first: the engine grows
		var buf bytes.Buffer
		if err := job.WriteTensor(context.Background(), name, &buf); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(buf.Bytes(), want[name].Raw) {
			t.Errorf("%s: WriteTensor's bytes differ from Run's", name)
		}
	}
}
