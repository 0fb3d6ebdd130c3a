package merge_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

// finetune writes a fine-tuned copy of the fixture's base (same shards and
// dtypes, float values moved by up to ±0.1, integers unchanged) and returns
// its tensors by name.
func finetune(t *testing.T, f *fixture, dir string) map[string]tensor {
	t.Helper()
	rng := rand.New(rand.NewPCG(99, 1))
	fts := map[string]tensor{}
	shards := map[string][]tensor{}
	for _, name := range []string{embed, posIDs, norm, head} {
		ft := f.tensors[name]
		if ft.DType.IsFloat() {
			noise := randVals(t, rng, len(ft.Vals), ft.DType, 0.1, 4)
			ft.Vals = slices.Clone(ft.Vals)
			for i := range ft.Vals {
				ft.Vals[i] = roundTo(t, ft.DType, ft.Vals[i]+noise[i])
			}
		}
		fts[name] = ft
		shards[f.shardOf[name]] = append(shards[f.shardOf[name]], ft)
	}
	writeModel(t, dir, shards)
	return fts
}

func openDir(t *testing.T, dir string) *merge.Model {
	t.Helper()
	m, err := merge.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestDiff(t *testing.T) {
	f := newFixture(t)
	ftDir := filepath.Join(t.TempDir(), "ft")
	fts := finetune(t, f, ftDir)
	base, ft := openDir(t, f.base), openDir(t, ftDir)

	for _, tc := range []struct {
		name  string
		dtype safetensors.DType // DiffOptions.DType
	}{{"base dtypes", ""}, {"F32", safetensors.F32}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			hashed := map[string]store.FileInfo{}
			listed, err := merge.Diff(context.Background(), base, ft, dir, merge.DiffOptions{DType: tc.dtype,
				Hashed: func(rel string, info store.FileInfo) { hashed[rel] = info }})
			if err != nil {
				t.Fatal(err)
			}
			checkHashed(t, dir, hashed)
			got := readTensors(t, dir)
			if names := keys(got); !slices.Equal(names, []string{head, embed, norm}) {
				t.Fatalf("delta tensors %v, want the float tensors %v", names, floatNames)
			}
			for _, name := range floatNames {
				dt := tc.dtype
				if dt == "" {
					dt = f.tensors[name].DType
				}
				checkTensor(t, got, name, dt, f.tensors[name].Shape, f.shardOf[name])
				checkDelta(t, name, dt, got[name].Raw, fts[name].Vals, f.tensors[name].Vals)
			}
			checkListed(t, dir, listed, got)
			checkDiffIndex(t, dir, f)
		})
	}
}

// checkDelta compares a delta tensor with ft − base computed in float64
// (exactly: both are float32 values of nearby magnitudes). The engine
// subtracts in float32, one correctly rounded operation, so an F32 delta is
// exactly float32(ft − base); a narrower one is that rounded once more, so
// within one ulp of the reference rounded to its dtype (checkValues with one
// float32 rounding, whose term is below a bf16 or f16 ulp here).
func checkDelta(t *testing.T, name string, dt safetensors.DType, raw []byte, ft, base []float64) {
	t.Helper()
	ref, mag := make([]float64, len(ft)), make([]float64, len(ft))
	for i := range ft {
		ref[i] = ft[i] - base[i]
		mag[i] = math.Abs(ref[i])
	}
	if dt != safetensors.F32 {
		checkValues(t, name, dt, raw, ref, mag, 1, true)
		return
	}
	for i, v := range decode(t, dt, raw) {
		if want := float64(float32(ref[i])); v != want {
			t.Errorf("delta %s[%d]: %v, want float32(%v − %v) = %v", name, i, v, ft[i], base[i], want)
		}
	}
}

// checkListed checks the tensors Diff returned against the files it wrote.
func checkListed(t *testing.T, dir string, listed []potluck.Tensor, got map[string]tensorBytes) {
	t.Helper()
	if len(listed) != len(got) {
		t.Errorf("Diff listed %d tensors, wrote %d", len(listed), len(got))
	}
	for _, lt := range listed {
		b, err := os.ReadFile(filepath.Join(dir, lt.File))
		if err != nil {
			t.Fatal(err)
		}
		data := b[lt.Offset : lt.Offset+lt.Length]
		sum := sha256.Sum256(data)
		g := got[lt.Name]
		if lt.SHA256 != hex.EncodeToString(sum[:]) || string(data) != string(g.Raw) || lt.DType != string(g.DType) || lt.File != g.File {
			t.Errorf("Diff listed %s as %s %v at %s+%d sha256 %s; the file disagrees", lt.Name, lt.DType, lt.Shape, lt.File, lt.Offset, lt.SHA256)
		}
	}
}

