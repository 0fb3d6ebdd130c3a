package merge

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// TokenizerConfig is mergekit's tokenizer block: the output's vocabulary
// (Source: "union", the default, "base", or a model of the merge), an
// embedding source for chosen tokens (added to the vocabulary when new),
// and a vocabulary size rounded up to a multiple.
type TokenizerConfig struct {
	Source          string                    `yaml:"source,omitempty" json:"source,omitempty"`
	Tokens          map[string]TokenEmbedding `yaml:"tokens,omitempty" json:"tokens,omitempty"`
	PadToMultipleOf int                       `yaml:"pad_to_multiple_of,omitempty" json:"pad_to_multiple_of,omitempty"`
}

// TokenEmbedding says where a token's embedding row comes from for the
// models that lack the token, or for every model when Force is set.
type TokenEmbedding struct {
	Source EmbeddingSource `yaml:"source,omitempty" json:"source,omitempty"`
	Force  bool            `yaml:"force,omitempty" json:"force,omitempty"`
}

// EmbeddingSource is a token's embedding source: a model of the merge (its
// row of the same token), written as the model's reference; or
// {kind: model_token, model, token_id | token}, another token's row of a
// model; or {kind: zero}.
type EmbeddingSource struct {
	Kind    string `yaml:"kind,omitempty" json:"kind,omitempty"`
	Model   string `yaml:"model,omitempty" json:"model,omitempty"`
	TokenID *int   `yaml:"token_id,omitempty" json:"token_id,omitempty"`
	Token   string `yaml:"token,omitempty" json:"token,omitempty"`
}

type embeddingSourceFields EmbeddingSource // without the methods below

// UnmarshalYAML reads a model reference or a {kind: ...} mapping.
func (e *EmbeddingSource) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*e = EmbeddingSource{Model: n.Value}
		return nil
	}
	for i := 0; n.Kind == yaml.MappingNode && i < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains([]string{"kind", "model", "token_id", "token"}, k) {
			return fmt.Errorf("line %d: field %s not found in an embedding source (kind, model, token_id, token)", n.Content[i].Line, k)
		}
	}
	return n.Decode((*embeddingSourceFields)(e))
}

// MarshalYAML writes a model's own row as the model's reference.
func (e EmbeddingSource) MarshalYAML() (any, error) {
	if e.Kind == "" {
		return e.Model, nil
	}
	return embeddingSourceFields(e), nil
}

// MarshalJSON writes a model's own row as the model's reference.
func (e EmbeddingSource) MarshalJSON() ([]byte, error) {
	if e.Kind == "" {
		return json.Marshal(e.Model)
	}
	return json.Marshal(embeddingSourceFields(e))
}

// tokenizerSource is the recipe's choice of vocabulary: "" (none: the
// base's tokenizer files as they are), "base", "union", or "model" with
// the model's reference.
func (r *Recipe) tokenizerSource() (kind, model string) {
	src := r.TokenizerSource
	if r.Tokenizer != nil {
		src = cmp.Or(r.Tokenizer.Source, "union")
	}
	switch src {
	case "", "base", "union":
		return src, ""
	}
	return "model", strings.TrimPrefix(src, "model:")
}

// checkTokenizer checks the tokenizer fields: every model they name must
// be one the merge opens (the base or an input), whose embeddings give its
// tokens' rows.
func (r *Recipe) checkTokenizer() error {
	if r.TokenizerSource != "" && r.Tokenizer != nil {
		return fmt.Errorf("%w: the recipe gives both tokenizer_source and tokenizer; give one of them", ErrRecipe)
	}
	inMerge := func(where, model string) error {
		if model == "" {
			return fmt.Errorf("%w: %s: a source is required: a model of the merge, {kind: model_token, ...} or {kind: zero}", ErrRecipe, where)
		}
		if model != r.BaseModel && !slices.Contains(r.References(), model) {
			return fmt.Errorf("%w: %s: model %q is not one of the merge's models (its embeddings give the token rows)", ErrRecipe, where, model)
		}
		return nil
	}
	if kind, model := r.tokenizerSource(); kind == "model" {
		if err := inMerge("tokenizer source", model); err != nil {
			return err
		}
	}
	if err := checkChatTemplate(r.ChatTemplate); err != nil {
		return err
	}
	if r.Tokenizer == nil {
		return nil
	}
	if r.Tokenizer.PadToMultipleOf < 0 {
		return fmt.Errorf("%w: tokenizer.pad_to_multiple_of must be ≥ 0, got %d", ErrRecipe, r.Tokenizer.PadToMultipleOf)
	}
	for _, tok := range sortedKeys(r.Tokenizer.Tokens) {
		src := r.Tokenizer.Tokens[tok].Source
		where := fmt.Sprintf("tokenizer.tokens[%q].source", tok)
		switch src.Kind {
		case "zero":
			if src.Model != "" || src.TokenID != nil || src.Token != "" {
				return fmt.Errorf("%w: %s: kind zero takes no model or token", ErrRecipe, where)
			}
			continue
		case "model_token":
			if (src.TokenID == nil) == (src.Token == "") {
				return fmt.Errorf("%w: %s: kind model_token needs one of token_id and token", ErrRecipe, where)
			}
		case "":
		default:
			return fmt.Errorf("%w: %s: kind %q (supported: model_token, zero, or a model's reference)", ErrRecipe, where, src.Kind)
		}
		if err := inMerge(where, src.Model); err != nil {
			return err
		}
	}
	return nil
}
