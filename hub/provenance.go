package hub

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/signing"
)

// rootDigest is the model-signing root digest over a release's files, in
// hex.
func rootDigest(files []potluck.File) (string, error) {
	root, err := signing.FilesRoot(files)
	return hex.EncodeToString(root[:]), err
}

// provenance builds and signs, with the hub's key, the in-toto statement of
// a merge release r whose manifest is man: subject the output's root CID
// with its files' root digest, predicate the recipe, the base and every
// input by CID and digest, and the engine.
func (h *Hub) provenance(r *potluck.Release, man *potluck.Manifest) ([]byte, error) {
	if man.Merge == nil {
		return nil, fmt.Errorf("hub: merge %s has no provenance in its manifest", r.CID)
	}
	var p potluck.Provenance
	p.Recipe, p.Engine = man.Merge.Recipe, man.Merge.Engine
	p.Output.CID, p.Output.Files = r.CID, r.Files
	ref := func(c string, w float64, grad []float64) (potluck.ProvenanceRef, error) {
		in, err := h.releases.get(c)
		if err != nil {
			return potluck.ProvenanceRef{}, err
		}
		root, err := rootDigest(in.Files)
		return potluck.ProvenanceRef{CID: c, Root: root, Weight: w, Gradient: grad}, err
	}
	var err error
	if p.Base, err = ref(man.Base, 0, nil); err != nil {
		return nil, err
	}
	recipe, err := merge.ParseRecipe(man.Merge.Recipe)
	if err != nil {
		return nil, fmt.Errorf("hub: merge %s: recorded recipe: %w", r.CID, err)
	}
	for i, in := range man.Merge.Inputs {
		pr, err := ref(in.CID, in.Weight, recipe.WeightGradient(i))
		if err != nil {
			return nil, err
		}
		p.Inputs = append(p.Inputs, pr)
	}
	outRoot, err := rootDigest(r.Files)
	if err != nil {
		return nil, err
	}
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": r.CID, "digest": map[string]string{"sha256": outRoot}}},
		"predicateType": potluck.ProvenanceType,
		"predicate":     p,
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	return signing.SignStatement(h.key, b)
}
