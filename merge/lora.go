package merge

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A PEFT LoRA adapter directory (adapter_config.json and
// adapter_model.safetensors) is a valid delta: each adapted weight's delta is
// ΔW = s·B·A, s = lora_alpha/r (lora_alpha/√r with use_rslora), expanded one
// tensor at a time as it is merged, never stored.
const (
	AdapterConfig = "adapter_config.json"
	AdapterModel  = "adapter_model.safetensors"
)

// adapterConfig is what we read of adapter_config.json.
type adapterConfig struct {
	PeftType     string    `yaml:"peft_type"`
	Alpha        float64   `yaml:"lora_alpha"`
	RSLoRA       bool      `yaml:"use_rslora"`
	FanInFanOut  bool      `yaml:"fan_in_fan_out"`
	DoRA         bool      `yaml:"use_dora"`
	AlphaPattern yaml.Node `yaml:"alpha_pattern"` // a node, to keep PEFT's first-match order
}

// loraTensor is one adapted base tensor: ΔW = scale·B·A, or its transpose
// (embeddings, and fan_in_fan_out layers, store their weight transposed).
type loraTensor struct {
	a, b       Tensor
	rank       int64
	scale      float64
	transposed bool
	rsLoRA     bool
}

// adapter is an opened LoRA adapter: its low-rank tensors, and any full
// weights it saves (modules_to_save), by base tensor name.
type adapter struct {
	lora map[string]loraTensor
	full map[string]Tensor
}

// openAdapter reads an adapter's config and pairs its tensors with the base's.
func openAdapter(base, m *Model) (*adapter, error) {
	cfg, err := readAdapterConfig(m)
	if err != nil {
		return nil, fmt.Errorf("adapter %s: %s: %w", m.Name, AdapterConfig, err)
	}
	ad := &adapter{lora: map[string]loraTensor{}, full: map[string]Tensor{}}
	for _, name := range m.Names() {
		if err := ad.add(base, m, cfg, name); err != nil {
			return nil, fmt.Errorf("%w: adapter %s: tensor %q: %v", ErrIncompatible, m.Name, name, err)
		}
	}
	for target, lt := range ad.lora {
		if err := lt.check(base, target); err != nil {
			return nil, fmt.Errorf("%w: adapter %s: %s: %v", ErrIncompatible, m.Name, target, err)
		}
		ad.lora[target] = lt
	}
	return ad, nil
}

func readAdapterConfig(m *Model) (*adapterConfig, error) {
	f, err := m.OpenFile(AdapterConfig)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return nil, err
	}
	cfg := &adapterConfig{PeftType: "LORA"}
	if err := yaml.Unmarshal(b, cfg); err != nil {
		return nil, err
	}
	switch {
	case cfg.PeftType != "LORA":
		return nil, fmt.Errorf("peft_type %q: only LORA adapters are supported", cfg.PeftType)
	case cfg.DoRA:
		return nil, fmt.Errorf("use_dora: DoRA adapters are not supported")
	case cfg.Alpha == 0 || math.IsNaN(cfg.Alpha) || math.IsInf(cfg.Alpha, 0):
		return nil, fmt.Errorf("lora_alpha must be a finite non-zero number")
	}
	return cfg, nil
}

// peftPrefix starts every tensor name in a saved PEFT adapter.
const peftPrefix = "base_model.model."

// add files one adapter tensor under the base tensor it changes.
func (ad *adapter) add(base, m *Model, cfg *adapterConfig, name string) error {
	t, _ := m.Tensor(name)
	n := strings.TrimPrefix(name, peftPrefix)
	for _, s := range []struct{ suffix, part string }{
		{".lora_A.weight", "A"}, {".lora_B.weight", "B"},
		{".lora_embedding_A", "A"}, {".lora_embedding_B", "B"},
	} {
		module, ok := strings.CutSuffix(n, s.suffix)
		if !ok {
			continue
		}
		target := module + ".weight"
		lt := ad.lora[target]
		if s.part == "A" {
			lt.a = t
		} else {
			lt.b = t
		}
		lt.transposed = cfg.FanInFanOut || strings.Contains(s.suffix, "embedding")
		alpha, err := cfg.alphaFor(module)
		if err != nil {
			return err
		}
		lt.scale, lt.rsLoRA = alpha, cfg.RSLoRA // divided by the rank once both halves are known
		ad.lora[target] = lt
		return nil
	}
	if strings.Contains(n, "lora_") {
		return fmt.Errorf("not a LoRA tensor this engine knows (lora_A, lora_B, lora_embedding_A/B)")
	}
	n = strings.Replace(n, ".modules_to_save.default.", ".", 1)
	if bt, ok := base.Tensor(n); !ok || !sameShape(bt.Shape, t.Shape) || !t.DType.IsFloat() {
		return fmt.Errorf("a saved module weight must be a float tensor of the base with its shape (as %q)", n)
	}
	ad.full[n] = t
	return nil
}

// alphaFor is a module's lora_alpha: the first alpha_pattern key that
// matches the end of its name (as PEFT matches them), else lora_alpha.
func (c *adapterConfig) alphaFor(module string) (float64, error) {
	p := c.AlphaPattern
	for i := 0; p.Kind == yaml.MappingNode && i+1 < len(p.Content); i += 2 {
		re, err := regexp.Compile(`^(?:.*\.)?(?:` + p.Content[i].Value + `)$`)
		if err != nil {
			return 0, fmt.Errorf("alpha_pattern %q: %v", p.Content[i].Value, err)
		}
		if re.MatchString(module) {
			var a float64
			if err := p.Content[i+1].Decode(&a); err != nil {
				return 0, fmt.Errorf("alpha_pattern %q: %v", p.Content[i].Value, err)
			}
			return a, nil
		}
	}
	return c.Alpha, nil
}

// check pairs A [r, in] and B [out, r] with the base tensor [out, in] (or
// [in, out] when transposed) and divides the scale by the rank.
func (lt *loraTensor) check(base *Model, target string) error {
	if lt.a.Name == "" || lt.b.Name == "" {
		return fmt.Errorf("needs both lora_A and lora_B")
	}
	bt, ok := base.Tensor(target)
	if !ok || !bt.DType.IsFloat() || len(bt.Shape) != 2 {
		return fmt.Errorf("adapts %q, which is not a 2-D float tensor of the base", target)
	}
	a, b := lt.a.Shape, lt.b.Shape
	if len(a) != 2 || len(b) != 2 || a[0] != b[1] || a[0] == 0 || !lt.a.DType.IsFloat() || !lt.b.DType.IsFloat() {
		return fmt.Errorf("lora_A %v and lora_B %v are not [r, in] and [out, r] float tensors", a, b)
	}
	want := []int64{b[0], a[1]}
	if lt.transposed {
		want = []int64{a[1], b[0]}
	}
	if !sameShape(bt.Shape, want) {
		return fmt.Errorf("B·A is %v, the base tensor %q is %v", want, target, bt.Shape)
	}
	lt.rank = a[0]
	if lt.rsLoRA {
		lt.scale /= math.Sqrt(float64(lt.rank))
	} else {
		lt.scale /= float64(lt.rank)
	}
	return nil
}
