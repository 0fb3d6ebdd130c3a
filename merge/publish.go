package merge

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// What a hub and a node judge of a delta before it is published, one rule
// for both: how each tensor is encoded in the manifest, whether the delta
// changes anything at all, whether a LoRA adapter is sane, and the norm of
// what it adds to each base tensor.

// ErrZeroDelta reports a delta that changes no weight of its base.
var ErrZeroDelta = errors.New("delta is all zeros: the fine-tune equals its base; nothing to publish")

// MaxLoRAScale bounds |s|, the factor s = lora_alpha/r (lora_alpha/√r with
// rsLoRA) an adapter scales B·A by, for a hub to admit it: a larger one is a
// misconfigured adapter (or one that hides a large update in small factors).
const MaxLoRAScale = 1024

// Manifest encodings of a delta's tensors.
const (
	EncodingDense  = "dense"  // a tensor of finetuned − base
	EncodingSparse = "sparse" // the #indices or #values entry of a sparse tensor
	EncodingLoRA   = "lora"   // a LoRA factor: ΔW = s·B·A, expanded when merged
	EncodingFull   = "full"   // an adapter's saved module (modules_to_save): full weights
)

// IsAdapter reports whether m is a PEFT LoRA adapter: it holds
// adapter_config.json beside its safetensors.
func IsAdapter(m *Model) bool { return slices.Contains(m.Other, AdapterConfig) }

// Encoding is the manifest encoding of delta tensor name: for an adapter,
// "lora" for its factors and "full" for a saved module; else "sparse" for
// the two entries of a sparse tensor and "dense" for the others.
func Encoding(delta *Model, name string) string {
	if IsAdapter(delta) {
		if strings.Contains(strings.TrimPrefix(name, peftPrefix), "lora_") {
			return EncodingLoRA
		}
		return EncodingFull
	}
	if _, part := sparseName(name); part != "" {
		return EncodingSparse
	}
	return EncodingDense
}

// CheckAdapter checks a LoRA adapter against its base as a hub admits it:
// what a local merge needs (a lora_B for every lora_A; A [r, in] and B
// [out, r] float tensors over a 2-D float base tensor [out, in], or [in,
// out] for embeddings and fan_in_fan_out layers; a saved module of the
// base's shape), and besides r ≤ min(in, out) and a scale s with
// 0 < |s| ≤ MaxLoRAScale.
func CheckAdapter(base, m *Model) error {
	ad, err := openAdapter(base, m)
	if err != nil {
		return err
	}
	for _, target := range slices.Sorted(maps.Keys(ad.lora)) {
		lt := ad.lora[target]
		in, out := lt.a.Shape[1], lt.b.Shape[0]
		if lt.rank > min(in, out) {
			return fmt.Errorf("%w: adapter %s: %s: rank %d is more than min(in %d, out %d): a full-rank update, not a low-rank one", ErrIncompatible, m.Name, target, lt.rank, in, out)
		}
		if s := math.Abs(lt.scale); !(s > 0 && s <= MaxLoRAScale) {
			return fmt.Errorf("%w: adapter %s: %s: scale lora_alpha/r = %g (want 0 < |scale| ≤ %d)", ErrIncompatible, m.Name, target, lt.scale, MaxLoRAScale)
		}
	}
	return nil
}

// ZeroDelta reports whether delta changes no weight of base: every float
// value of a dense or sparse delta is zero (-0 included), or, for an
// adapter, every adapted module has an all-zero lora_A or lora_B and no
// module is saved whole (a saved module is taken to change its weight). It
// stops at the first non-zero value, so a real delta costs one chunk.
func ZeroDelta(base, delta *Model) (bool, error) {
	if !IsAdapter(delta) {
		for _, name := range delta.Names() {
			if nz, err := nonZero(delta, name); nz || err != nil {
				return false, err
			}
		}
		return true, nil
	}
	ad, err := openAdapter(base, delta)
	if err != nil {
		return false, err
	}
	if len(ad.full) > 0 {
		return false, nil
	}
	for _, target := range slices.Sorted(maps.Keys(ad.lora)) {
		lt := ad.lora[target]
		nzA, err := nonZero(delta, lt.a.Name)
		if err != nil {
			return false, err
		}
		if !nzA {
			continue
		}
		if nzB, err := nonZero(delta, lt.b.Name); nzB || err != nil {
			return false, err
		}
	}
	return true, nil
}

