package merge_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A model with tied embeddings has no lm_head: mergekit reads its
// embeddings where another model's lm_head is merged.
func TestTiedEmbeddings(t *testing.T) {
	untied, tied := tiny(2), tiny(2)
	tied.Tied = true
	for _, tc := range []struct {
		name             string
		base, other      bool // tied?
		wantHead, retied bool
	}{
		{"tied input, untied base", false, true, true, false},
		{"untied input, tied base", true, false, true, true},
		{"both tied", true, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bv, ov := untied, untied
			if tc.base {
				bv = tied
			}
			if tc.other {
				ov = tied
			}
			base, other := llama(t, "base", 21, bv), llama(t, "other", 22, ov)
			out, _ := merged(t, fmt.Sprintf("merge_method: linear\nbase_model: %s\nmodels:\n  - model: %[1]s\n  - model: %s\n", base, other))
			got := readTensors(t, out)
			if _, has := got[headName]; has != tc.wantHead {
				t.Fatalf("output has lm_head: %v, want %v", has, tc.wantHead)
			}
			if !tc.wantHead {
				return
			}
			fb, fo := floats(t, base), floats(t, other)
			headOf := func(f map[string][]float64, isTied bool) []float64 {
				if isTied {
					return f[embedName]
				}
				return f[headName]
			}
			hb, ho := headOf(fb, tc.base), headOf(fo, tc.other)
			for i := range 32 {
				checkRow(t, got, headName, i, hb[i*16:(i+1)*16], ho[i*16:(i+1)*16])
			}
			if cfg := readConfig(t, out); cfg["tie_word_embeddings"] != (tc.base && !tc.retied) {
				t.Errorf("config tie_word_embeddings %v, want %v", cfg["tie_word_embeddings"], tc.base && !tc.retied)
			}
		})
	}
}

// config.json's other bytes stay as the base wrote them.
func TestConfigEditsInPlace(t *testing.T) {
	base := llama(t, "base", 1, tiny(4))
	cfg := `{
  "architectures": ["LlamaForCausalLM"],
  "dtype": "bfloat16",
  "num_hidden_layers": 4,
  "text_config": {"num_hidden_layers": 4, "torch_dtype": "bfloat16"},
  "torch_dtype": "bfloat16",
  "vocab_size": 32
}
`
	if err := os.WriteFile(filepath.Join(base, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := merged(t, fmt.Sprintf("merge_method: linear\ndtype: float16\nslices:\n  - sources:\n      - {model: %[1]s, layer_range: [0, 4]}\n  - sources:\n      - {model: %[1]s, layer_range: [1, 3]}\n", base))
	want := `{
  "architectures": ["LlamaForCausalLM"],
  "dtype": "float16",
  "num_hidden_layers": 6,
  "text_config": {"num_hidden_layers": 4, "torch_dtype": "float16"},
  "torch_dtype": "float16",
  "vocab_size": 32
}
`
	if got := readFile(t, out, "config.json"); got != want {
		t.Errorf("config.json:\n%s\nwant:\n%s", got, want)
	}
}
