package merge_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/safetensors"
)

// The models of mergekit's tokenizer tests: a base of 64 tokens; a ChatML
// model with two added tokens (66 rows); a model whose tokenizer lists
// four unused tokens past its 64 rows.
type vocabModels struct{ base, chatml, padded string }

func vocab64() []string {
	toks := []string{"<unk>", "<s>", "</s>"}
	for i := 3; i < 64; i++ {
		toks = append(toks, fmt.Sprintf("_tok_%d", i))
	}
	return toks
}

func newVocabModels(t *testing.T) vocabModels {
	v := tiny(2)
	v.Tokens = vocab64()
	base := llama(t, "base", 11, v)
	v.Added = []string{"<|im_start|>", "<|im_end|>"}
	chatml := llama(t, "chatml", 12, v)
	v.Added, v.Rows = []string{"<UNUSED_0>", "<UNUSED_1>", "<UNUSED_2>", "<UNUSED_3>"}, 64
	padded := llama(t, "padded", 13, v)
	return vocabModels{base, chatml, padded}
}

func (m vocabModels) recipe(method, extra string, models ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "merge_method: %s\nbase_model: %s\ndtype: float32\n%smodels:\n", method, m.base, extra)
	for _, d := range models {
		fmt.Fprintf(&b, "  - model: %s\n    parameters: {weight: 1.0}\n", d)
	}
	return b.String()
}

// tokenizerOf reads an output's vocabulary (token → id) and added tokens.
func tokenizerOf(t *testing.T, dir string) (map[string]int, []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Added []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &tok); err != nil {
		t.Fatal(err)
	}
	var added []string
	for _, a := range tok.Added {
		tok.Model.Vocab[a.Content] = a.ID
		added = append(added, a.Content)
	}
	return tok.Model.Vocab, added
}

// row returns row i of a 2-D float tensor of a model's floats.
func row(f map[string][]float64, name string, i, cols int) []float64 {
	return f[name][i*cols : (i+1)*cols]
}

// checkRow checks row i of the output's tensor against the linear mean of
// the given rows, one per merged model.
func checkRow(t *testing.T, out map[string]tensorBytes, name string, i int, rows ...[]float64) {
	t.Helper()
	cols := int(out[name].Shape[1])
	size := out[name].DType.Size()
	raw := out[name].Raw[i*cols*size : (i+1)*cols*size]
	ws := make([]float64, len(rows))
	deltas := make([][]float64, len(rows))
	for k, r := range rows {
		ws[k] = 1
		deltas[k] = make([]float64, cols)
		for c := range r {
			deltas[k][c] = r[c] - rows[0][c]
		}
	}
	ref, mag := linear(rows[0], ws, true, deltas)
	checkValues(t, fmt.Sprintf("%s row %d", name, i), out[name].DType, raw, ref, mag, linearOps(len(rows))+4, true)
}

const embedName, headName = "model.embed_tokens.weight", "lm_head.weight"

func TestTokenizerLegacyCutsToCommonRows(t *testing.T) {
	m := newVocabModels(t)
	out, _ := merged(t, m.recipe("linear", "", m.base, m.padded, m.chatml))
	got := readTensors(t, out)
	for _, name := range []string{embedName, headName} {
		if !slices.Equal(got[name].Shape, []int64{64, 16}) {
			t.Errorf("%s shape %v, want [64 16] (the rows all models have)", name, got[name].Shape)
		}
	}
	fb, fp, fc := floats(t, m.base), floats(t, m.padded), floats(t, m.chatml)
	checkRow(t, got, embedName, 5, row(fb, embedName, 5, 16), row(fp, embedName, 5, 16), row(fc, embedName, 5, 16))
	if cfg := readConfig(t, out); cfg["vocab_size"] != 64.0 {
		t.Errorf("config vocab_size %v, want 64", cfg["vocab_size"])
	}
	if a, b := readFile(t, out, "tokenizer.json"), readFile(t, m.base, "tokenizer.json"); a != b {
		t.Error("tokenizer.json is not the base's")
	}
}

func TestTokenizerSourceBase(t *testing.T) {
	m := newVocabModels(t)
	out, _ := merged(t, m.recipe("linear", "tokenizer_source: base\n", m.base, m.padded, m.chatml))
	vocab, added := tokenizerOf(t, out)
	if len(vocab) != 64 || len(added) != 0 {
		t.Errorf("vocabulary of %d tokens, %d added; want the base's 64, none added", len(vocab), len(added))
	}
	got := readTensors(t, out)
	fb, fp, fc := floats(t, m.base), floats(t, m.padded), floats(t, m.chatml)
	for _, i := range []int{0, 1, 40, 63} {
		checkRow(t, got, headName, i, row(fb, headName, i, 16), row(fp, headName, i, 16), row(fc, headName, i, 16))
	}
	if cfg := readConfig(t, out); cfg["vocab_size"] != 64.0 {
		t.Errorf("config vocab_size %v, want 64", cfg["vocab_size"])
	}
}

