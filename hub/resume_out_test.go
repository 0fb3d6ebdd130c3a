package hub_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck/node"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// The documented resume, `node publish --out D --resume ID`, after a run
// that wrote the delta to D and opened session ID but stopped before the
// commit: D exists, and is what is sent (it failed with "D already
// exists").
func TestPublishResumesIntoExistingOut(t *testing.T) {
	ctx := context.Background()
	hs := newHarness(t)
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(hs.dir, "delta")
	makeDelta(t, m.base, m.ftA, out, base.CID)
	_, bundle := signDir(t, out, hs.keyA)
	h, _ := uploadHeader(t, out, bundle, base.CID)
	s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
	p, err := hs.client.PublishDelta(ctx, hs.keyA, node.DeltaOptions{BaseDir: m.base, FinetunedDir: m.ftA, OutDir: out, BaseCID: base.CID},
		node.UploadOptions{ResumeID: s.id})
	if err != nil {
		t.Fatalf("resuming into the existing --out: %v", err)
	}
	if want := dirCID(t, out); p.Release.CID != want {
		t.Errorf("published %s, want %s", p.Release.CID, want)
	}
	// Resuming with another model's delta in D is refused, naming both.
	_, err = hs.client.PublishDelta(ctx, hs.keyA, node.DeltaOptions{BaseDir: m.base, FinetunedDir: m.ftA, OutDir: m.ftB, BaseCID: base.CID},
		node.UploadOptions{ResumeID: s.id})
	if err == nil {
		t.Errorf("resumed from %s, a directory holding no delta", m.ftB)
	}
}
