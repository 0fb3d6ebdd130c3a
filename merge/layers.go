package merge

import (
	"regexp"
	"strconv"
	"strings"
)

// layerRE finds a tensor's layer index: the number after a layers, h,
// blocks, block or layer component (model.layers.7.mlp…, transformer.h.7…).
var layerRE = regexp.MustCompile(`(?:^|\.)(?:layers|h|blocks|block|layer)\.(\d+)\.`)

// layerIndex returns the layer a tensor belongs to, or -1.
func layerIndex(name string) int {
	m := layerRE.FindStringSubmatch(name)
	if m == nil {
		return -1
	}
	i, err := strconv.Atoi(m[1])
	if err != nil {
		return -1
	}
	return i
}

// layerPositions gives each tensor its position t in [0, 1] for gradients,
// as mergekit does: layer i of L sits at i/(L−1) (1 when L is 1); tensors
// outside the layers sit before them (t = 0) when they embed tokens or
// positions, after them (t = 1) otherwise (final norm, lm_head). L is one
// more than the largest layer index among the names.
func layerPositions(names []string) map[string]float64 {
	layers := 0
	for _, n := range names {
		layers = max(layers, layerIndex(n)+1)
	}
	out := make(map[string]float64, len(names))
	for _, n := range names {
		switch i := layerIndex(n); {
		case i >= 0 && layers > 1:
			out[n] = float64(i) / float64(layers-1)
		case i >= 0:
			out[n] = 1
		case isEmbedding(n):
			out[n] = 0
		default:
			out[n] = 1
		}
	}
	return out
}

func isEmbedding(name string) bool {
	for _, s := range []string{"embed", "wte", "wpe", "word_embeddings"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
