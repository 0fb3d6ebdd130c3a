package merge

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// applyAdapter returns model m with the LoRA adapter a applied, as a view:
// each adapted tensor θ + s·B·A in θ's dtype (mergekit merges the adapter
// into the model before the merge), each module the adapter saves whole
// in place of the model's. It keeps m's other files (config, tokenizer)
// and closes both models when it is closed.
func applyAdapter(m, a *Model) (*Model, error) {
	name := m.Name + "+" + a.Name
	if !slices.Contains(a.Other, AdapterConfig) {
		return nil, fmt.Errorf("%w: %s: %s is not a PEFT LoRA adapter (it has no %s)", ErrIncompatible, name, a.Name, AdapterConfig)
	}
	if full, err := isFull(m); err != nil || !full {
		return nil, fmt.Errorf("%w: %s: %s is a delta or an adapter; an adapter applies to a full model", ErrIncompatible, name, m.Name)
	}
	ad, err := openAdapter(m, a)
	if err != nil {
		return nil, err
	}
	var ts []Tensor
	for _, sh := range m.Shards {
		for _, t := range sh.Tensors {
			if lt, ok := ad.lora[t.Name]; ok {
				t = appliedTensor(t, a, lt)
			} else if ft, ok := ad.full[t.Name]; ok {
				t = renamed(ft, t.Name)
			}
			ts = append(ts, t)
		}
	}
	v := newView(name, ts)
	v.src, v.Other = m.src, m.Other
	v.files = slices.Concat(m.files, a.files)
	m.files, a.files = nil, nil
	return v, nil
}

// refusePickle refuses a model directory whose weights are only in pickle
// files, saying why and how to convert them.
func refusePickle(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // OpenDir reports it
	}
	var pickled string
	for _, e := range entries {
		n := e.Name()
		if strings.HasSuffix(n, ".safetensors") {
			return nil
		}
		for _, ext := range []string{".bin", ".pt", ".pth", ".ckpt"} {
			if strings.HasSuffix(n, ext) && !strings.HasSuffix(n, ".index.json") && pickled == "" {
				pickled = n
			}
		}
	}
	if pickled == "" {
		return nil
	}
	convert := fmt.Sprintf(`python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('%s').save_pretrained('%s-safetensors', safe_serialization=True)"`, dir, dir)
	if strings.HasPrefix(pickled, "adapter_model") {
		convert = fmt.Sprintf(`python -c "import torch; from safetensors.torch import save_file; save_file(torch.load('%[1]s/%[2]s'), '%[1]s/adapter_model.safetensors')"`, dir, pickled)
	}
	return fmt.Errorf("%w: model %s has %s but no .safetensors file: a pickle file can run any code when it is loaded, so potluck does not read one. Convert it to safetensors first, e.g.:\n  %s", ErrIncompatible, dir, pickled, convert)
}

// checkArchitectures refuses a full model whose config.json names another
// architecture than the base's (its architectures, else its model_type),
// as mergekit does unless --allow-crimes; models without a config pass.
func (j *Job) checkArchitectures() error {
	want, err := architecture(j.Base)
	if err != nil || want == "" {
		return err
	}
	refs := j.Recipe.References()
	for i, d := range j.Deltas {
		got, err := architecture(d)
		if err != nil {
			return err
		}
		if got != "" && got != want {
			return fmt.Errorf("%w: %s (%s) is a %s, the base is a %s (allow_crimes merges them anyway)", ErrIncompatible, j.Recipe.where(i), refs[i], got, want)
		}
	}
	return nil
}

// architecture names a model's architecture from its config.json ("" when
// it has none).
func architecture(m *Model) (string, error) {
	var cfg struct {
		Architectures []string `json:"architectures"`
		ModelType     string   `json:"model_type"`
	}
	if err := readJSON(m, configFile, &cfg); err != nil {
		return "", err
	}
	if len(cfg.Architectures) > 0 {
		return strings.Join(cfg.Architectures, ", "), nil
	}
	return cfg.ModelType, nil
}
