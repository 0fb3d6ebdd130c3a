package merge_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// A tensor longer than one chunk merges correctly across the boundary, with
// deltas whose dtypes (F32, BF16) differ from each other's element size.
func TestChunkBoundary(t *testing.T) {
	n := merge.ChunkElems + 123
	shape := []int64{int64(n)}
	root := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 5))
	f32, bf := safetensors.F32, safetensors.BF16
	base := filepath.Join(root, "base")
	bt := tensor{Name: "big", DType: f32, Shape: shape, Vals: randVals(t, rng, n, f32, 1, 0)}
	writeModel(t, base, map[string][]tensor{"model.safetensors": {bt}})
	baseCID := hashDir(t, base)
	d0 := tensor{Name: "big", DType: f32, Shape: shape, Vals: randVals(t, rng, n, f32, 0.1, 0)}
	d1 := tensor{Name: "big", DType: bf, Shape: shape, Vals: randVals(t, rng, n, bf, 0.1, 0)}
	writeDelta(t, filepath.Join(root, "d0"), baseCID, map[string][]tensor{"model.safetensors": {d0}})
	writeDelta(t, filepath.Join(root, "d1"), baseCID, map[string][]tensor{"model.safetensors": {d1}})
	r := recipe{Method: "task_arithmetic", Base: base, Params: "lambda: 0.7",
		Models: []string{filepath.Join(root, "d0"), filepath.Join(root, "d1")}, Weights: []float64{1, -0.5}}

	t.Run("merge", func(t *testing.T) {
		out := outDir(t)
		if _, err := runRecipe(r.yaml(), out); err != nil {
			t.Fatal(err)
		}
		raw := readTensors(t, out)["big"].Raw
		ref, mag := taskArithmetic(bt.Vals, 0.7, r.Weights, [][]float64{d0.Vals, d1.Vals})
		// The elements on either side of the boundary and the last one,
		// named in the messages, then every element.
		for _, i := range []int{0, merge.ChunkElems - 2, merge.ChunkElems - 1, merge.ChunkElems, merge.ChunkElems + 1, n - 1} {
			checkValues(t, fmt.Sprintf("big[%d:]", i), f32, raw[4*i:4*i+4], ref[i:i+1], mag[i:i+1], taskOps(2), true)
		}
		if bad := checkValues(t, "big", f32, raw, ref, mag, taskOps(2), false); bad > 0 {
			t.Errorf("%d of %d elements break the bound", bad, n)
		}
	})

	t.Run("NaN in the second chunk", func(t *testing.T) {
		at := merge.ChunkElems + 5
		nan := tensor{Name: "big", DType: f32, Shape: shape, Vals: make([]float64, n)}
		nan.Vals[at] = math.NaN()
		dir := filepath.Join(t.TempDir(), "nan")
		writeDelta(t, dir, baseCID, map[string][]tensor{"model.safetensors": {nan}})
		r := r
		r.Models = []string{r.Models[0], dir}
		out := outDir(t)
		_, err := runRecipe(r.yaml(), out)
		wantErr(t, err, merge.ErrIncompatible, `"big"`, fmt.Sprintf("element %d ", at), "NaN")
		checkNoOutput(t, out)
	})
}
