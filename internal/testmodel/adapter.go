package testmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/safetensors"
)

// Adapter sizes a PEFT LoRA adapter of a base this package wrote: lora_A
// and lora_B of rank Rank for the q_proj and k_proj of every layer,
// scaled by Alpha/Rank. ZeroB writes lora_B as zeros, as PEFT initialises
// it: an untrained adapter, which changes nothing. Factor values are
// uniform in [-Spread/2, Spread/2) (Spread 0.1 if zero).
type Adapter struct {
	Rank   int
	Alpha  float64
	ZeroB  bool
	Spread float32
}

// WriteAdapter writes a LoRA adapter of the base in baseDir to dir, as
// PEFT saves one (adapter_config.json, adapter_model.safetensors with
// base_model.model.<module>.lora_A.weight [r, in] and lora_B.weight
// [out, r], F32), values drawn from seed.
func WriteAdapter(baseDir, dir string, seed uint64, a Adapter) error {
	s, err := readSpec(baseDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	h, r := int64(s.Hidden), int64(a.Rank)
	var specs []safetensors.TensorSpec
	for l := 0; l < s.Layers; l++ {
		for _, m := range []string{"q_proj", "k_proj"} {
			p := fmt.Sprintf("base_model.model.model.layers.%d.self_attn.%s.", l, m)
			specs = append(specs,
				safetensors.TensorSpec{Name: p + "lora_A.weight", DType: safetensors.F32, Shape: []int64{r, h}},
				safetensors.TensorSpec{Name: p + "lora_B.weight", DType: safetensors.F32, Shape: []int64{h, r}})
		}
	}
	g := testgen.New(seed)
	spread := a.Spread
	if spread == 0 {
		spread = 0.1
	}
	err = writeShard(filepath.Join(dir, "adapter_model.safetensors"), specs, func(t safetensors.TensorSpec, _ int) float32 {
		if a.ZeroB && strings.HasSuffix(t.Name, "lora_B.weight") {
			return 0
		}
		return float32(g.Float64()-0.5) * spread
	}, nil)
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`{"peft_type": "LORA", "r": %d, "lora_alpha": %g, "target_modules": ["q_proj", "k_proj"], "fan_in_fan_out": false}`+"\n", a.Rank, a.Alpha)
	return os.WriteFile(filepath.Join(dir, "adapter_config.json"), []byte(cfg), 0o644)
}
