package merge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

// ExtractOptions says how ExtractLoRA decomposes a fine-tune's delta.
type ExtractOptions struct {
	Rank       int               // at most this many components per module
	DType      safetensors.DType // of the factors (default F32)
	Seed       uint64            // the sketches' random draws
	PowerIters int               // power iterations (default 2)
	Oversample int               // extra sketch columns (default 10)
	BaseName   string            // adapter_config.json's base_model_name_or_path
}

// ExtractedModule is what ExtractLoRA made of one tensor that differs
// from the base.
type ExtractedModule struct {
	Tensor string // the base tensor
	// Rank is its factors' rank; 0 when it is saved whole (an embedding,
	// a norm, a bias: what PEFT keeps in modules_to_save).
	Rank int
	// RelError is ‖Δ − B·A‖_F / ‖Δ‖_F of the factors as written.
	RelError float64
}

// ExtractLoRA writes to dir (which must not exist) a PEFT LoRA adapter of
// the fine-tune ft's delta from base, as mergekit-extract-lora does: each
// 2-D weight that differs (but the embeddings) as lora_A and lora_B of at
// most Rank, by a randomized SVD (svd.go), lora_alpha = r so that
// ΔW = B·A; every other tensor that differs saved whole. Memory grows
// with the largest tensor and the adapter, not with the model.
func ExtractLoRA(base, ft *Model, dir string, o ExtractOptions) ([]ExtractedModule, error) {
	if o.Rank < 1 {
		return nil, fmt.Errorf("merge: extract: the rank must be at least 1, got %d", o.Rank)
	}
	if o.DType == "" {
		o.DType = safetensors.F32
	}
	if !o.DType.IsFloat() || o.DType == safetensors.F64 {
		return nil, fmt.Errorf("merge: extract: factors in %s: want F32, BF16 or F16", o.DType)
	}
	o.PowerIters, o.Oversample = cmpOr(o.PowerIters, 2), cmpOr(o.Oversample, 10)
	if err := checkFull(base, ft); err != nil {
		return nil, err
	}
	var mods []ExtractedModule
	var parts []adapterPart
	for _, sh := range base.Shards {
		for _, bt := range sh.Tensors {
			part, mod, err := extractTensor(base, ft, bt, o)
			if err != nil {
				return nil, fmt.Errorf("merge: extract: tensor %q: %w", bt.Name, err)
			}
			if part != nil {
				parts, mods = append(parts, part...), append(mods, mod)
			}
		}
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("merge: extract: %s equals the base %s: no tensor differs", ft.Name, base.Name)
	}
	err := store.WriteDir(dir, func(tmp string) error {
		if err := writeAdapter(filepath.Join(tmp, AdapterModel), ft, parts); err != nil {
			return err
		}
		cfg, err := adapterConfigJSON(mods, o.BaseName)
		if err != nil {
			return err
		}
		return writeOutput(tmp, AdapterConfig, cfg)
	})
	return mods, err
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// adapterPart is one tensor of the adapter: factor bytes, or a fine-tuned
// tensor copied whole.
type adapterPart struct {
	spec safetensors.TensorSpec
	raw  []byte // nil: copy from
	from Tensor
}

// extractTensor decomposes or saves one tensor's delta (nil when none).
func extractTensor(base, ft *Model, bt Tensor, o ExtractOptions) ([]adapterPart, ExtractedModule, error) {
	mod := ExtractedModule{Tensor: bt.Name}
	t, ok := ft.Tensor(bt.Name)
	if !ok || !bt.DType.IsFloat() {
		return nil, mod, nil
	}
	theta, err := loadFactor(base, bt)
	if err != nil {
		return nil, mod, err
	}
	d, err := loadFactor(ft, t)
	if err != nil {
		return nil, mod, err
	}
	axpy(d, -1, theta) // Δ = θ₁ − θ₀
	if !slices.ContainsFunc(d, func(v float32) bool { return v != 0 }) {
		return nil, mod, nil
	}
	module, isWeight := strings.CutSuffix(bt.Name, ".weight")
	if len(bt.Shape) != 2 || !isWeight || vocabTensor(bt.Name) {
		spec := safetensors.TensorSpec{Name: peftPrefix + bt.Name, DType: t.DType, Shape: t.Shape}
		return []adapterPart{{spec: spec, from: t}}, mod, nil
	}
	m, n := int(bt.Shape[0]), int(bt.Shape[1])
	lr, err := randomizedSVD(d, m, n, o.Rank, o.Oversample, o.PowerIters, o.Seed^hashString(bt.Name))
	if err != nil {
		return nil, mod, err
	}
	r := len(lr.s)
	a, b := make([]float32, r*n), make([]float32, m*r)
	for c, s := range lr.s {
		root := math.Sqrt(s)
		for j := range n {
			a[c*n+j] = float32(root * lr.v[c][j])
		}
		for i := range m {
			b[i*r+c] = float32(lr.u[c][i] * root)
		}
	}
	rawA, rawB := encodeRow(a, o.DType), encodeRow(b, o.DType)
	safetensors.DecodeFloat32(a, rawA, o.DType) // the factors as written
	safetensors.DecodeFloat32(b, rawB, o.DType)
	mod.Rank, mod.RelError = r, relError(d, a, b, m, n, r)
	return []adapterPart{
		{spec: safetensors.TensorSpec{Name: peftPrefix + module + ".lora_A.weight", DType: o.DType, Shape: []int64{int64(r), int64(n)}}, raw: rawA},
		{spec: safetensors.TensorSpec{Name: peftPrefix + module + ".lora_B.weight", DType: o.DType, Shape: []int64{int64(m), int64(r)}}, raw: rawB},
	}, mod, nil
}

// relError is ‖Δ − B·A‖_F / ‖Δ‖_F, in float64.
func relError(d, a, b []float32, m, n, r int) float64 {
	var res, all float64
	row := make([]float64, n)
	for i := range m {
		clear(row)
		for c := range r {
			w := float64(b[i*r+c])
			for j := range row {
				row[j] += float64(w * float64(a[c*n+j]))
			}
		}
		for j, v := range d[i*n : (i+1)*n] {
			e := float64(v) - row[j]
			res += float64(e * e)
			all += float64(float64(v) * float64(v))
		}
	}
	return math.Sqrt(res / all)
}

// hashString is FNV-1a, to key each tensor's sketch.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// writeAdapter writes the adapter's tensors, in order, to path.
func writeAdapter(path string, ft *Model, parts []adapterPart) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	specs := make([]safetensors.TensorSpec, len(parts))
	for i, p := range parts {
		specs[i] = p.spec
	}
	w, err := safetensors.NewWriter(f, specs, map[string]string{"format": "pt"})
	for _, p := range parts {
		if err != nil {
			break
		}
		if p.raw != nil {
			_, err = w.Write(p.raw)
		} else {
			_, err = io.Copy(w, p.from.Section())
		}
	}
	if err == nil {
		err = w.Close()
	}
	return errors.Join(err, f.Sync(), f.Close())
}

