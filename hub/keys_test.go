package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
)

// rewriteMembers replaces the members file (with extra YAML lines under
// each org's key) and restarts the hub on the same data.
func (hs *harness) rewriteMembers(aKey, bKey string) {
	hs.t.Helper()
	hs.stop()
	m := fmt.Sprintf("orgs:\n  - name: %s\n    keys:\n      - file: a.pub\n%s", orgA, aKey)
	if bKey != "-" {
		m += fmt.Sprintf("  - name: %s\n    keys:\n      - file: b.pub\n%s", orgB, bKey)
	}
	if err := os.WriteFile(hs.members, []byte(m), 0o644); err != nil {
		hs.t.Fatal(err)
	}
	hs.start()
}

// keyEntries returns the log's key entries, oldest first.
func (hs *harness) keyEntries() []map[string]any {
	resp, err := hs.raw.GetEntries(context.Background(), &hubv1.GetEntriesRequest{Start: 0, Count: 1000})
	if err != nil {
		hs.t.Fatal(err)
	}
	var out []map[string]any
	for _, b := range resp.GetEntries() {
		var e map[string]any
		json.Unmarshal(b, &e)
		if e["type"] == "key" {
			out = append(out, e)
		}
	}
	return out
}

// A key outside its window, or revoked, cannot publish; every key change is
// logged; a release stays verifiable against the key's state when it was
// logged, even after the key is revoked.
func TestKeyWindowsAndChanges(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	if got := hs.keyEntries(); len(got) != 3 || got[0]["action"] != "add" || got[2]["action"] != "add" {
		t.Fatalf("key entries on first start: %v", got)
	}

	hs.rewriteMembers("        not_after: 2020-01-01T00:00:00Z\n", "")
	before := hs.snapshot()
	_, err := hs.registerBase(m.base, hs.keyA)
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("register with an expired key: %v", err)
	}
	if d := before.diff(hs.snapshot()); d != "" {
		t.Fatalf("refused upload left state: %s", d)
	}
	if got := hs.keyEntries(); len(got) != 4 || got[3]["action"] != "change" || got[3]["not_after"] == nil {
		t.Fatalf("the window change is not logged: %v", got)
	}

	hs.rewriteMembers("", "")
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	revokedAt := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	hs.rewriteMembers(fmt.Sprintf("        revoked: %s\n", revokedAt), "-")
	got := hs.keyEntries()
	// Changes are logged in key-hint order, and hints are random here.
	actions := map[string]string{}
	for _, e := range got[5:] {
		actions[e["org"].(string)] = e["action"].(string)
	}
	if len(got) != 7 || actions[orgA] != "revoke" || actions[orgB] != "remove" {
		t.Fatalf("revocation and removal not logged: %v", got)
	}
	makeDelta(t, m.base, m.ftA, filepath.Join(hs.dir, "delta-a"), base.CID)
	if _, err := hs.publish(filepath.Join(hs.dir, "delta-a"), hs.keyA, base.CID); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("publish with a revoked key: %v", err)
	}

	// The base was logged while lab-a's key was valid: still provable.
	info, err := hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rc := base.Receipt
	r := &potluck.Receipt{LogOrigin: info.LogOrigin, LogKey: info.LogKey, Index: rc.Index, Entry: rc.Entry, Proof: rc.Proof, Checkpoint: rc.Checkpoint}
	kc, err := hs.client.CheckKeyAtLogTime(ctx, r)
	if err != nil || kc.Org != orgA {
		t.Fatalf("key at log time of the base: %+v, %v", kc, err)
	}
	// The pulled base verifies against the key even though it is revoked now.
	if _, err := hs.client.Pull(ctx, base.CID, filepath.Join(hs.dir, "pulled"), []*signing.PublicKey{hs.pubA}, nil); err != nil {
		t.Fatal(err)
	}
}
