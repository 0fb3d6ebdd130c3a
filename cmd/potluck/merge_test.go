package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/store"
)

// mergeFixture is a base and four fine-tunes of it, and a recipe file.
type mergeFixture struct {
	dir    string
	base   string
	tuned  []string
	recipe string
}

func newMergeFixture(t *testing.T) *mergeFixture {
	f := &mergeFixture{dir: t.TempDir()}
	f.base = filepath.Join(f.dir, "base")
	v := testmodel.Variant{Spec: testmodel.Spec{Layers: 2, Hidden: 16, Vocab: 32, Shards: 1}}
	if err := testmodel.WriteVariant(f.base, 1, v); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		d := filepath.Join(f.dir, fmt.Sprintf("tuned%d", i))
		if err := testmodel.Perturb(f.base, d, uint64(i+2), 0.05); err != nil {
			t.Fatal(err)
		}
		f.tuned = append(f.tuned, d)
	}
	f.recipe = filepath.Join(f.dir, "recipe.yml")
	return f
}

func (f *mergeFixture) write(t *testing.T, yaml string) string {
	t.Helper()
	r := strings.NewReplacer("BASE", f.base, "T0", f.tuned[0], "T1", f.tuned[1], "T2", f.tuned[2], "T3", f.tuned[3])
	if err := os.WriteFile(f.recipe, []byte(r.Replace(yaml)), 0o644); err != nil {
		t.Fatal(err)
	}
	return f.recipe
}

