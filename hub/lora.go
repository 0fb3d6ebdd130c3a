package hub

import (
	"fmt"
	"maps"
	"slices"

	"github.com/potluck-hub/potluck/merge"
)

// A PEFT LoRA adapter is published as a delta of its base stored as it is
// (adapter_config.json, adapter_model.safetensors and a manifest whose
// tensors are encoded "lora", or "full" for a saved module): the size of
// its factors, not of the model. Admission checks it through the delta's
// stages: fit pairs every lora_A [r, in] with its lora_B [out, r] over a
// base tensor [out, in] with r ≤ min(in, out) and a sane scale
// (merge.CheckAdapter), values scans every factor (finite, digests, not all
// zero), norm bounds ‖s·B·A‖ by the base tensor's norm, and cosine
// screening leaves it out. A merge on the hub reads it as s·B·A, as a local
// merge does.

// checkAdapterNorms bounds the norm of what an adapter adds to each base
// tensor by that tensor's norm.
func (h *Hub) checkAdapterNorms(a *admission, bound float64) error {
	norms, err := merge.AdapterNorms(a.base, a.upload)
	if err != nil {
		return rejected(err)
	}
	for _, target := range slices.Sorted(maps.Keys(norms)) {
		if err := h.withinBound(a, fmt.Sprintf("adapter for tensor %q", target), target, norms[target], bound); err != nil {
			return err
		}
	}
	return nil
}
