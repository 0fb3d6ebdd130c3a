package merge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// diffAndApply makes the delta of ftDir over the fixture's base (with the
// layout record, as node.MakeDelta does) and applies it back, returning
// the delta's and the output's directories.
func diffAndApply(t *testing.T, f *fixture, ftDir string, opts merge.DiffOptions) (deltaDir, outDir string) {
	t.Helper()
	root := t.TempDir()
	deltaDir, outDir = filepath.Join(root, "delta"), filepath.Join(root, "out")
	for _, d := range []string{deltaDir, outDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base, ft := openDir(t, f.base), openDir(t, ftDir)
	if _, err := merge.Diff(context.Background(), base, ft, deltaDir, opts); err != nil {
		t.Fatal(err)
	}
	if err := merge.WriteLayout(base, ft, deltaDir); err != nil {
		t.Fatal(err)
	}
	if err := merge.Apply(context.Background(), base, openDir(t, deltaDir), outDir); err != nil {
		t.Fatal(err)
	}
	return deltaDir, outDir
}

// sameFiles requires got to hold exactly want's files, byte for byte.
func sameFiles(t *testing.T, want, got string) {
	t.Helper()
	if _, err := testmodel.SameFiles(want, got); err != nil {
		t.Error(err)
	}
}

// TestApplyBaseLayout: a fine-tune saved as its base was (same shards,
// headers, config, tokenizer, index) gives a delta with no layout record,
// and Apply over an exact delta gives back its files byte for byte.
func TestApplyBaseLayout(t *testing.T) {
	f := newFixture(t)
	ftDir := filepath.Join(t.TempDir(), "ft")
	finetune(t, f, ftDir)
	for p, c := range f.others {
		writeFile(t, filepath.Join(ftDir, p), c)
	}
	deltaDir, out := diffAndApply(t, f, ftDir, merge.DiffOptions{Exact: true})
	if _, err := os.Stat(filepath.Join(deltaDir, merge.LayoutDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the delta of a fine-tune in its base's layout has %s/ (%v); it should carry nothing more", merge.LayoutDir, err)
	}
	sameFiles(t, ftDir, out)
}

// TestApplyOwnLayout: a fine-tune saved its own way (one shard, tensors in
// another order with other metadata, a tensor's dtype changed, its config
// edited, the tokenizer left out, a file the base lacks) gives a delta
// carrying its layout and the files that are not the base's, and Apply
// gives back its files byte for byte.
func TestApplyOwnLayout(t *testing.T) {
	f := newFixture(t)
	ftDir := filepath.Join(t.TempDir(), "ft")
	fts := finetune(t, f, filepath.Join(t.TempDir(), "shards"))
	emb := fts[embed]
	emb.DType = safetensors.F32 // trained in f32 from a bf16 base
	ts := []tensor{fts[norm], fts[head], fts[posIDs], emb}
	specs := make([]safetensors.TensorSpec, len(ts))
	for i, td := range ts {
		specs[i] = safetensors.TensorSpec{Name: td.Name, DType: td.DType, Shape: td.Shape}
	}
	var shard bytes.Buffer
	w, err := safetensors.NewWriter(&shard, specs, map[string]string{"format": "pt", "trained_by": "lab-c"})
	if err != nil {
		t.Fatal(err)
	}
	for _, td := range ts {
		w.Write(encode(t, td))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ftDir, single), shard.String())
	writeFile(t, filepath.Join(ftDir, "config.json"), `{"model_type": "potluck-test", "torch_dtype": "float32"}`+"\n")
	writeFile(t, filepath.Join(ftDir, "generation_config.json"), `{"temperature": 0.7}`+"\n")
	writeFile(t, filepath.Join(ftDir, "potluck.json"), "a stale manifest: not part of the model\n")

	deltaDir, out := diffAndApply(t, f, ftDir, merge.DiffOptions{Exact: true})
	var l merge.Layout
	b, err := os.ReadFile(filepath.Join(deltaDir, filepath.FromSlash(merge.LayoutFile)))
	if err != nil {
		t.Fatalf("the delta of a fine-tune in its own layout has no %s: %v", merge.LayoutFile, err)
	}
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	if want := []string{"config.json", "generation_config.json", single}; !slices.Equal(l.Files, want) {
		t.Errorf("layout files %v, want %v", l.Files, want)
	}
	if len(l.Shards) != 1 || l.Shards[0].Path != single || l.Shards[0].Size != int64(shard.Len()) {
		t.Errorf("layout shards %+v, want %s of %d bytes", l.Shards, single, shard.Len())
	}
	carried, err := testmodel.ReadFiles(filepath.Join(deltaDir, merge.LayoutDir))
	if err != nil {
		t.Fatal(err)
	}
	delete(carried, "layout.json")
	if got := slices.Sorted(func(yield func(string) bool) {
		for p := range carried {
			yield(p)
		}
	}); !slices.Equal(got, []string{"config.json", "generation_config.json"}) {
		t.Errorf("the delta carries %v under %s/, want the edited config and the new file", got, merge.LayoutDir)
	}
	os.Remove(filepath.Join(ftDir, "potluck.json")) // not rebuilt: not part of the model
	sameFiles(t, ftDir, out)
}

// TestApplyDefaultDelta: over a delta in the base's dtypes (not exact),
// every value comes back within one ulp, in the fine-tune's dtype, of the
// larger of the fine-tune's value and the delta's.
func TestApplyDefaultDelta(t *testing.T) {
	f := newFixture(t)
	ftDir := filepath.Join(t.TempDir(), "ft")
	fts := finetune(t, f, ftDir)
	_, out := diffAndApply(t, f, ftDir, merge.DiffOptions{})
	got := readTensors(t, out)
	for name, ft := range fts {
		g := got[name]
		if g.DType != ft.DType {
			t.Errorf("%s: dtype %s, want %s", name, g.DType, ft.DType)
			continue
		}
		if !ft.DType.IsFloat() {
			if !bytes.Equal(g.Raw, encode(t, ft)) {
				t.Errorf("%s: integer tensor changed", name)
			}
			continue
		}
		vals := decode(t, g.DType, g.Raw)
		for i, want := range ft.Vals {
			d := want - f.tensors[name].Vals[i]
			bound := ulp(t, ft.DType, math.Max(math.Abs(want), math.Abs(d)))
			if diff := math.Abs(vals[i] - want); diff > bound {
				t.Errorf("%s[%d]: %v, the fine-tune has %v: off by %g, bound %g", name, i, vals[i], want, diff, bound)
			}
		}
	}
}

// TestDiffExactRefusesWhatItCannotHold: a bf16 element moved 20 binades
// has no exact F32 delta: Exact refuses it, naming the element; in F64 it
// is exact, and Apply gives it back.
func TestDiffExactRefusesWhatItCannotHold(t *testing.T) {
	f := newFixture(t)
	ftDir := filepath.Join(t.TempDir(), "ft")
	fts := map[string][]tensor{}
	for _, name := range []string{embed, posIDs, norm, head} { // the base's order
		td := f.tensors[name]
		if name == embed {
			td.Vals = slices.Clone(td.Vals)
			td.Vals[5] = math.Ldexp(td.Vals[5], -20) // 20 binades down
		}
		fts[f.shardOf[name]] = append(fts[f.shardOf[name]], td)
	}
	writeModel(t, ftDir, fts)
	base, ft := openDir(t, f.base), openDir(t, ftDir)
	_, err := merge.Diff(context.Background(), base, ft, t.TempDir(), merge.DiffOptions{Exact: true})
	wantErr(t, err, merge.ErrInexact, `tensor "model.embed_tokens.weight": element 5:`, "(20 binades apart)", "in F32 gives", "a wider delta dtype (F64)")
	t.Log(err)

	_, out := diffAndApply(t, f, ftDir, merge.DiffOptions{Exact: true, DType: safetensors.F64})
	got := readTensors(t, out)[embed]
	want := encode(t, fts[f.shardOf[embed]][0])
	if !bytes.Equal(got.Raw, want) {
		t.Errorf("with an F64 delta, %s comes back %x, want %x", embed, got.Raw, want)
	}
}
