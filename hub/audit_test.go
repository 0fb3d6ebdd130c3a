package hub_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/node"
)

// Verifying a merge on a hub checks the merge and, through its provenance,
// the base and every input: each pulled, signed by a key valid when it was
// logged, in the log, and with the root digest the provenance records. A
// log entry altered on the hub's disk is caught: the entries no longer hash
// to the signed checkpoint.
func TestAuditMergeAndItsInputs(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	_, base, da, db := hs.baseAndTwoDeltas(t)
	merged, err := hs.client.Merge(ctx, recipe(base.CID, []string{da.CID, db.CID}, []float64{1, 1}))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := hs.client.Info(ctx)
	a, err := hs.client.Audit(ctx, merged.CID, filepath.Join(hs.dir, "audit"), info.TrustedKeys(), info.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	if a.Key == nil || a.Key.Org != "hub" || len(a.Inputs) != 3 {
		t.Fatalf("audit of the merge: key %+v, %d inputs", a.Key, len(a.Inputs))
	}
	for i, want := range []struct{ cid, org string }{{base.CID, orgA}, {da.CID, orgA}, {db.CID, orgB}} {
		in := a.Inputs[i]
		if in.CID != want.cid || in.Key == nil || in.Key.Org != want.org || !in.Report.LogKeyPinned {
			t.Errorf("input %d: %s by %+v, want %s by %s", i, in.CID, in.Key, want.cid, want.org)
		}
	}

	// Alter one byte of the first log entry (a key entry) on the hub's disk.
	p := filepath.Join(hs.data, "log", "entries")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[10] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = hs.client.Audit(ctx, merged.CID, filepath.Join(hs.dir, "audit2"), info.TrustedKeys(), info.LogKey)
	if !errors.Is(err, node.ErrVerify) || !strings.Contains(err.Error(), "do not hash to its checkpoint") {
		t.Fatalf("audit over an altered log entry: %v", err)
	}
}
