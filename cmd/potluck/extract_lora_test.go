package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// extract-lora writes an adapter that merge reads, and prints each
// module's reconstruction error.
func TestExtractLoRACommand(t *testing.T) {
	f := newMergeFixture(t)
	adapter := filepath.Join(f.dir, "adapter")
	stdout, _, err := run(t, "extract-lora", "--base-model", f.base, "--model", f.tuned[0], "--max-rank", "4", "--out", adapter)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if last := lines[len(lines)-1]; last != cidOf(t, adapter)+"\t"+adapter {
		t.Errorf("last line %q, want the adapter's CID and directory", last)
	}
	if q := lines[1]; !strings.HasPrefix(q, "model.layers.0.input_layernorm.weight\tsaved whole") {
		t.Errorf("second line %q, want the first layer's norm saved whole", q)
	}
	if q := lines[2]; !strings.HasPrefix(q, "model.layers.0.self_attn.q_proj.weight\trank 4\trelative error 0.") {
		t.Errorf("third line %q, want q_proj's rank and error", q)
	}
	recipe := f.write(t, fmt.Sprintf("merge_method: task_arithmetic\nbase_model: BASE\nmodels:\n  - model: %s\n", adapter))
	if _, _, err := run(t, "merge", recipe, filepath.Join(f.dir, "merged")); err != nil {
		t.Errorf("merging the adapter: %v", err)
	}
	if _, _, err := run(t, "extract-lora", "--model", f.tuned[0]); err == nil || err.Error() != `required flag(s) "base", "out" not set` {
		t.Errorf("without --base and --out: %v", err)
	}
	if _, _, err := run(t, "extract-lora", "--base", f.base, "--model", f.tuned[0], "--out", adapter+"2", "--dtype", "int8"); err == nil || err.Error() != `--dtype "int8": want F32, BF16 or F16` {
		t.Errorf("--dtype int8: %v", err)
	}
}
