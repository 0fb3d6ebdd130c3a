package merge_test

// Helpers shared by the merge tests: writing small models and deltas, reading
// outputs back, running recipes. The float references are in reference_test.go.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

// tensor is a tensor to write: float values must be representable in DType
// (encode checks), integer tensors use Ints.
type tensor struct {
	Name  string
	DType safetensors.DType
	Shape []int64
	Vals  []float64 // float dtypes
	Ints  []int64   // I64
	Raw   []byte    // when set, the encoded bytes as they are (any dtype)
}

// writeShard writes a safetensors file holding ts, in order.
func writeShard(t testing.TB, path string, ts []tensor) {
	t.Helper()
	specs := make([]safetensors.TensorSpec, len(ts))
	for i, td := range ts {
		specs[i] = safetensors.TensorSpec{Name: td.Name, DType: td.DType, Shape: td.Shape}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := safetensors.NewWriter(f, specs, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	for _, td := range ts {
		if _, err := w.Write(encode(t, td)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeModel writes each shard (file name → tensors) into dir.
func writeModel(t testing.TB, dir string, shards map[string][]tensor) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, ts := range shards {
		writeShard(t, filepath.Join(dir, name), ts)
	}
}

// writeDelta writes a delta directory: its shards and a delta manifest naming
// baseCID and listing every file and tensor.
func writeDelta(t testing.TB, dir, baseCID string, shards map[string][]tensor) {
	t.Helper()
	writeModel(t, dir, shards)
	entries, err := store.WalkDir(dir, store.HashFileAt)
	if err != nil {
		t.Fatal(err)
	}
	man := &potluck.Manifest{Schema: potluck.ManifestSchema, Kind: potluck.KindDelta, Base: baseCID,
		Files: merge.DescribeEntries(entries)}
	for shard := range shards {
		f, err := safetensors.Open(filepath.Join(dir, shard))
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range f.Tensors {
			raw, err := f.ReadTensor(ti.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			man.Tensors = append(man.Tensors, potluck.Tensor{Name: ti.Name, DType: string(ti.DType), Shape: ti.Shape,
				File: shard, Offset: ti.Start, Length: ti.Size(), SHA256: potluck.Digest(raw), Encoding: "dense"})
		}
		f.Close()
	}
	if err := man.Write(dir); err != nil {
		t.Fatal(err)
	}
}

func hashDir(t testing.TB, dir string) string {
	t.Helper()
	c, err := store.HashDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// cidWithoutSig is the CID of dir as the hub gives it: `ipfs add -r` of a
// copy of dir without its signature model.sig.
func cidWithoutSig(t testing.TB, dir string) string {
	t.Helper()
	cp := filepath.Join(t.TempDir(), "copy")
	copyDir(t, dir, cp, func(rel string) bool { return rel != "model.sig" })
	return hashDir(t, cp)
}

// copyDir copies the regular files of src under dst, those keep accepts.
func copyDir(t testing.TB, src, dst string, keep func(rel string) bool) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if !keep(filepath.ToSlash(rel)) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readTensors reads every tensor of the model in dir: dtype, shape, bytes.
func readTensors(t testing.TB, dir string) map[string]tensorBytes {
	t.Helper()
	m, err := safetensors.OpenModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := map[string]tensorBytes{}
	for _, mt := range m.Tensors() {
		raw, err := m.ReadTensor(mt.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[mt.Name] = tensorBytes{DType: mt.DType, Shape: mt.Shape, File: mt.File, Raw: raw}
	}
	return out
}

type tensorBytes struct {
	DType safetensors.DType
	Shape []int64
	File  string
	Raw   []byte
}

// runRecipe parses yaml, opens its local inputs and runs the merge into out.
func runRecipe(yaml, out string) (*potluck.Manifest, error) {
	r, err := merge.ParseRecipe([]byte(yaml))
	if err != nil {
		return nil, err
	}
	job, err := merge.OpenLocal(r)
	if err != nil {
		return nil, err
	}
	defer job.Close()
	return merge.Run(context.Background(), job, out)
}

// recipe builds a recipe's YAML text.
type recipe struct {
	Method   string
	Base     string
	Params   string // the lines under "parameters:", e.g. "lambda: 0.7"
	Models   []string
	Weights  []float64 // one per model; NaN leaves the weight out
	OutDtype string
}

func (r recipe) yaml() string {
	var b strings.Builder
	line := func(s string, args ...any) { b.WriteString(fmt.Sprintf(s, args...) + "\n") }
	line("merge_method: %s", r.Method)
	line("base_model: %q", r.Base)
	if r.Params != "" {
		line("parameters:")
		for _, p := range strings.Split(r.Params, "\n") {
			line("  %s", p)
		}
	}
	line("models:")
	for i, m := range r.Models {
		line("  - model: %q", m)
		if i < len(r.Weights) && !math.IsNaN(r.Weights[i]) {
			line("    parameters:")
			line("      weight: %v", r.Weights[i])
		}
	}
	if r.OutDtype != "" {
		line("out_dtype: %s", r.OutDtype)
	}
	return b.String()
}

// wantErr checks that err wraps target and mentions every string of parts.
func wantErr(t testing.TB, err, target error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one wrapping %v", target)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("error %q does not wrap %v", err, target)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

// mustJSON decodes b into a generic value.
func mustJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}
