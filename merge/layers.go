package merge

import (
	"regexp"
	"strconv"
	"strings"
)

// Gradients are evaluated at each tensor's layer position t in [0, 1], as
// mergekit computes it (since its v0.1.2, "multi-module architectures"):
// a model is made of modules (a language model, a vision tower, an
// encoder and a decoder), each with its own stack of layers; layer i of a
// module of L layers sits at i/(L−1) (at 1 when L is 1), and every tensor
// outside the layers (embeddings, the final norm, lm_head, a projector)
// at 0. A tensor's module is the name before its layer number
// (model.layers, vision_tower.vision_model.encoder.layers), and L is one
// more than the largest layer number of that module: mergekit reads it
// from the config, or infers it from the names as here.

// layerRE finds a tensor's layer number: the number after a layers, h,
// blocks, block or layer component (model.layers.7.mlp…, transformer.h.7…,
// visual.blocks.7…). The first such component counts, so an expert's
// number inside a layer (…layers.7.mlp.experts.3…) is not a layer.
var layerRE = regexp.MustCompile(`(?:^|\.)(?:layers|h|blocks|block|layer)\.(\d+)\.`)

// layerOf returns the module a tensor's layer belongs to and the layer's
// number, or false for a tensor outside the layers.
func layerOf(name string) (module string, index int, ok bool) {
	m := layerRE.FindStringSubmatchIndex(name)
	if m == nil {
		return "", 0, false
	}
	i, err := strconv.Atoi(name[m[2]:m[3]])
	if err != nil {
		return "", 0, false
	}
	return name[:m[2]-1], i, true
}

// layerPositions gives each tensor its position t in [0, 1] for gradients:
// i/(L−1) for layer i of a module of L layers (1 when L is 1), 0 outside
// the layers.
func layerPositions(names []string) map[string]float64 {
	layers := map[string]int{}
	for _, n := range names {
		if mod, i, ok := layerOf(n); ok {
			layers[mod] = max(layers[mod], i+1)
		}
	}
	out := make(map[string]float64, len(names))
	for _, n := range names {
		mod, i, ok := layerOf(n)
		switch {
		case !ok:
			out[n] = 0
		case layers[mod] > 1:
			out[n] = float64(i) / float64(layers[mod]-1)
		default:
			out[n] = 1
		}
	}
	return out
}

// layerIndex returns the layer a tensor belongs to, or -1 for a tensor
// outside the layers.
func layerIndex(name string) int {
	if _, i, ok := layerOf(name); ok {
		return i
	}
	return -1
}

// isEmbedding reports whether a tensor outside the layers embeds tokens or
// positions (it sits before the layers; the final norm and lm_head after).
func isEmbedding(name string) bool {
	for _, s := range []string{"embed", "wte", "wpe", "word_embeddings"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
