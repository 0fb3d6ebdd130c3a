package testmodel

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/safetensors"
)

// Perturb writes to dir what continuing to train the model in fromDir
// would save: the same shards, tensors in the same order with the same
// dtypes and metadata, every float value moved by noise·scale (noise
// uniform in [-0.5, 0.5), drawn from seed), integers and the other files
// (config, tokenizer, index) as they are. Potluck's files (potluck.json,
// model.sig) and hidden ones are left out: a trainer saves a model, not a
// release. fromDir may be a merge that `potluck node pull` wrote.
func Perturb(fromDir, dir string, seed uint64, scale float32) error {
	m, err := safetensors.OpenModel(fromDir)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	g := testgen.New(seed)
	for _, name := range m.Files {
		f, _ := m.File(name)
		if err := perturbShard(f, filepath.Join(dir, name), g, scale); err != nil {
			return err
		}
	}
	ents, err := os.ReadDir(fromDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".safetensors") || n == "potluck.json" || n == "model.sig" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(fromDir, n))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func perturbShard(f *safetensors.File, path string, g *testgen.SplitMix64, scale float32) error {
	specs := make([]safetensors.TensorSpec, len(f.Tensors))
	for i, t := range f.Tensors {
		specs[i] = safetensors.TensorSpec{Name: t.Name, DType: t.DType, Shape: t.Shape}
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	w, err := safetensors.NewWriter(out, specs, f.Metadata)
	if err != nil {
		return err
	}
	for _, t := range f.Tensors {
		raw, err := f.ReadTensor(t.Name, nil)
		if err != nil {
			return err
		}
		if t.DType.IsFloat() {
			vals := make([]float32, t.NumElements())
			if err := safetensors.DecodeFloat32(vals, raw, t.DType); err != nil {
				return err
			}
			for i := range vals {
				vals[i] += scale * float32(g.Float64()-0.5)
			}
			if err := safetensors.EncodeFloat32(raw, vals, t.DType); err != nil {
				return err
			}
		}
		if _, err := w.Write(raw); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return out.Close()
}
