package merge_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/potluck-hub/potluck/safetensors"
)

// Float32 roundings before the output's own, per method with n inputs (see
// checkValues): task_arithmetic rounds n products, n sums, λ, λ·acc and
// θ₀ + λ·acc; linear rounds per input θ₀ + δᵢ, wᵢ/Σw, the product and the sum.
func taskOps(n int) int   { return 2*n + 3 }
func linearOps(n int) int { return 4 * n }

func TestTaskArithmetic(t *testing.T) {
	f := newFixture(t)
	out := outDir(t)
	r := recipe{Method: "task_arithmetic", Base: f.base, Params: "lambda: 0.7", Models: f.dirs(), Weights: weights}
	man, err := runRecipe(r.yaml(), out)
	if err != nil {
		t.Fatal(err)
	}
	got := readTensors(t, out)
	for _, name := range floatNames {
		bt := f.tensors[name]
		ref, mag := taskArithmetic(bt.Vals, 0.7, weights, f.deltaVals(name))
		checkTensor(t, got, name, bt.DType, bt.Shape, single)
		checkValues(t, name, bt.DType, got[name].Raw, ref, mag, taskOps(3), true)
	}
	checkIntsCopied(t, f, got)
	checkOthersCopied(t, f, out)
	checkManifest(t, out, man, f, "task_arithmetic")

	// The bound is tight enough to see each input: a merge that ignored λ or
	// any one delta breaks it.
	e := f.tensors[embed]
	wrong := map[string][]float64{}
	wrong["λ = 1"], _ = taskArithmetic(e.Vals, 1, weights, f.deltaVals(embed))
	for k := range f.deltas {
		ds := f.deltaVals(embed)
		ds[k] = nil
		wrong[fmt.Sprintf("without delta %d", k)], _ = taskArithmetic(e.Vals, 0.7, weights, ds)
	}
	_, mag := taskArithmetic(e.Vals, 0.7, weights, f.deltaVals(embed))
	for what, ref := range wrong {
		if checkValues(t, embed, e.DType, got[embed].Raw, ref, mag, taskOps(3), false) == 0 {
			t.Errorf("the output also matches the reference %s: the bound cannot tell them apart", what)
		}
	}
}

func TestLinear(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name      string
		params    string
		normalize bool
	}{
		{"normalize", "normalize: true", true},
		{"default normalizes", "", true},
		{"no normalize", "normalize: false", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := outDir(t)
			r := recipe{Method: "linear", Base: f.base, Params: tc.params, Models: f.dirs(), Weights: weights}
			man, err := runRecipe(r.yaml(), out)
			if err != nil {
				t.Fatal(err)
			}
			got := readTensors(t, out)
			for _, name := range floatNames {
				bt := f.tensors[name]
				ref, mag := linear(bt.Vals, weights, tc.normalize, f.deltaVals(name))
				checkTensor(t, got, name, bt.DType, bt.Shape, single)
				checkValues(t, name, bt.DType, got[name].Raw, ref, mag, linearOps(3), true)
				other, _ := linear(bt.Vals, weights, !tc.normalize, f.deltaVals(name))
				if checkValues(t, name, bt.DType, got[name].Raw, other, mag, linearOps(3), false) == 0 {
					t.Errorf("tensor %s also matches the reference with normalize=%v", name, !tc.normalize)
				}
			}
			checkIntsCopied(t, f, got)
			checkManifest(t, out, man, f, "linear")
		})
	}
}

func TestOutDtypeFloat32(t *testing.T) {
	f := newFixture(t)
	out := outDir(t)
	r := recipe{Method: "task_arithmetic", Base: f.base, Params: "lambda: 0.7", Models: f.dirs(), Weights: weights, OutDtype: "float32"}
	man, err := runRecipe(r.yaml(), out)
	if err != nil {
		t.Fatal(err)
	}
	got := readTensors(t, out)
	for _, name := range floatNames {
		bt := f.tensors[name]
		ref, mag := taskArithmetic(bt.Vals, 0.7, weights, f.deltaVals(name))
		checkTensor(t, got, name, safetensors.F32, bt.Shape, single)
		checkValues(t, name, safetensors.F32, got[name].Raw, ref, mag, taskOps(3), true)
	}
	checkIntsCopied(t, f, got)
	checkManifest(t, out, man, f, "task_arithmetic")
	for _, mt := range man.Tensors {
		if want := map[bool]string{true: "F32", false: "I64"}[mt.Name != posIDs]; mt.DType != want {
			t.Errorf("manifest: tensor %s has dtype %s, want %s", mt.Name, mt.DType, want)
		}
	}
}

// The same recipe over copies of the inputs in other directories gives the
// same bytes: the output depends on the inputs' content, not their paths.
func TestRunDeterministic(t *testing.T) {
	f := newFixture(t)
	r := recipe{Method: "task_arithmetic", Base: f.base, Params: "lambda: 0.7", Models: f.dirs(), Weights: weights}
	out1 := outDir(t)
	if _, err := runRecipe(r.yaml(), out1); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	all := func(string) bool { return true }
	r.Base = filepath.Join(elsewhere, "b")
	copyDir(t, f.base, r.Base, all)
	for i, d := range f.deltas {
		r.Models[i] = filepath.Join(elsewhere, "d"+filepath.Base(d.dir))
		copyDir(t, d.dir, r.Models[i], all)
	}
	out2 := outDir(t)
	if _, err := runRecipe(r.yaml(), out2); err != nil {
		t.Fatal(err)
	}
	files1, files2 := readAll(t, out1), readAll(t, out2)
	if !slices.Equal(keys(files1), keys(files2)) {
		t.Fatalf("outputs hold different files: %v and %v", keys(files1), keys(files2))
	}
	for p, b := range files1 {
		if !bytes.Equal(b, files2[p]) {
			t.Errorf("%s differs between the two runs", p)
		}
	}
	if c1, c2 := hashDir(t, out1), hashDir(t, out2); c1 != c2 {
		t.Errorf("CIDs differ: %s and %s", c1, c2)
	}
}
