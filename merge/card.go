package merge

import (
	"bytes"
	"fmt"
	"maps"
	"strings"

	"go.yaml.in/yaml/v3"
)

// cidRecipe is the recipe with every model named by its CID (a model with
// an adapter as CID+CID), so the same merge run locally over directories
// and on a hub records, and writes, the same bytes.
func (j *Job) cidRecipe() *Recipe {
	cid := map[string]string{j.Recipe.BaseModel: j.BaseCID, "": ""}
	for i, ref := range j.Recipe.References() {
		cid[ref] = j.DeltaCIDs[i]
	}
	of := func(ref string) string {
		if c, ok := cid[ref]; ok {
			return c
		}
		return ref
	}
	r := *j.Recipe
	r.BaseModel = of(r.BaseModel)
	r.Models = append([]ModelRef(nil), r.Models...)
	for i := range r.Models {
		r.Models[i].Model = j.DeltaCIDs[i]
	}
	r.Slices = append([]Slice(nil), r.Slices...)
	for i, s := range r.Slices {
		r.Slices[i].BaseModel = of(s.BaseModel)
		r.Slices[i].Sources = append([]SliceSource(nil), s.Sources...)
		for k := range s.Sources {
			r.Slices[i].Sources[k].Model = of(s.Sources[k].Model)
		}
	}
	if kind, model := r.tokenizerSource(); kind == "model" && r.Tokenizer == nil {
		r.TokenizerSource = of(model)
	}
	if r.Tokenizer != nil {
		t := *r.Tokenizer
		if kind, model := r.tokenizerSource(); kind == "model" {
			t.Source = of(model)
		}
		t.Tokens = maps.Clone(t.Tokens)
		for k, te := range t.Tokens {
			te.Source.Model = of(te.Source.Model)
			t.Tokens[k] = te
		}
		r.Tokenizer = &t
	}
	return &r
}

// recipeYAML writes a recipe as mergekit_config.yml: its canonical fields
// in block style, empty ones left out, lists of numbers on one line (as
// mergekit writes them).
func recipeYAML(r *Recipe) ([]byte, error) {
	canon, err := r.Canonical()
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(canon, &doc); err != nil {
		return nil, err
	}
	blockStyle(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// blockStyle drops a mapping's empty values and gives every node the
// plainest style that keeps its value.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		var kept []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if v := n.Content[i+1]; !(v.Tag == "!!null" || (v.Tag == "!!str" && v.Value == "") || (v.Kind == yaml.SequenceNode && len(v.Content) == 0)) {
				kept = append(kept, n.Content[i], v)
			}
		}
		n.Content = kept
	}
	flow := n.Kind == yaml.SequenceNode
	for _, c := range n.Content {
		blockStyle(c)
		flow = flow && c.Kind == yaml.ScalarNode && c.Tag != "!!str"
	}
	n.Style = 0
	if flow {
		n.Style = yaml.FlowStyle
	}
}

// modelCard returns the README.md that describes the merge, and the
// recipe as mergekit_config.yml, from the CID recipe alone: a hub's merge
// and a local one write the same card.
func (j *Job) modelCard() (card, recipe []byte, err error) {
	r := j.cidRecipe()
	if recipe, err = recipeYAML(r); err != nil {
		return nil, nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "---\nlibrary_name: transformers\ntags:\n- merge\n- mergekit\n- potluck\n---\n")
	fmt.Fprintf(&b, "# %s merge\n\n", r.MergeMethod)
	fmt.Fprintf(&b, "This model is a merge of pre-trained language models, made by Potluck %s from a mergekit recipe.\n\n", j.sem.version)
	fmt.Fprintf(&b, "## Method\n\n`%s`", r.MergeMethod)
	if r.BaseModel != "" {
		fmt.Fprintf(&b, ", over the base `%s`", r.BaseModel)
	}
	if n := r.Layers(); n > 0 {
		fmt.Fprintf(&b, ", in %d slices of layers (%d layers in all)", len(r.Slices), n)
	}
	b.WriteString(".\n\n## Models\n\nEvery model is named by its CID: the CID `ipfs add -r --cid-version=1` gives its directory.\n\n")
	for _, ref := range r.References() {
		if ref != r.BaseModel {
			fmt.Fprintf(&b, "- `%s`\n", ref)
		}
	}
	fmt.Fprintf(&b, "\n## Recipe\n\nThe recipe, as `%s` holds it:\n\n```yaml\n%s```\n\n", mergekitRecipe, recipe)
	b.WriteString("## Verify\n\n`potluck.json` records every file and tensor of this directory with its SHA-256, and the recipe with every input by CID. ")
	b.WriteString("A merge is deterministic: the same recipe over the same inputs gives the same bytes, so anyone can check it:\n\n```sh\n")
	b.WriteString("potluck verify DIR --key hub.pub          # signature, files and tensors against potluck.json\n")
	b.WriteString("potluck verify --recompute CID --hub ADDR  # re-run the merge from its inputs and compare the CID\n")
	b.WriteString("potluck cid DIR                           # this directory's CID\n```\n")
	return []byte(b.String()), recipe, nil
}
