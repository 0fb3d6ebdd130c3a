package testmodel

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/potluck-hub/potluck/safetensors"
)

// Transform writes to dir the model in baseDir with fn applied to every
// float tensor's values (widened to float32, narrowed back to its dtype);
// integer tensors and every other file are copied as they are. Shards
// keep their names, tensors their order.
func Transform(baseDir, dir string, fn func(name string, vals []float32)) error {
	entries, err := os.ReadDir(baseDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		src, dst := filepath.Join(baseDir, e.Name()), filepath.Join(dir, e.Name())
		switch {
		case e.IsDir() || strings.HasPrefix(e.Name(), "."):
		case strings.HasSuffix(e.Name(), ".safetensors"):
			err = transformShard(src, dst, fn)
		default:
			var b []byte
			if b, err = os.ReadFile(src); err == nil {
				err = os.WriteFile(dst, b, 0o644)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func transformShard(src, dst string, fn func(string, []float32)) error {
	in, err := safetensors.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	var specs []safetensors.TensorSpec
	for _, t := range in.Tensors {
		specs = append(specs, safetensors.TensorSpec{Name: t.Name, DType: t.DType, Shape: t.Shape})
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	w, err := safetensors.NewWriter(out, specs, map[string]string{"format": "pt"})
	if err != nil {
		return err
	}
	for _, t := range in.Tensors {
		raw, err := in.ReadTensor(t.Name, nil)
		if err != nil {
			return err
		}
		if t.DType.IsFloat() {
			vals := make([]float32, len(raw)/t.DType.Size())
			if err := safetensors.DecodeFloat32(vals, raw, t.DType); err != nil {
				return err
			}
			fn(t.Name, vals)
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
