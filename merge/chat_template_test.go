package merge_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	templateA = "{% for m in messages %}A: {{ m['content'] }}{% endfor %}"
	templateB = "{% for m in messages %}B: {{ m['content'] }}{% endfor %}"
)

// withTemplate gives a model a tokenizer_config.json holding template.
func withTemplate(t *testing.T, dir, template string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"tokenizer_class": "PreTrainedTokenizerFast", "chat_template": template})
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func outTemplate(t *testing.T, dir string) string {
	t.Helper()
	var cfg struct {
		ChatTemplate string `json:"chat_template"`
	}
	if err := json.Unmarshal([]byte(readFile(t, dir, "tokenizer_config.json")), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.ChatTemplate
}

func TestChatTemplate(t *testing.T) {
	base := llama(t, "base", 31, tiny(2))
	a, b := tuned(t, base, "a", 32), tuned(t, base, "b", 33)
	withTemplate(t, base, templateA)
	withTemplate(t, a, templateB)
	withTemplate(t, b, templateB)
	recipe := func(template string) string {
		return fmt.Sprintf("merge_method: linear\nbase_model: %s\nchat_template: %q\nmodels:\n  - model: %s\n  - model: %s\n", base, template, a, b)
	}
	for _, tc := range []struct{ name, template, want string }{
		{"auto takes the most models'", "auto", templateB},
		{"a template of its own", "{{ messages[0]['content'] }} and so on", "{{ messages[0]['content'] }} and so on"},
		{"built-in chatml", "chatml", "<|im_start|>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := merged(t, recipe(tc.template))
			if got := outTemplate(t, out); !strings.Contains(got, tc.want) || (tc.name != "built-in chatml" && got != tc.want) {
				t.Errorf("chat_template %q, want %q", got, tc.want)
			}
			if readFile(t, out, "tokenizer.json") != readFile(t, base, "tokenizer.json") {
				t.Error("tokenizer.json is not the base's")
			}
		})
	}
	t.Run("chat_template.jinja", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(base, "chat_template.jinja"), []byte(templateA), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(base, "chat_template.jinja"))
		out, _ := merged(t, recipe("chatml"))
		if got := readFile(t, out, "chat_template.jinja"); !strings.HasPrefix(got, "{% for message in messages %}{{ '<|im_start|>'") {
			t.Errorf("chat_template.jinja %q, want the chatml template", got)
		}
	})
}

// The tokenizer fields' mistakes are errors that say exactly what is wrong.
func TestTokenizerRejects(t *testing.T) {
	base := llama(t, "base", 31, tiny(2))
	a := tuned(t, base, "a", 32)
	head := fmt.Sprintf("merge_method: linear\nbase_model: %s\nmodels:\n  - model: %s\n", base, a)
	for _, tc := range []struct{ name, yaml, want string }{
		{"both fields", "tokenizer_source: union\ntokenizer: {source: base}\n",
			"merge: bad recipe: the recipe gives both tokenizer_source and tokenizer; give one of them"},
		{"source outside the merge", "tokenizer_source: ./elsewhere\n",
			`merge: bad recipe: tokenizer source: model "./elsewhere" is not one of the merge's models (its embeddings give the token rows)`},
		{"token without a source", "tokenizer:\n  tokens:\n    <x>: {force: true}\n",
			`merge: bad recipe: tokenizer.tokens["<x>"].source: a source is required: a model of the merge, {kind: model_token, ...} or {kind: zero}`},
		{"unknown kind", "tokenizer:\n  tokens:\n    <x>: {source: {kind: mean}}\n",
			`merge: bad recipe: tokenizer.tokens["<x>"].source: kind "mean" (supported: model_token, zero, or a model's reference)`},
		{"model_token with both", "tokenizer:\n  tokens:\n    <x>: {source: {kind: model_token, model: BASE, token_id: 1, token: a}}\n",
			`merge: bad recipe: tokenizer.tokens["<x>"].source: kind model_token needs one of token_id and token`},
		{"negative padding", "tokenizer: {pad_to_multiple_of: -8}\n",
			"merge: bad recipe: tokenizer.pad_to_multiple_of must be ≥ 0, got -8"},
		{"chat template", "chat_template: chatmlx\n",
			`merge: bad recipe: chat_template "chatmlx" is neither auto, a built-in template (alpaca, chatml, exaone, llama3, mistral) nor a Jinja template`},
		{"unknown field in a source", "tokenizer:\n  tokens:\n    <x>: {source: {kind: zero, weight: 1}}\n",
			"merge: bad recipe: line 7: field weight not found in an embedding source (kind, model, token_id, token)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := outDir(t)
			_, err := runRecipe(head+strings.ReplaceAll(tc.yaml, "BASE", base), out)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error:\n  %v\nwant:\n  %s", err, tc.want)
			}
			checkNoOutput(t, out)
		})
	}
}
