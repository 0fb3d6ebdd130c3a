package merge

import "testing"

// Layer positions are mergekit's: per module, i/(L−1) for layer i of L,
// and 0 for every tensor outside the layers (embeddings, the final norm,
// lm_head, a projector).
func TestLayerPositions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		names []string
		want  map[string]float64
	}{{
		name: "llama",
		names: []string{"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
			"model.layers.0.mlp.up_proj.weight", "model.layers.1.self_attn.q_proj.weight", "model.layers.2.input_layernorm.weight"},
		want: map[string]float64{"model.embed_tokens.weight": 0, "model.norm.weight": 0, "lm_head.weight": 0,
			"model.layers.0.mlp.up_proj.weight": 0, "model.layers.1.self_attn.q_proj.weight": 0.5, "model.layers.2.input_layernorm.weight": 1},
	}, {
		// A vision tower of 4 layers beside a language model of 7: each
		// module's last layer sits at 1.
		name: "vision and language",
		names: []string{"vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight", "vision_tower.vision_model.encoder.layers.3.mlp.fc1.weight",
			"language_model.model.layers.0.mlp.up_proj.weight", "language_model.model.layers.3.mlp.up_proj.weight",
			"language_model.model.layers.6.mlp.up_proj.weight", "multi_modal_projector.linear_1.weight", "language_model.lm_head.weight"},
		want: map[string]float64{"vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight": 0, "vision_tower.vision_model.encoder.layers.3.mlp.fc1.weight": 1,
			"language_model.model.layers.0.mlp.up_proj.weight": 0, "language_model.model.layers.3.mlp.up_proj.weight": 0.5,
			"language_model.model.layers.6.mlp.up_proj.weight": 1, "multi_modal_projector.linear_1.weight": 0, "language_model.lm_head.weight": 0},
	}, {
		// The first layer component counts: T5's layer.N inside block.N,
		// an expert's number inside a layer.
		name: "nested numbers",
		names: []string{"encoder.block.0.layer.1.DenseReluDense.wi.weight", "encoder.block.2.layer.0.SelfAttention.q.weight",
			"decoder.block.0.layer.2.DenseReluDense.wo.weight", "model.layers.0.mlp.experts.7.w1.weight", "model.layers.4.mlp.experts.0.w1.weight"},
		want: map[string]float64{"encoder.block.0.layer.1.DenseReluDense.wi.weight": 0, "encoder.block.2.layer.0.SelfAttention.q.weight": 1,
			"decoder.block.0.layer.2.DenseReluDense.wo.weight": 1, "model.layers.0.mlp.experts.7.w1.weight": 0, "model.layers.4.mlp.experts.0.w1.weight": 1},
	}, {
		name:  "gpt2, one layer",
		names: []string{"h.0.attn.c_attn.weight", "wte.weight", "ln_f.weight"},
		want:  map[string]float64{"h.0.attn.c_attn.weight": 1, "wte.weight": 0, "ln_f.weight": 0},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := layerPositions(tc.names)
			for n, w := range tc.want {
				if got[n] != w {
					t.Errorf("%s: t = %v, want %v", n, got[n], w)
				}
			}
		})
	}
}
