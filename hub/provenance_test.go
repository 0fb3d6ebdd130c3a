package hub_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"sort"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
)

// rootOf is the model-signing root digest of a release's files, computed
// here from the listed digests: SHA-256 of the digests in path order.
func rootOf(rel *potluck.Release) string {
	files := append([]potluck.File(nil), rel.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	h := sha256.New()
	for _, f := range files {
		d, _ := hex.DecodeString(f.SHA256)
		h.Write(d)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// A merge carries a hub-signed provenance statement naming the recipe, the
// base and each input by CID and root digest, and its own output; the pull
// keeps it and verify checks it; an altered statement fails.
func TestMergeProvenance(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	_, base, da, db := hs.baseAndTwoDeltas(t)
	deltas := []*potluck.Release{da, db}
	merged, err := hs.client.Merge(ctx, recipe(base.CID, []string{deltas[0].CID, deltas[1].CID}, []float64{0.25, 0.75}))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := hs.client.Info(ctx)
	hubKey := []*signing.PublicKey{info.HubKey}
	var root [32]byte
	r, _ := hex.DecodeString(rootOf(merged))
	copy(root[:], r)
	p, key, err := node.CheckProvenance(merged.Provenance, hubKey, merged.CID, root)
	if err != nil || key.Hint() != info.HubKey.Hint() {
		t.Fatalf("provenance: %v", err)
	}
	if p.Base.CID != base.CID || p.Base.Root != rootOf(base) || len(p.Inputs) != 2 {
		t.Fatalf("provenance base/inputs: %+v", p)
	}
	for i, in := range p.Inputs {
		if in.CID != deltas[i].CID || in.Root != rootOf(deltas[i]) || in.Weight != []float64{0.25, 0.75}[i] {
			t.Errorf("input %d: %+v, want %s root %s", i, in, deltas[i].CID, rootOf(deltas[i]))
		}
	}
	if _, _, err := node.CheckProvenance(merged.Provenance, []*signing.PublicKey{hs.pubA}, merged.CID, root); !errors.Is(err, signing.ErrUntrusted) {
		t.Fatalf("provenance under a member key: %v", err)
	}
	if _, _, err := node.CheckProvenance(merged.Provenance, hubKey, deltas[0].CID, root); !errors.Is(err, node.ErrVerify) {
		t.Fatalf("provenance for another CID: %v", err)
	}
	out := filepath.Join(hs.dir, "merged")
	if _, err := hs.client.Pull(ctx, merged.CID, out, hubKey, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := node.VerifyDir(out, hubKey)
	if err != nil || rep.Provenance == nil || rep.Provenance.Output.CID != merged.CID {
		t.Fatalf("verify of the pulled merge: %+v, %v", rep, err)
	}
}