// adapterConfigJSON is adapter_config.json as PEFT reads it, with
// mergekit's choices: lora_alpha = r, and a module of lower rank (a small
// matrix) named in rank_pattern and alpha_pattern.
func adapterConfigJSON(mods []ExtractedModule, baseName string) ([]byte, error) {
	r := 0
	var targets, whole []string
	for _, m := range mods {
		r = max(r, m.Rank)
	}
	pattern := map[string]int{}
	for _, m := range mods {
		name := strings.TrimSuffix(strings.TrimSuffix(m.Tensor, ".weight"), ".bias")
		key := name[strings.LastIndex(name, ".")+1:]
		switch {
		case m.Rank == 0 && !slices.Contains(whole, key):
			whole = append(whole, key)
		case m.Rank > 0 && !slices.Contains(targets, key):
			targets = append(targets, key)
		}
		if m.Rank > 0 && m.Rank < r {
			pattern[name] = m.Rank
		}
	}
	slices.Sort(targets)
	slices.Sort(whole)
	cfg := map[string]any{"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": baseName,
		"r": r, "lora_alpha": r, "rank_pattern": pattern, "alpha_pattern": pattern, "target_modules": targets,
		"modules_to_save": whole, "lora_dropout": 0.0, "bias": "none", "fan_in_fan_out": false,
		"use_rslora": false, "inference_mode": true}
	b, err := json.MarshalIndent(cfg, "", "  ")
	return append(b, '\n'), err
}
