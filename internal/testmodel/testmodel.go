// Package testmodel writes small but realistic model directories (sharded
// safetensors with bf16, f32 and integer tensors, an index, a config and a
// tokenizer) for the demo and the tests: real checkpoints are GBs.
package testmodel

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/safetensors"
)

// Spec sizes a model.
type Spec struct {
	Layers, Hidden, Vocab int
	Shards                int // 1: model.safetensors; more: an index and shards
}

// Small is a model of about 4.5 MB in two shards.
var Small = Spec{Layers: 4, Hidden: 256, Vocab: 1024, Shards: 2}

// tensor is one tensor of the layout, its shard and its values' scale.
type tensor struct {
	spec  safetensors.TensorSpec
	shard int
}

func layout(s Spec) []tensor {
	h, v := int64(s.Hidden), int64(s.Vocab)
	ts := []tensor{
		{safetensors.TensorSpec{Name: "model.embed_tokens.weight", DType: safetensors.BF16, Shape: []int64{v, h}}, 0},
		{safetensors.TensorSpec{Name: "model.position_ids", DType: safetensors.I64, Shape: []int64{64}}, 0},
	}
	for l := 0; l < s.Layers; l++ {
		shard := l * s.Shards / max(s.Layers, 1)
		p := fmt.Sprintf("model.layers.%d.", l)
		ts = append(ts,
			tensor{safetensors.TensorSpec{Name: p + "input_layernorm.weight", DType: safetensors.F32, Shape: []int64{h}}, shard},
			tensor{safetensors.TensorSpec{Name: p + "self_attn.q_proj.weight", DType: safetensors.BF16, Shape: []int64{h, h}}, shard},
			tensor{safetensors.TensorSpec{Name: p + "self_attn.k_proj.weight", DType: safetensors.BF16, Shape: []int64{h, h}}, shard},
			tensor{safetensors.TensorSpec{Name: p + "mlp.up_proj.weight", DType: safetensors.BF16, Shape: []int64{4 * h, h}}, shard},
		)
	}
	last := max(s.Shards-1, 0)
	return append(ts,
		tensor{safetensors.TensorSpec{Name: "model.norm.weight", DType: safetensors.F32, Shape: []int64{h}}, last},
		tensor{safetensors.TensorSpec{Name: "lm_head.weight", DType: safetensors.F32, Shape: []int64{v, h}}, last},
	)
}

// shardName is the Hugging Face name of shard i of n.
func shardName(i, n int) string {
	if n <= 1 {
		return "model.safetensors"
	}
	return fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, n)
}

// WriteBase writes a base model to dir with values drawn from seed.
func WriteBase(dir string, seed uint64, s Spec) error {
	g := testgen.New(seed)
	return write(dir, s, func(t safetensors.TensorSpec, i int) float32 {
		return float32(g.Float64()-0.5) * 0.2
	}, func(i int) int64 { return int64(i) })
}

// WriteFinetune writes base + noise·scale (noise uniform in [-0.5, 0.5),
// drawn from seed) for every float tensor of the base in baseDir, in the
// base's layout and dtypes; integer tensors are copied.
func WriteFinetune(baseDir, dir string, seed uint64, scale float32) error {
	base, err := safetensors.OpenModel(baseDir)
	if err != nil {
		return err
	}
	defer base.Close()
	s, err := readSpec(baseDir)
	if err != nil {
		return err
	}
	g := testgen.New(seed)
	var vals []float32
	var cur string
	return write(dir, s, func(t safetensors.TensorSpec, i int) float32 {
		if cur != t.Name {
			cur = t.Name
			vals = mustRead(base, t)
		}
		return vals[i] + scale*float32(g.Float64()-0.5)
	}, func(i int) int64 { return int64(i) })
}

func mustRead(m *safetensors.Model, t safetensors.TensorSpec) []float32 {
	vals, err := readFloats(m, t.Name, t.DType)
	if err != nil {
		panic(err) // only on a base this package wrote and the caller broke
	}
	return vals
}

// write lays out a model in dir, float values from f, integers from n.
func write(dir string, s Spec, f func(safetensors.TensorSpec, int) float32, n func(int) int64) error {
	if err := writeLayout(dir, s, layout(s), f, n); err != nil {
		return err
	}
	return writeConfig(dir, s)
}

// writeLayout writes the tensors ts in their shards, and an index when
// there are several.
func writeLayout(dir string, s Spec, ts []tensor, f func(safetensors.TensorSpec, int) float32, n func(int) int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	weightMap := map[string]string{}
	for shard := 0; shard < max(s.Shards, 1); shard++ {
		var specs []safetensors.TensorSpec
		for _, t := range ts {
			if t.shard == shard {
				specs = append(specs, t.spec)
				weightMap[t.spec.Name] = shardName(shard, s.Shards)
			}
		}
		if err := writeShard(filepath.Join(dir, shardName(shard, s.Shards)), specs, f, n); err != nil {
			return err
		}
	}
	if s.Shards <= 1 {
		return nil
	}
	return safetensors.WriteIndex(filepath.Join(dir, safetensors.IndexName), &safetensors.Index{WeightMap: weightMap})
}

func writeShard(path string, specs []safetensors.TensorSpec, f func(safetensors.TensorSpec, int) float32, n func(int) int64) error {
	return createShard(path, specs, func(t safetensors.TensorSpec) ([]byte, error) {
		count := 1
		for _, d := range t.Shape {
			count *= int(d)
		}
		raw := make([]byte, count*t.DType.Size())
		if !t.DType.IsFloat() {
			for i := 0; i < count; i++ {
				binary.LittleEndian.PutUint64(raw[i*8:], uint64(n(i)))
			}
			return raw, nil
		}
		vals := make([]float32, count)
		for i := range vals {
			vals[i] = f(t, i)
		}
		return raw, safetensors.EncodeFloat32(raw, vals, t.DType)
	})
}

// createShard writes a safetensors file of specs, each tensor's bytes
// from data, in order.
func createShard(path string, specs []safetensors.TensorSpec, data func(safetensors.TensorSpec) ([]byte, error)) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	w, err := safetensors.NewWriter(out, specs, map[string]string{"format": "pt"})
	if err != nil {
		return err
	}
	for _, t := range specs {
		raw, err := data(t)
		if err != nil {
			return err
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

type config struct {
	ModelType  string `json:"model_type"`
	Layers     int    `json:"num_hidden_layers"`
	Hidden     int    `json:"hidden_size"`
	Vocab      int    `json:"vocab_size"`
	TorchDType string `json:"torch_dtype"`
	Shards     int    `json:"potluck_test_shards"`
}

func writeConfig(dir string, s Spec) error {
	b, _ := json.MarshalIndent(config{ModelType: "potluck-test", Layers: s.Layers, Hidden: s.Hidden, Vocab: s.Vocab, TorchDType: "bfloat16", Shards: s.Shards}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	tok := fmt.Sprintf(`{"version":"1.0","model":{"type":"WordLevel","vocab_size":%d}}`+"\n", s.Vocab)
	return os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(tok), 0o644)
}

func readSpec(dir string) (Spec, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return Spec{}, err
	}
	var c config
	if err := json.Unmarshal(b, &c); err != nil {
		return Spec{}, err
	}
	return Spec{Layers: c.Layers, Hidden: c.Hidden, Vocab: c.Vocab, Shards: c.Shards}, nil
}
