package node

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/store"
)

// makeAdapterDelta writes a PEFT LoRA adapter as a delta release: its
// adapter_config.json and safetensors copied as they are (the factors'
// size, not the model's) and a manifest whose tensors are encoded "lora"
// (or "full" for a saved module), after the checks a hub's admission runs
// on it (merge.CheckAdapter, merge.ZeroDelta). Its other files (a README,
// say) are left out.
func makeAdapterDelta(o DeltaOptions, base, ad *merge.Model) (*potluck.Manifest, error) {
	if o.DType != "" {
		return nil, fmt.Errorf("node: %s is a LoRA adapter, published as its own factors: --dtype %s does not apply", o.FinetunedDir, o.DType)
	}
	if err := merge.CheckAdapter(base, ad); err != nil {
		return nil, err
	}
	if err := refuseZeroModel(base, ad); err != nil {
		return nil, fmt.Errorf("node: adapter %s: %w", o.FinetunedDir, err)
	}
	files := []string{merge.AdapterConfig}
	for _, sh := range ad.Shards {
		files = append(files, sh.Path)
	}
	var man *potluck.Manifest
	err := store.WriteDir(o.OutDir, func(tmp string) error {
		for _, f := range files {
			if err := copyFile(filepath.Join(o.FinetunedDir, filepath.FromSlash(f)), filepath.Join(tmp, filepath.FromSlash(f))); err != nil {
				return err
			}
		}
		tensors, err := describeTensors(tmp)
		if err != nil {
			return err
		}
		man, _, err = writeManifest(tmp, o, tensors, nil)
		return err
	})
	return man, err
}

// describeTensors lists the tensors of the model in dir as a manifest does:
// where each lies, its digest (every value checked finite) and encoding.
func describeTensors(dir string) ([]potluck.Tensor, error) {
	m, err := merge.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var out []potluck.Tensor
	for _, name := range m.Names() {
		t, _ := m.Tensor(name)
		sum, err := m.ScanTensor(name)
		if err != nil {
			return nil, err
		}
		out = append(out, potluck.Tensor{Name: name, DType: string(t.DType), Shape: t.Shape, File: t.File,
			Offset: t.Start, Length: t.Size(), SHA256: potluck.HexDigest(sum), Encoding: merge.Encoding(m, name)})
	}
	return out, nil
}

// refuseZero refuses the delta written in dir when it changes nothing.
func refuseZero(base *merge.Model, dir string) error {
	m, err := merge.OpenDir(dir)
	if err != nil {
		return err
	}
	defer m.Close()
	return refuseZeroModel(base, m)
}

func refuseZeroModel(base, delta *merge.Model) error {
	zero, err := merge.ZeroDelta(base, delta)
	if err == nil && zero {
		err = merge.ErrZeroDelta
	}
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
