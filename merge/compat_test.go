package merge

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/store"
)

// TestEngine020 recomputes merges written by potluck 0.2.0 (the binary of
// commit f65a539, testdata/engine-0.2.0/README.md) and gets their CIDs:
// a merge published before the engine changed its layer positions and
// output files still verifies with --recompute.
func TestEngine020(t *testing.T) {
	dir := filepath.Join("testdata", "engine-0.2.0")
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) < 8 {
		t.Fatalf("expected.json holds %d merges", len(want))
	}
	for name, cid := range want {
		t.Run(name, func(t *testing.T) {
			if got := mergeFixture(t, dir, name, "potluck 0.2.0"); got != cid {
				t.Fatalf("engine potluck 0.2.0 gives %s, potluck 0.2.0 wrote %s", got, cid)
			}
		})
	}
}

// TestEngineCurrentDiffers shows the fixture tells the engines apart:
// today's engine writes a model card and puts lm_head and the final norm
// at t = 0, so the same recipe gives other bytes.
func TestEngineCurrentDiffers(t *testing.T) {
	dir := filepath.Join("testdata", "engine-0.2.0")
	old := mergeFixture(t, dir, "task_arithmetic", "potluck 0.2.0")
	cur := mergeFixture(t, dir, "task_arithmetic", "")
	if old == cur {
		t.Fatalf("both engines give %s", cur)
	}
}

func TestEngineRefused(t *testing.T) {
	for _, tc := range []struct{ engine, msg string }{
		{"potluck 9.0.0", "the merge was written by potluck 9.0.0, newer than this one"},
		{"mergekit 0.1.2", `unknown engine "mergekit 0.1.2"`},
		{"potluck 0.3", `unknown engine "potluck 0.3"`},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			_, err := semanticsOf(tc.engine)
			if !errors.Is(err, ErrEngine) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("semanticsOf(%q) = %v, want ErrEngine saying %q", tc.engine, err, tc.msg)
			}
		})
	}
}

// mergeFixture merges recipes/NAME.yaml of dir with the given engine and
// returns the output's CID.
func mergeFixture(t *testing.T, dir, name, engine string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "recipes", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRecipe(b)
	if err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string { return filepath.Join(dir, p) }
	r.BaseModel = abs(r.BaseModel)
	for i := range r.Models {
		r.Models[i].Model = abs(r.Models[i].Model)
	}
	job, err := Open(context.Background(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	job.Engine = engine
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Run(context.Background(), job, out); err != nil {
		t.Fatal(err)
	}
	scan, err := store.ScanDir(out)
	if err != nil {
		t.Fatal(err)
	}
	c, err := scan.CID()
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// TestOutputOptionsRecorded: a merge written without a model card or the
// base's tokenizer says so in its provenance, which is what a recompute
// reads to write the same files.
func TestOutputOptionsRecorded(t *testing.T) {
	dir := filepath.Join("testdata", "engine-0.2.0")
	b, err := os.ReadFile(filepath.Join(dir, "recipes", "median.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRecipe(b)
	if err != nil {
		t.Fatal(err)
	}
	r.BaseModel = filepath.Join(dir, r.BaseModel)
	for i := range r.Models {
		r.Models[i].Model = filepath.Join(dir, r.Models[i].Model)
	}
	job, err := Open(context.Background(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	job.Output = OutputOptions{NoModelCard: true, NoTokenizer: true}
	out := filepath.Join(t.TempDir(), "out")
	man, err := Run(context.Background(), job, out)
	if err != nil {
		t.Fatal(err)
	}
	if !man.Merge.NoModelCard || !man.Merge.NoTokenizer {
		t.Fatalf("provenance %+v does not record the output options", man.Merge)
	}
	readme, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil || string(readme) != "# legacy fixture base\n" {
		t.Fatalf("README.md = %q, %v; want the base's", readme, err)
	}
	if _, err := os.Stat(filepath.Join(out, "tokenizer.json")); !os.IsNotExist(err) {
		t.Fatalf("tokenizer.json written without the tokenizer: %v", err)
	}
}
