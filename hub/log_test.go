package hub_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/node"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/translog"
)

// Every accepted release is logged: its receipt proves inclusion under a
// checkpoint the hub's log key signed, the pulled directory keeps it, and an
// auditor checks it offline; a receipt for other bytes, or checked against
// another key, fails.
func TestReleasesAreLoggedWithReceipts(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	_, base, delta, _ := hs.baseAndDelta(t)
	info, err := hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The hub logs its own key and its two member keys on first start, then
	// each release.
	for i, rel := range []*potluck.Release{base, delta} {
		rc := rel.Receipt
		if rc == nil || rc.Index != int64(3+i) {
			t.Fatalf("release %d: receipt %v, want index %d", i, rc, 3+i)
		}
		r := &potluck.Receipt{LogOrigin: info.LogOrigin, LogKey: info.LogKey, Index: rc.Index, Entry: rc.Entry, Proof: rc.Proof, Checkpoint: rc.Checkpoint}
		if _, err := node.CheckReceipt(r, rel.CID, rel.Bundle, info.LogKey); err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
		if _, err := node.CheckReceipt(r, "bafy-another-release", rel.Bundle, info.LogKey); !errors.Is(err, node.ErrVerify) {
			t.Fatalf("a receipt accepted for another release: %v", err)
		}
		_, other, _ := translog.GenerateKey("potluck-hub")
		if _, err := node.CheckReceipt(r, rel.CID, rel.Bundle, other); !errors.Is(err, translog.ErrVerify) {
			t.Fatalf("a receipt accepted under another log key: %v", err)
		}
	}
	out := filepath.Join(hs.dir, "pulled")
	if _, err := hs.client.Pull(ctx, delta.CID, out, []*signing.PublicKey{hs.pubA}, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := node.VerifyDirWith(out, []*signing.PublicKey{hs.pubA}, node.VerifyOptions{LogKey: info.LogKey})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Receipt == nil || rep.Receipt.Index != 4 || !rep.LogKeyPinned || rep.CID != delta.CID {
		t.Fatalf("verify report: %+v", rep)
	}
	_, other, _ := translog.GenerateKey("potluck-hub")
	if _, err := node.VerifyDirWith(out, []*signing.PublicKey{hs.pubA}, node.VerifyOptions{LogKey: other}); !errors.Is(err, translog.ErrVerify) {
		t.Fatalf("verify against another log key: %v", err)
	}
	// A receipt altered to claim another index fails the inclusion check.
	kept, _ := node.ReadReceipt(out)
	kept.Index = 3
	if _, err := node.CheckReceipt(kept, delta.CID, delta.Bundle, info.LogKey); !errors.Is(err, translog.ErrVerify) {
		t.Fatalf("a receipt with an altered index: %v", err)
	}
}

// An auditor's `log verify` accepts a log that only grew, and catches one
// that was replaced (here: the hub's log folder wiped and restarted with the
// same key, so the log shrank), leaving the remembered state unchanged.
func TestLogVerifyCatchesARewrittenLog(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	state := filepath.Join(hs.dir, "log-state.json")
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	check, err := hs.client.VerifyLog(ctx, state, "")
	if err != nil || check.Old != nil || check.New.Size != 4 { // three keys, the base
		t.Fatalf("first check: %+v, %v", check, err)
	}
	makeDelta(t, m.base, m.ftA, filepath.Join(hs.dir, "delta-a"), base.CID)
	if _, err := hs.publish(filepath.Join(hs.dir, "delta-a"), hs.keyA, base.CID); err != nil {
		t.Fatal(err)
	}
	if check, err = hs.client.VerifyLog(ctx, state, ""); err != nil || check.Old.Size != 4 || check.New.Size != 5 {
		t.Fatalf("second check: %+v, %v", check, err)
	}
	remembered, _ := os.ReadFile(state)

	hs.stop()
	if err := os.RemoveAll(filepath.Join(hs.data, "log")); err != nil {
		t.Fatal(err)
	}
	hs.start()
	_, err = hs.client.VerifyLog(ctx, state, "")
	if !errors.Is(err, translog.ErrVerify) || !strings.Contains(err.Error(), "shrank") {
		t.Fatalf("a wiped log: %v, want a verification error saying it shrank", err)
	}
	if now, _ := os.ReadFile(state); string(now) != string(remembered) {
		t.Fatal("the state file changed after a failed check")
	}
}

// The log is served over HTTP too.
func TestLogOverHTTP(t *testing.T) {
	hs := newHarness(t)
	m := writeModels(t, hs.dir)
	if _, err := hs.registerBase(m.base, hs.keyA); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub.HTTPHandler(hs.h))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cp, err := hs.raw.GetCheckpoint(context.Background(), &hubv1.GetCheckpointRequest{})
	if err != nil || string(body) != string(cp.GetCheckpoint()) {
		t.Fatalf("HTTP checkpoint %q, gRPC %q (%v)", body, cp.GetCheckpoint(), err)
	}
	resp, err = srv.Client().Get(srv.URL + "/log/entries?start=0&count=5")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `\"type\":\"release\"`) {
		t.Fatalf("entries: %s", body)
	}
}

// Asking the log for what lies past its end is OUT_OF_RANGE, over gRPC as
// for every call the hub answers.
func TestLogPastItsEndIsOutOfRange(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	size := int64(len(hs.logEntries()))
	_, err := hs.raw.GetEntries(ctx, &hubv1.GetEntriesRequest{Start: size, Count: 1})
	if c := grpcStatus(t, err).Code(); c != codes.OutOfRange {
		t.Errorf("entry %d of a log of %d: %v, want OutOfRange", size, size, err)
	}
	_, err = hs.raw.GetInclusionProof(ctx, &hubv1.GetInclusionProofRequest{Index: size, TreeSize: size + 1})
	if c := grpcStatus(t, err).Code(); c != codes.OutOfRange {
		t.Errorf("inclusion of %d in a tree of %d: %v, want OutOfRange", size, size+1, err)
	}
	_, err = hs.raw.GetConsistencyProof(ctx, &hubv1.GetConsistencyProofRequest{First: 1, Second: size + 1})
	if c := grpcStatus(t, err).Code(); c != codes.OutOfRange {
		t.Errorf("consistency of 1 with %d: %v, want OutOfRange", size+1, err)
	}
}
