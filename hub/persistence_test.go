package hub_test

// What the hub keeps on its disk: releases and its key survive a restart;
// bytes altered under it are caught, never served as good or merged.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
)

func TestPullDetectsBytesAlteredOnHubDisk(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	_, _, rel, _ := hs.baseAndDelta(t)
	f := releaseFile(t, rel, "model-00002-of-00002.safetensors")
	// Before the damage, the pull works.
	if _, err := hs.client.Pull(ctx, rel.CID, filepath.Join(hs.dir, "ok"), []*signing.PublicKey{hs.pubA}, nil); err != nil {
		t.Fatal(err)
	}
	hs.alterStored(t, f, f.Size/2)

	parent := filepath.Join(hs.dir, "pulls")
	if err := os.Mkdir(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(parent, "damaged")
	_, err := hs.client.Pull(ctx, rel.CID, out, []*signing.PublicKey{hs.pubA}, nil)
	if !errors.Is(err, node.ErrVerify) {
		t.Errorf("pull of a release altered on the hub's disk: %v, want node.ErrVerify", err)
	}
	if names := dirNames(t, parent); len(names) != 0 {
		t.Errorf("the failed pull left %v in %s", names, parent)
	}
}

func TestRestartKeepsReleasesAndKey(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	_, base, da, db := hs.baseAndTwoDeltas(t)
	deltas := []string{da.CID, db.CID}
	rec := recipe(base.CID, deltas, []float64{1, 1})
	merged, err := hs.client.Merge(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	info, err := hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keyBefore := info.HubKey.Hint()
	listBefore, err := hs.client.List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(listBefore) != 4 {
		t.Fatalf("%d releases before the restart, want 4", len(listBefore))
	}

	hs.stop()
	hs.start()

	info, err = hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.HubKey.Hint() != keyBefore {
		t.Errorf("hub key %s after the restart, %s before", info.HubKey.Hint(), keyBefore)
	}
	listAfter, err := hs.client.List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(listAfter) != len(listBefore) {
		t.Fatalf("%d releases after the restart, %d before", len(listAfter), len(listBefore))
	}
	for i := range listBefore {
		b, a := listBefore[i], listAfter[i]
		if a.CID != b.CID || a.Publisher != b.Publisher || a.Kind != b.Kind || !bytes.Equal(a.Bundle, b.Bundle) {
			t.Errorf("release %d: %s %v by %q after, %s %v by %q before", i, a.CID, a.Kind, a.Publisher, b.CID, b.Kind, b.Publisher)
		}
	}
	for _, c := range append([]string{base.CID, merged.CID}, deltas...) {
		out := filepath.Join(hs.dir, "pulled-"+c)
		if _, err := hs.client.Pull(ctx, c, out, info.TrustedKeys(), nil); err != nil {
			t.Errorf("pull %s after the restart: %v", c, err)
		}
	}
	if _, err := node.VerifyDir(filepath.Join(hs.dir, "pulled-"+merged.CID), []*signing.PublicKey{info.HubKey}); err != nil {
		t.Errorf("merge pulled after the restart does not verify with the hub key: %v", err)
	}
	again, err := hs.client.Merge(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if again.CID != merged.CID {
		t.Errorf("the merge after the restart gives %s, before %s", again.CID, merged.CID)
	}
}

// The hub signs its merges: it must not sign one computed from stored bytes
// that no longer match their CIDs (DESIGN: a stored file is read by range
// and re-hashed). The bytes below are changed inside a delta's tensor data,
// where no header check can notice.
func TestMergeRefusesInputsAlteredOnHubDisk(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	_, base, rel, man := hs.baseAndDelta(t)
	tensor := tensorOf(t, man, "lm_head.weight")
	hs.alterStored(t, releaseFile(t, rel, tensor.File), tensor.Offset+4*100+1) // a low mantissa bit of element 100: still finite
	before := hs.snapshot()
	merged, err := hs.client.Merge(ctx, recipe(base.CID, []string{rel.CID}, []float64{1}))
	if err == nil {
		t.Fatalf("the hub merged and signed %s from a delta whose stored bytes do not match its CID", merged.CID)
	}
	if c := grpcStatus(t, err).Code(); c != codes.DataLoss {
		t.Errorf("merge over altered bytes: %v, want DataLoss", err)
	}
	if d := before.diff(hs.snapshot()); d != "" {
		t.Errorf("the refused merge left something behind: %s", d)
	}
}

// alterStored flips the low bit of byte i of a file in the hub's store, as
// a failing disk or an intruder could.
func (hs *harness) alterStored(t *testing.T, f potluck.File, i int64) {
	t.Helper()
	p := filepath.Join(hs.data, "store", "files", f.CID)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[i] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