// checkHashed checks the hashes Diff gave, as it wrote them, against the
// shards it wrote, read back: SHA-256 by crypto/sha256, CID as an import
// gives it. Every shard is reported, once.
func checkHashed(t *testing.T, dir string, hashed map[string]store.FileInfo) {
	t.Helper()
	shards, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(hashed) != len(shards) || len(shards) == 0 {
		t.Fatalf("Diff reported the hashes of %d shards, wrote %d", len(hashed), len(shards))
	}
	for _, p := range shards {
		rel := filepath.Base(p)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := store.HashFileAt(p)
		if err != nil {
			t.Fatal(err)
		}
		got := hashed[rel]
		if got.SHA256 != sha256.Sum256(b) || got.Size != int64(len(b)) || got.CID != want.CID || got.TSize != want.TSize {
			t.Errorf("%s: Diff hashed it as %d bytes, CID %s, sha256 %x; read back: %d bytes, CID %s, sha256 %x",
				rel, got.Size, got.CID, got.SHA256, len(b), want.CID, sha256.Sum256(b))
		}
	}
}

// checkDiffIndex checks the index of a delta of the two-shard base: each
// float tensor in its shard, the integer tensor left out.
func checkDiffIndex(t *testing.T, dir string, f *fixture) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, safetensors.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{embed: shard1, norm: shard2, head: shard2}
	if len(idx.WeightMap) != len(want) {
		t.Errorf("index maps %v, want %v", idx.WeightMap, want)
	}
	for k, v := range want {
		if idx.WeightMap[k] != v {
			t.Errorf("index maps %s to %q, want %q", k, idx.WeightMap[k], v)
		}
	}
}

// Diff refuses a fine-tuned model that does not fit the base, naming the
// tensor.
func TestDiffRejects(t *testing.T) {
	f := newFixture(t)
	base := openDir(t, f.base)
	bf := safetensors.BF16
	for _, tc := range []struct {
		name  string
		ft    tensor
		parts []string
	}{
		{"tensor not in the base", tensor{Name: "model.extra.weight", DType: bf, Shape: []int64{2}, Vals: []float64{1, 2}},
			[]string{`"model.extra.weight"`}},
		{"shape differs", tensor{Name: embed, DType: bf, Shape: []int64{15}, Vals: f.tensors[embed].Vals},
			[]string{`"` + embed + `"`, "[15]", "[3 5]"}},
		{"integer tensor differs", tensor{Name: posIDs, DType: safetensors.I64, Shape: []int64{2}, Ints: []int64{1<<40 + 3, -8}},
			[]string{`"` + posIDs + `"`}},
		{"integer tensor becomes float", tensor{Name: posIDs, DType: safetensors.F32, Shape: []int64{2}, Vals: []float64{0, 1}},
			[]string{`"` + posIDs + `"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ftDir := filepath.Join(t.TempDir(), "ft")
			ts := []tensor{f.tensors[norm], tc.ft}
			writeModel(t, ftDir, map[string][]tensor{"model.safetensors": ts})
			_, err := merge.Diff(context.Background(), base, openDir(t, ftDir), t.TempDir(), merge.DiffOptions{})
			wantErr(t, err, merge.ErrIncompatible, tc.parts...)
		})
	}
}

// Integer tensors are compared in full, past the first MiB read.
func TestDiffComparesWholeIntegerTensor(t *testing.T) {
	n := 1<<17 + 3 // 8-byte elements: one MiB and 24 bytes
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i) - 5
	}
	small := tensor{Name: "w", DType: safetensors.F32, Shape: []int64{2}, Vals: []float64{0.5, -1}}
	moved := tensor{Name: "w", DType: safetensors.F32, Shape: []int64{2}, Vals: []float64{0.75, -1}}
	root := t.TempDir()
	write := func(name string, ids []int64, w tensor) *merge.Model {
		dir := filepath.Join(root, name)
		writeModel(t, dir, map[string][]tensor{"model.safetensors": {
			{Name: "ids", DType: safetensors.I64, Shape: []int64{int64(n)}, Ints: ids}, w}})
		return openDir(t, dir)
	}
	base := write("base", ids, small)

	same := write("same", slices.Clone(ids), moved)
	listed, err := merge.Diff(context.Background(), base, same, t.TempDir(), merge.DiffOptions{})
	if err != nil || len(listed) != 1 || listed[0].Name != "w" {
		t.Errorf("Diff with equal integer tensors: %v, %v; want only w", listed, err)
	}

	last := slices.Clone(ids)
	last[n-1]++
	_, err = merge.Diff(context.Background(), base, write("last", last, moved), t.TempDir(), merge.DiffOptions{})
	wantErr(t, err, merge.ErrIncompatible, `"ids"`)
}
