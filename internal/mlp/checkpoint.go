package mlp

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// The files of a checkpoint directory.
const (
	WeightsFile = "model.safetensors"
	ConfigFile  = "config.json"
)

// ModelType is the model_type of the config.json that Save writes.
const ModelType = "potluck-mnist-mlp"

// hfConfig is config.json, in the names Hugging Face configs use.
type hfConfig struct {
	ModelType  string `json:"model_type"`
	InputSize  int    `json:"input_size"`
	HiddenSize int    `json:"hidden_size"`
	NumLabels  int    `json:"num_labels"`
	HiddenAct  string `json:"hidden_act"`
	TorchDType string `json:"torch_dtype"`
}

// Save writes n into dir (made if missing) as a checkpoint:
//
//	dir/config.json        {"model_type": "potluck-mnist-mlp", "input_size": 784,
//	                        "hidden_size": 64, "num_labels": 10,
//	                        "hidden_act": "relu", "torch_dtype": "float32"}
//	dir/model.safetensors  fc1.weight F32 [64, 784], fc1.bias F32 [64],
//	                       fc2.weight F32 [10, 64], fc2.bias F32 [10]
//
// with the sizes of n's Config. The bytes depend on the weights alone.
func Save(dir string, n *Net[float32]) error {
	st, err := encodeSafetensors(n.Tensors(), map[string]string{"format": "pt"})
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	c := n.Config
	cfg, err := json.MarshalIndent(hfConfig{ModelType, c.Inputs, c.Hidden, c.Classes, "relu", "float32"}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), append(cfg, '\n'), 0o644); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, WeightsFile), st, 0o644); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	return nil
}

// Load reads the checkpoint that Save wrote into dir. It checks that
// config.json names this model type and that the safetensors file holds
// exactly the four tensors of that size.
func Load(dir string) (*Net[float32], error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	var cfg hfConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("load %s: %w: %s: %w", dir, ErrFormat, ConfigFile, err)
	}
	if cfg.ModelType != ModelType {
		return nil, fmt.Errorf("load %s: %w: model_type %q, want %q", dir, ErrFormat, cfg.ModelType, ModelType)
	}
	c := Config{Inputs: cfg.InputSize, Hidden: cfg.HiddenSize, Classes: cfg.NumLabels}
	if c.Inputs <= 0 || c.Hidden <= 0 || c.Classes <= 1 || c.Params() > 1<<28 {
		return nil, fmt.Errorf("load %s: %w: sizes %+v", dir, ErrFormat, c)
	}
	b, err = os.ReadFile(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	tensors, _, err := decodeSafetensors(b)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	n := Zero[float32](c)
	want := n.Tensors()
	if len(tensors) != len(want) {
		return nil, fmt.Errorf("load %s: %w: %d tensors, want %d", dir, ErrFormat, len(tensors), len(want))
	}
	for _, w := range want {
		t, ok := tensors[w.Name]
		if !ok {
			return nil, fmt.Errorf("load %s: %w: no tensor %s", dir, ErrFormat, w.Name)
		}
		if !slices.Equal(t.Shape, w.Shape) {
			return nil, fmt.Errorf("load %s: %w: tensor %s: shape %v, config.json gives %v", dir, ErrFormat, w.Name, t.Shape, w.Shape)
		}
		copy(w.Data, t.Data)
	}
	return n, nil
}