func cidOf(t *testing.T, dir string) string {
	t.Helper()
	c, err := store.HashDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

const taRecipe = "merge_method: task_arithmetic\nbase_model: BASE\nmodels:\n  - model: T0\n    parameters: {weight: 0.5}\n"

// OUT is an argument, as mergekit-yaml takes it, or --out.
func TestMergeOutput(t *testing.T) {
	f := newMergeFixture(t)
	recipe := f.write(t, taRecipe)
	a, b := filepath.Join(f.dir, "a"), filepath.Join(f.dir, "b")
	stdout, stderr, err := run(t, "merge", recipe, a)
	if err != nil || stdout != cidOf(t, a)+"\t"+a+"\n" || stderr != "" {
		t.Fatalf("merge RECIPE OUT: %v, printed %q and %q", err, stdout, stderr)
	}
	if _, _, err := run(t, "merge", recipe, "--out", b); err != nil || cidOf(t, b) != cidOf(t, a) {
		t.Errorf("merge RECIPE --out OUT: %v", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{recipe}, "give the output directory: potluck merge RECIPE OUT (or --out OUT)"},
		{[]string{recipe, a, "--out", b}, fmt.Sprintf("two output directories: %s and --out %s", a, b)},
	} {
		if _, _, err := run(t, append([]string{"merge"}, tc.args...)...); err == nil || err.Error() != tc.want {
			t.Errorf("merge %v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// --shard-size takes units; --out-shard-size is mergekit's K/M/B.
func TestMergeShardSize(t *testing.T) {
	f := newMergeFixture(t)
	recipe := f.write(t, taRecipe)
	shards := func(dir string) int {
		m, err := filepath.Glob(filepath.Join(dir, "model-*-of-*.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		return len(m)
	}
	for i, flag := range [][]string{{"--shard-size", "2KiB"}, {"--shard-size", "2048"}, {"--out-shard-size", "2K"}} {
		out := filepath.Join(f.dir, fmt.Sprint("out", i))
		if _, _, err := run(t, append([]string{"merge", recipe, out}, flag...)...); err != nil {
			t.Fatalf("%v: %v", flag, err)
		}
		if n := shards(out); n < 4 {
			t.Errorf("%v: %d shards, want several", flag, n)
		}
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--shard-size", "5 gigs"}, `--shard-size "5 gigs": want a number of bytes with an optional unit: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB (5GB, 500MiB)`},
		{[]string{"--out-shard-size", "5G"}, `--out-shard-size "5G": want a number with an optional K, M or B (thousands, millions, billions), as mergekit takes it (5B)`},
		{[]string{"--out-shard-size", "5B", "--shard-size", "5GB"}, "give --shard-size or --out-shard-size, not both"},
		{[]string{"--shard-size", "0"}, `--shard-size "0": want at least one byte and less than 4 EiB`},
	} {
		if _, _, err := run(t, append([]string{"merge", recipe, filepath.Join(f.dir, "bad")}, tc.flags...)...); err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v, want %q", tc.flags, err, tc.want)
		}
	}
}

// mergekit's options work where they mean something, and fail saying why
// where they do not.
func TestMergeMergekitFlags(t *testing.T) {
	f := newMergeFixture(t)
	recipe := f.write(t, "merge_method: dare_ties\nbase_model: BASE\nparameters: {density: 0.5}\nmodels:\n  - model: T0\n    parameters: {weight: 0.5, t: 0.3}\n")
	out := filepath.Join(f.dir, "out")
	_, stderr, err := run(t, "merge", recipe, out, "--random-seed", "9", "--allow-crimes", "--no-copy-tokenizer", "--copy-tokenizer",
		"--no-cuda", "--lazy-unpickle=false", "-v", "-j", "2", "--safe-serialization")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("potluck: warning: models[0] (%s).parameters: parameter \"t\" is ignored: dare_ties does not read it (it takes density, weight)\n", f.tuned[0]); stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	man, err := potluck.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Seed *uint64 }
	if json.Unmarshal(man.Merge.Recipe, &rec); rec.Seed == nil || *rec.Seed != 9 {
		t.Errorf("recorded recipe %s: want seed 9", man.Merge.Recipe)
	}
	if _, err := os.Stat(filepath.Join(out, "tokenizer.json")); err == nil {
		t.Error("--no-copy-tokenizer: the output has tokenizer.json")
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--cuda"}, "--cuda is mergekit's, and means nothing here: potluck merges on the CPU with SIMD kernels; it has no GPU path"},
		{[]string{"--lazy-unpickle"}, "--lazy-unpickle is mergekit's, and means nothing here: potluck reads only safetensors: nothing is unpickled"},
		{[]string{"--trust-remote-code"}, "--trust-remote-code is mergekit's, and means nothing here: potluck never runs a model's code: it reads tensors and JSON only"},
		{[]string{"--lora-merge-cache", "/tmp/x"}, "--lora-merge-cache is mergekit's, and means nothing here: a model+lora reference is applied as its tensors are read; nothing is cached"},
		{[]string{"--write-threads", "4"}, "--write-threads is mergekit's, and means nothing here: tensors are written as they are merged; --workers sets how many at a time"},
		{[]string{"--no-safe-serialization"}, "--no-safe-serialization is mergekit's, and means nothing here: potluck writes safetensors only"},
	} {
		if _, _, err := run(t, append([]string{"merge", recipe, filepath.Join(f.dir, "bad")}, tc.flags...)...); err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v, want %q", tc.flags, err, tc.want)
		}
	}
	f.write(t, "merge_method: dare_ties\nseed: 7\nbase_model: BASE\nmodels:\n  - model: T0\n")
	if _, _, err := run(t, "merge", recipe, filepath.Join(f.dir, "bad"), "--random-seed", "9"); err == nil || err.Error() != "--random-seed 9: the recipe gives seed 7" {
		t.Errorf("a seed that contradicts the recipe's: %v", err)
	}
}

// mergekit's multi-stage document (docs/multimerge.md): named stages, a
// final unnamed one, each reading earlier outputs by name.
func TestMergeStages(t *testing.T) {
	f := newMergeFixture(t)
	recipe := f.write(t, `name: first-merge
merge_method: linear
models:
  - model: T0
  - model: T1
parameters:
  weight: 0.5
---
name: second-merge
merge_method: slerp
base_model: first-merge
models:
  - model: T2
parameters:
  t: 0.5
---
merge_method: dare_ties
base_model: BASE
models:
  - model: second-merge
    parameters:
      density: 0.6
      weight: 0.5
  - model: T3
    parameters:
      density: 0.8
      weight: 0.5
`)
	out, stages := filepath.Join(f.dir, "final"), filepath.Join(f.dir, "stages")
	if _, _, err := run(t, "merge", recipe, out); err == nil || err.Error() != fmt.Sprintf("the recipe's final stage has no name: it goes to %s, and the named stages need --intermediate-dir", out) {
		t.Errorf("no --intermediate-dir: %v", err)
	}
	stdout, _, err := run(t, "merge", recipe, out, "-I", stages)
	if err != nil {
		t.Fatal(err)
	}
	first, second := filepath.Join(stages, "first-merge"), filepath.Join(stages, "second-merge")
	want := fmt.Sprintf("%s\t%s\n%s\t%s\n%s\t%s\n", cidOf(t, first), first, cidOf(t, second), second, cidOf(t, out), out)
	if stdout != want {
		t.Errorf("printed\n%s\nwant\n%s", stdout, want)
	}
	m2, err := potluck.ReadManifest(second)
	if err != nil {
		t.Fatal(err)
	}
	m3, err := potluck.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Base != cidOf(t, first) || m3.Merge.Inputs[0].CID != cidOf(t, second) {
		t.Errorf("second stage's base %s, final's first input %s: want the earlier stages' CIDs", m2.Base, m3.Merge.Inputs[0].CID)
	}
	// Run again to another final output: the named stages are kept as they are.
	again := filepath.Join(f.dir, "again")
	if stdout, _, err := run(t, "merge", recipe, again, "-I", stages); err != nil || !strings.HasPrefix(stdout, want[:strings.Index(want, out)]) {
		t.Errorf("second run: %v, printed %q", err, stdout)
	}
	if _, _, err := run(t, "merge", recipe, filepath.Join(f.dir, "x"), "-I", stages, "--no-lazy"); err == nil || !strings.Contains(err.Error(), `stage "first-merge"`) {
		t.Errorf("--no-lazy over kept stages: %v, want an error naming the stage", err)
	}
	// Every stage named: they go under OUT.
	f.write(t, "name: one\nmerge_method: linear\nmodels: [{model: T0}, {model: T1}]\n---\nname: two\nmerge_method: task_arithmetic\nbase_model: BASE\nmodels: [{model: one}]\n")
	all := filepath.Join(f.dir, "all")
	if _, _, err := run(t, "merge", recipe, all); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(all); len(ents) != 2 || !slices.ContainsFunc(ents, func(e os.DirEntry) bool { return e.Name() == "two" }) {
		t.Errorf("%s holds %v, want one and two", all, ents)
	}
}