func TestTokenizerUnion(t *testing.T) {
	m := newVocabModels(t)
	out, _ := merged(t, m.recipe("linear", "tokenizer_source: union\n", m.base, m.padded, m.chatml))
	vocab, added := tokenizerOf(t, out)
	if len(vocab) != 66 || !slices.Equal(added, []string{"<|im_start|>", "<|im_end|>"}) || vocab["<|im_start|>"] != 64 || vocab["<|im_end|>"] != 65 {
		t.Errorf("vocabulary of %d tokens, added %v at %d and %d; want 66, the ChatML tokens at 64 and 65", len(vocab), added, vocab["<|im_start|>"], vocab["<|im_end|>"])
	}
	got := readTensors(t, out)
	fc := floats(t, m.chatml)
	for _, name := range []string{embedName, headName} {
		for _, i := range []int{64, 65} {
			c := row(fc, name, i, 16)
			checkRow(t, got, name, i, c, c, c) // every model takes the one model's row
		}
	}
	if cfg := readConfig(t, out); cfg["vocab_size"] != 66.0 {
		t.Errorf("config vocab_size %v, want 66", cfg["vocab_size"])
	}
	var tc struct {
		Decoder map[string]struct{ Content string } `json:"added_tokens_decoder"`
	}
	if err := json.Unmarshal([]byte(readFile(t, out, "tokenizer_config.json")), &tc); err != nil || tc.Decoder["65"].Content != "<|im_end|>" || len(tc.Decoder) != 2 {
		t.Errorf("tokenizer_config.json added_tokens_decoder %v (%v), want the two ChatML tokens", tc.Decoder, err)
	}
}

func TestTokenizerSourceModel(t *testing.T) {
	m := newVocabModels(t)
	out, _ := merged(t, m.recipe("linear", "tokenizer_source: model:"+m.chatml+"\n", m.base, m.padded, m.chatml))
	if a, b := readFile(t, out, "tokenizer.json"), readFile(t, m.chatml, "tokenizer.json"); a != b {
		t.Error("tokenizer.json is not the ChatML model's")
	}
	if got := readTensors(t, out); got[embedName].Shape[0] != 66 {
		t.Errorf("%s has %d rows, want 66", embedName, got[embedName].Shape[0])
	}
}

func TestTokenizerSlerpUnion(t *testing.T) {
	m := newVocabModels(t)
	out, _ := merged(t, m.recipe("slerp", "tokenizer_source: union\nparameters: {t: 0.5}\n", m.base, m.chatml))
	if vocab, _ := tokenizerOf(t, out); len(vocab) != 66 {
		t.Errorf("vocabulary of %d tokens, want 66", len(vocab))
	}
}

func TestTokenizerTokens(t *testing.T) {
	m := newVocabModels(t)
	out, _ := merged(t, m.recipe("linear", fmt.Sprintf(`tokenizer:
  source: union
  tokens:
    _tok_10: {source: %[1]s, force: true}
    _tok_11: {source: %[2]s, force: true}
    _tok_20:
      source: {kind: model_token, model: %[1]s, token_id: 64}
      force: true
    _tok_21:
      source: {kind: model_token, model: %[2]s, token: "<s>"}
      force: true
    <|new|>:
      source: {kind: zero}
`, m.chatml, m.base), m.base, m.chatml))
	got := readTensors(t, out)
	fb, fc := floats(t, m.base), floats(t, m.chatml)
	for _, c := range []struct {
		i    int
		want []float64
	}{{10, row(fc, embedName, 10, 16)}, {11, row(fb, embedName, 11, 16)}, {20, row(fc, embedName, 64, 16)}, {21, row(fb, embedName, 1, 16)}, {66, make([]float64, 16)}} {
		checkRow(t, got, embedName, c.i, c.want, c.want)
	}
	if vocab, _ := tokenizerOf(t, out); vocab["<|new|>"] != 66 {
		t.Errorf("<|new|> has id %d, want 66", vocab["<|new|>"])
	}
}

func TestTokenizerPadToMultiple(t *testing.T) {
	m := newVocabModels(t)
	m.base = m.chatml
	out, _ := merged(t, m.recipe("linear", "tokenizer:\n  source: base\n  pad_to_multiple_of: 16\n", m.chatml))
	got := readTensors(t, out)
	if got[embedName].Shape[0] != 80 {
		t.Fatalf("%s has %d rows, want 80", embedName, got[embedName].Shape[0])
	}
	if cfg := readConfig(t, out); cfg["vocab_size"] != 80.0 {
		t.Errorf("config vocab_size %v, want 80", cfg["vocab_size"])
	}
	if vocab, _ := tokenizerOf(t, out); len(vocab) != 66 {
		t.Errorf("vocabulary of %d tokens, want 66", len(vocab))
	}
	fc := floats(t, m.chatml)
	mean := make([]float64, 16)
	for i := range 66 {
		for c, v := range row(fc, embedName, i, 16) {
			mean[c] += v / 66
		}
	}
	for c := range mean { // a computed row is stored as the model stores its rows
		mean[c] = roundTo(t, safetensors.BF16, float64(float32(mean[c])))
	}
	checkRow(t, got, embedName, 79, mean)
}

func readFile(t testing.TB, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