// nonZero reports whether a float tensor holds a non-zero value; a tensor
// of another dtype (sparse indices) holds none.
func nonZero(m *Model, name string) (bool, error) {
	t, _ := m.Tensor(name)
	if !t.DType.IsFloat() {
		return false, nil
	}
	n := t.NumElements()
	vals := make([]float32, min(n, ChunkElems))
	raw := make([]byte, len(vals)*t.DType.Size())
	for off := int64(0); off < n; off += int64(len(vals)) {
		k := int(min(int64(len(vals)), n-off))
		if err := readFloats(m, t, off, vals[:k], raw); err != nil {
			return false, err
		}
		for _, v := range vals[:k] {
			if v != 0 {
				return true, nil
			}
		}
	}
	return false, nil
}

// AdapterNorms returns, for each base tensor an adapter changes, the L2
// (Frobenius) norm of what it adds: ‖s·B·A‖ from the r×r Gram matrices of
// the factors (‖BA‖² = Σᵢⱼ (AAᵀ)ᵢⱼ(BᵀB)ᵢⱼ), never the expanded tensor; and
// ‖θ − θ₀‖ for a saved module, a chunk at a time.
func AdapterNorms(base, m *Model) (map[string]float64, error) {
	ad, err := openAdapter(base, m)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for target, lt := range ad.lora {
		a, b, err := loadFactors(m, lt)
		if err != nil {
			return nil, err
		}
		r := int(lt.rank)
		ga := gramOf(a, r, len(a)/r, false)
		gb := gramOf(b, len(b)/r, r, true)
		var sq float64
		for i := range ga {
			sq += ga[i] * gb[i]
		}
		out[target] = math.Abs(lt.scale) * math.Sqrt(max(sq, 0))
	}
	for _, target := range slices.Sorted(maps.Keys(ad.full)) {
		bt, _ := base.Tensor(target)
		n, err := diffNorm(m, ad.full[target], base, bt)
		if err != nil {
			return nil, err
		}
		out[target] = n
	}
	return out, nil
}

// gramOf returns the r×r Gram matrix of x, a [rows, cols] matrix: of its
// rows (x·xᵀ, r = rows) or, with cols true, of its columns (xᵀ·x, r = cols),
// in float64.
func gramOf(x []float32, rows, cols int, ofCols bool) []float64 {
	if !ofCols {
		g := make([]float64, rows*rows)
		for i := range rows {
			xi := x[i*cols : (i+1)*cols]
			for j := i; j < rows; j++ {
				xj := x[j*cols : (j+1)*cols]
				var s float64
				for k := range xi {
					s += float64(xi[k]) * float64(xj[k])
				}
				g[i*rows+j], g[j*rows+i] = s, s
			}
		}
		return g
	}
	g := make([]float64, cols*cols)
	for o := range rows {
		row := x[o*cols : (o+1)*cols]
		for i, vi := range row {
			for j, vj := range row {
				g[i*cols+j] += float64(vi) * float64(vj)
			}
		}
	}
	return g
}

// diffNorm is ‖θ − θ₀‖ of two float tensors of one shape, a chunk at a time.
func diffNorm(m *Model, t Tensor, base *Model, bt Tensor) (float64, error) {
	n := t.NumElements()
	x, b := make([]float32, min(n, ChunkElems)), make([]float32, min(n, ChunkElems))
	raw := make([]byte, 8*len(x))
	var sq float64
	for off := int64(0); off < n; off += int64(len(x)) {
		k := int(min(int64(len(x)), n-off))
		if err := readFloats(m, t, off, x[:k], raw); err != nil {
			return 0, err
		}
		if err := readFloats(base, bt, off, b[:k], raw); err != nil {
			return 0, err
		}
		for i := range k {
			d := float64(x[i]) - float64(b[i])
			sq += d * d
		}
	}
	return math.Sqrt(sq), nil
}
