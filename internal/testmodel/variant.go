package testmodel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/safetensors"
)

// Variant shapes a model beyond Spec, for the merge's tests of recipes
// that change a model's shape: tied embeddings, another vocabulary, other
// tensor names.
type Variant struct {
	Spec
	// Tied leaves lm_head out (its embeddings are tied) and says so in
	// config.json.
	Tied bool
	// Tokens, when set, is the vocabulary in id order, written to
	// tokenizer.json as a BPE vocabulary; Added follow them as added
	// tokens. The embeddings then have a row for each (Vocab is ignored)
	// and Pad more.
	Tokens, Added []string
	Pad           int
	// Rows, when set, is the embeddings' row count instead: fewer rows
	// than tokens make a tokenizer padded past its model.
	Rows int
	// GPT2 names the tensors as GPT-2 does (transformer.h.N, wte, ln_f)
	// and the layer count n_layer.
	GPT2 bool
}

// rows is the embeddings' row count.
func (v Variant) rows() int {
	switch {
	case v.Rows > 0:
		return v.Rows
	case v.Tokens == nil:
		return v.Vocab
	}
	return len(v.Tokens) + len(v.Added) + v.Pad
}

// WriteVariant writes a base model of the variant to dir with values drawn
// from seed.
func WriteVariant(dir string, seed uint64, v Variant) error {
	s := v.Spec
	s.Vocab = v.rows()
	var ts []tensor
	for _, t := range layout(s) {
		if v.Tied && t.spec.Name == "lm_head.weight" {
			continue
		}
		if v.GPT2 {
			t.spec.Name = gpt2Name(t.spec.Name)
		}
		ts = append(ts, t)
	}
	g := testgen.New(seed)
	vals := func(safetensors.TensorSpec, int) float32 { return float32(g.Float64()-0.5) * 0.2 }
	if err := writeLayout(dir, s, ts, vals, func(i int) int64 { return int64(i) }); err != nil {
		return err
	}
	return v.writeFiles(dir)
}

func gpt2Name(n string) string {
	r := strings.NewReplacer("model.layers.", "transformer.h.", "model.embed_tokens.", "transformer.wte.", "model.norm.", "transformer.ln_f.")
	return r.Replace(n)
}

// writeFiles writes config.json and the tokenizer files.
func (v Variant) writeFiles(dir string) error {
	cfg := map[string]any{"model_type": "llama", "architectures": []string{"LlamaForCausalLM"}, "hidden_size": v.Hidden,
		"num_hidden_layers": v.Layers, "vocab_size": v.rows(), "torch_dtype": "bfloat16", "tie_word_embeddings": v.Tied}
	if v.GPT2 {
		delete(cfg, "num_hidden_layers")
		cfg["model_type"], cfg["architectures"], cfg["n_layer"] = "gpt2", []string{"GPT2LMHeadModel"}, v.Layers
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if v.Tokens == nil {
		tok := fmt.Sprintf(`{"version":"1.0","model":{"type":"WordLevel","vocab_size":%d}}`+"\n", v.Vocab)
		return os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(tok), 0o644)
	}
	return writeTokenizer(dir, v.Tokens, v.Added)
}

// writeTokenizer writes tokenizer.json (a BPE vocabulary, no merges) and
// tokenizer_config.json with the added tokens, as transformers saves them.
func writeTokenizer(dir string, tokens, added []string) error {
	vocab := map[string]int{}
	for i, t := range tokens {
		vocab[t] = i
	}
	type addedToken struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	addedList := []addedToken{}
	decoder := map[string]any{}
	for i, t := range added {
		at := addedToken{ID: len(tokens) + i, Content: t, Special: true}
		addedList = append(addedList, at)
		decoder[fmt.Sprint(at.ID)] = map[string]any{"content": t, "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true}
	}
	tok := map[string]any{"version": "1.0", "added_tokens": addedList, "model": map[string]any{"type": "BPE", "vocab": vocab, "merges": []string{}}}
	b, _ := json.MarshalIndent(tok, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	cfg := map[string]any{"tokenizer_class": "PreTrainedTokenizerFast", "added_tokens_decoder": decoder}
	b, _ = json.MarshalIndent(cfg, "", "  ")
	return os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), append(b, '\n'), 0o644)
}
