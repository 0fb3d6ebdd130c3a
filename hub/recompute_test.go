package hub_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// An auditor re-runs a hub's merge from the recipe and inputs it records and
// gets the published CID: the merge is reproducible by anyone.
func TestRecomputeGivesThePublishedCID(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	_, base, da, db := hs.baseAndTwoDeltas(t)
	merged, err := hs.client.Merge(ctx, recipe(base.CID, []string{da.CID, db.CID}, []float64{0.7, -0.2}))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := hs.client.Info(ctx)
	r, err := hs.client.Recompute(ctx, merged.CID, filepath.Join(hs.dir, "audit"), info.TrustedKeys())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Match() {
		t.Fatalf("recomputed %s, published %s", r.Local, r.Published)
	}
	// The local output is a directory whose `ipfs add -r` CID is the merge's.
	if c, err := store.HashDir(r.Dir); err != nil || c.String() != merged.CID {
		t.Fatalf("local output CID %v (%v), published %s", c, err, merged.CID)
	}
	// With only a member key trusted, the hub-signed merge is refused.
	if _, err := hs.client.Recompute(ctx, merged.CID, filepath.Join(hs.dir, "audit2"), []*signing.PublicKey{hs.pubA}); err == nil {
		t.Fatal("recompute trusted a merge signed by an untrusted key")
	}
}

// TestRecomputeReportsProgress: a recompute tells its caller of each
// release it pulls (the merge, then every input and the base) and of each
// tensor it merges.
func TestRecomputeReportsProgress(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	_, base, da, db := hs.baseAndTwoDeltas(t)
	merged, err := hs.client.Merge(ctx, recipe(base.CID, []string{da.CID, db.CID}, []float64{0.5, 0.5}))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := hs.client.Info(ctx)
	var pulled []string
	full := map[string]bool{}
	var last [2]int
	o := node.RecomputeOptions{
		Pulled: func(cid string) node.Progress {
			pulled = append(pulled, cid)
			return func(done, total int64) { full[cid] = done == total && total > 0 }
		},
		Merged: func(done, total int) { last = [2]int{done, total} },
	}
	r, err := hs.client.RecomputeWith(ctx, merged.CID, filepath.Join(hs.dir, "audit"), info.TrustedKeys(), o)
	if err != nil || !r.Match() {
		t.Fatalf("recompute: %+v, %v", r, err)
	}
	want := []string{merged.CID, base.CID, da.CID, db.CID}
	slices.Sort(want[1:])
	got := slices.Clone(pulled)
	slices.Sort(got[1:])
	if !slices.Equal(got, want) {
		t.Errorf("pulled %v, want the merge, then its base and inputs %v", pulled, want)
	}
	for _, c := range want {
		if !full[c] {
			t.Errorf("%s: its pull's progress never reached its total", c)
		}
	}
	if last[0] == 0 || last[0] != last[1] {
		t.Errorf("the merge's last progress report is %d of %d tensors", last[0], last[1])
	}
}
