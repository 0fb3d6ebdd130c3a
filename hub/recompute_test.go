package hub_test

import (
	"context"
	"path/filepath"
	"testing"

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
