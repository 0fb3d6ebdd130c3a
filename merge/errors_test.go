package merge_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// Bad inputs give an error that says what is wrong, and leave no output.
func TestRunRejects(t *testing.T) {
	f := newFixture(t)
	good := func() recipe {
		return recipe{Method: "task_arithmetic", Base: f.base, Params: "lambda: 0.7", Models: f.dirs(), Weights: weights}
	}
	// withDelta is the good recipe with delta 1 replaced by a delta made of ts
	// for the base whose CID is baseCID.
	withDelta := func(t *testing.T, baseCID string, ts ...tensor) string {
		dir := filepath.Join(t.TempDir(), "bad-delta")
		writeDelta(t, dir, baseCID, map[string][]tensor{"model.safetensors": ts})
		r := good()
		r.Models[1] = dir
		return r.yaml()
	}
	vals := func(n int, special map[int]float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(i) / 8
		}
		for i, x := range special {
			v[i] = x
		}
		return v
	}
	other := filepath.Join(t.TempDir(), "other-base")
	copyDir(t, f.base, other, func(p string) bool { return p != "config.json" })
	otherCID := hashDir(t, other)

	for _, tc := range []struct {
		name   string
		yaml   func(t *testing.T) string
		target error
		parts  []string
	}{{
		name: "delta tensor shape differs",
		yaml: func(t *testing.T) string {
			return withDelta(t, f.baseCID, tensor{Name: embed, DType: safetensors.BF16, Shape: []int64{5, 3}, Vals: vals(15, nil)})
		},
		target: merge.ErrIncompatible, parts: []string{`"` + embed + `"`, "[5 3]", "[3 5]"},
	}, {
		name: "delta tensor not in the base",
		yaml: func(t *testing.T) string {
			return withDelta(t, f.baseCID, tensor{Name: "model.extra.weight", DType: safetensors.F32, Shape: []int64{2}, Vals: vals(2, nil)})
		},
		target: merge.ErrIncompatible, parts: []string{`"model.extra.weight"`},
	}, {
		name: "delta of an integer tensor",
		yaml: func(t *testing.T) string {
			return withDelta(t, f.baseCID, tensor{Name: posIDs, DType: safetensors.I64, Shape: []int64{2}, Ints: []int64{1, 2}})
		},
		target: merge.ErrIncompatible, parts: []string{`"` + posIDs + `"`},
	}, {
		name: "delta made for another base",
		yaml: func(t *testing.T) string {
			return withDelta(t, otherCID, tensor{Name: norm, DType: safetensors.F32, Shape: []int64{7}, Vals: vals(7, nil)})
		},
		target: merge.ErrIncompatible, parts: []string{otherCID, f.baseCID},
	}, {
		name: "NaN in a delta",
		yaml: func(t *testing.T) string {
			return withDelta(t, f.baseCID, tensor{Name: norm, DType: safetensors.F32, Shape: []int64{7}, Vals: vals(7, map[int]float64{5: math.NaN()})})
		},
		target: merge.ErrIncompatible, parts: []string{`"` + norm + `"`, "element 5 ", "NaN"},
	}, {
		// model_stock's gram pass takes dense float32 deltas on their
		// encoded bytes; a value that is not finite is still named.
		name: "NaN in a delta under model_stock",
		yaml: func(t *testing.T) string {
			y := withDelta(t, f.baseCID, tensor{Name: norm, DType: safetensors.F32, Shape: []int64{7}, Vals: vals(7, map[int]float64{5: math.NaN()})})
			return strings.Replace(y, "task_arithmetic", "model_stock", 1)
		},
		target: merge.ErrIncompatible, parts: []string{"bad-delta", `"` + norm + `"`, "element 5 ", "NaN"},
	}, {
		name: "Inf in a delta",
		yaml: func(t *testing.T) string {
			return withDelta(t, f.baseCID, tensor{Name: head, DType: safetensors.F16, Shape: []int64{4}, Vals: vals(4, map[int]float64{2: math.Inf(-1)})})
		},
		target: merge.ErrIncompatible, parts: []string{`"` + head + `"`, "element 2 ", "Inf"},
	}, {
		name:   "unknown merge_method",
		yaml:   func(*testing.T) string { r := good(); r.Method = "slerp_ties"; return r.yaml() },
		target: merge.ErrRecipe, parts: []string{`"slerp_ties"`, "dare_ties"},
	}, {
		name:   "unknown model parameter",
		yaml:   func(*testing.T) string { return strings.Replace(good().yaml(), "weight: 1\n", "densty: 0.5\n", 1) },
		target: merge.ErrRecipe, parts: []string{`"densty"`, "models[0]"},
	}, {
		name:   "unknown global parameter",
		yaml:   func(*testing.T) string { r := good(); r.Params = "rescal: true"; return r.yaml() },
		target: merge.ErrRecipe, parts: []string{`"rescal"`},
	}, {
		name:   "unknown top-level field",
		yaml:   func(*testing.T) string { return good().yaml() + "chat_templat: chatml\n" },
		target: merge.ErrRecipe, parts: []string{"chat_templat"},
	}, {
		name: "linear weights sum to 0 with normalize",
		yaml: func(*testing.T) string {
			r := recipe{Method: "linear", Base: f.base, Params: "normalize: true", Models: f.dirs()[:2], Weights: []float64{0.5, -0.5}}
			return r.yaml()
		},
		target: merge.ErrRecipe, parts: []string{"sum to 0"},
	}, {
		name:   "weight is not finite",
		yaml:   func(*testing.T) string { return strings.Replace(good().yaml(), "weight: 1\n", "weight: .nan\n", 1) },
		target: merge.ErrRecipe, parts: []string{`"weight"`},
	}, {
		name:   "lambda is not a number",
		yaml:   func(*testing.T) string { r := good(); r.Params = "lambda: lots"; return r.yaml() },
		target: merge.ErrRecipe, parts: []string{`"lambda"`, "lots"},
	}, {
		name:   "unsupported out_dtype",
		yaml:   func(*testing.T) string { r := good(); r.OutDtype = "int8"; return r.yaml() },
		target: merge.ErrRecipe, parts: []string{`"int8"`},
	}, {
		name: "model is not a model directory",
		yaml: func(t *testing.T) string {
			dir := filepath.Join(t.TempDir(), "notes")
			writeFile(t, filepath.Join(dir, "README.md"), "no weights here")
			r := good()
			r.Models[2] = dir
			return r.yaml()
		},
		target: nil, parts: []string{"models[2]", "notes", "no .safetensors file"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out := outDir(t)
			_, err := runRecipe(tc.yaml(t), out)
			wantErr(t, err, tc.target, tc.parts...)
			checkNoOutput(t, out)
		})
	}
}

// A run into an existing directory fails and leaves that directory alone.
func TestRunOutputExists(t *testing.T) {
	f := newFixture(t)
	out := outDir(t)
	writeFile(t, filepath.Join(out, "keep.txt"), "mine")
	r := recipe{Method: "task_arithmetic", Base: f.base, Models: f.dirs()}
	_, err := runRecipe(r.yaml(), out)
	wantErr(t, err, nil, out, "exists")
	files := readAll(t, out)
	if len(files) != 1 || string(files["keep.txt"]) != "mine" {
		t.Errorf("existing output changed: %q", files)
	}
	entries, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the output's parent holds %d entries, want only the existing output", len(entries))
	}
}

// A canceled run leaves no output.
func TestRunCanceled(t *testing.T) {
	f := newFixture(t)
	r, err := merge.ParseRecipe([]byte(recipe{Method: "task_arithmetic", Base: f.base, Models: f.dirs()}.yaml()))
	if err != nil {
		t.Fatal(err)
	}
	job, err := merge.OpenLocal(r)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := outDir(t)
	if _, err := merge.Run(ctx, job, out); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a canceled context: %v, want context.Canceled", err)
	}
	checkNoOutput(t, out)
}
