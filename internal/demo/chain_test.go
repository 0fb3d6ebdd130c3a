package demo_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/demo"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/node"
)

// checkChained checks the demo's second round: both labs' deltas name the
// merge they were trained from (computed from the pulled folder), the
// second merge is another release, and the rebuilt fine-tune holds lab-a's
// bytes.
func checkChained(t *testing.T, r *demo.Result) {
	c := r.Chained
	if c == nil || len(c.DeltaCIDs) != 2 || c.MergeCID == "" || c.MergeCID == r.MergeCID {
		t.Fatalf("second round: %+v", c)
	}
	for i, dir := range c.DeltaDirs {
		man, err := potluck.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		if man.Base != r.MergeCID {
			t.Errorf("%s: a delta of %s, want of the merge %s", dir, man.Base, r.MergeCID)
		}
		if got, err := node.DirCID(dir); err != nil || got != c.DeltaCIDs[i] {
			t.Errorf("%s holds %s (%v), the demo published %s", dir, got, err, c.DeltaCIDs[i])
		}
	}
	ents, err := os.ReadDir(c.FineTuned[0])
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
		want, _ := os.ReadFile(filepath.Join(c.FineTuned[0], e.Name()))
		got, err := os.ReadFile(filepath.Join(c.Rebuilt, e.Name()))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: the rebuilt file is not lab-a's (%v)", e.Name(), err)
		}
	}
	if !slices.Contains(names, "config.json") || len(names) < 4 {
		t.Errorf("lab-a's fine-tune of the merge holds %v; want the merge's layout, config and tokenizer", names)
	}
	a := c.Attested
	if a == nil || a.Org != "lab-b" || a.Release != c.MergeCID || a.Receipt == nil || len(a.Bundle) == 0 {
		t.Fatalf("lab-b's attestation of %s: %+v", c.MergeCID, a)
	}
	// The distance is symmetric: measured the other way round, from the
	// fine-tune to the merge, it is the number lab-b signed.
	d, err := testmodel.RMSDistance(c.FineTuned[1], filepath.Join(r.Dir, "recompute-merge-2", "out"))
	if err != nil || d <= 0 || d != a.Claim.Value {
		t.Errorf("lab-b attested %v, the distance is %v (%v)", a.Claim.Value, d, err)
	}
}
