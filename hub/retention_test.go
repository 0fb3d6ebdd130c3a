package hub

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/store"
)

// storeRelease stores files as a release directory and records it.
func storeRelease(t *testing.T, h *Hub, kind potluck.Kind, base string, files map[string][]byte) string {
	t.Helper()
	var entries []store.Entry
	var pf []potluck.File
	for p, b := range files {
		info := addBytes(t, h.store, b)
		entries = append(entries, store.Entry{Path: p, File: info})
		pf = append(pf, potluck.File{Path: p, Size: info.Size, CID: info.CID.String()})
	}
	root, err := h.store.PutDir(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.releases.put(&potluck.Release{CID: root.String(), Kind: kind, Base: base, Files: pf}); err != nil {
		t.Fatal(err)
	}
	return root.String()
}

func TestUnpinRefusesReferencedReleasesAndGCReclaims(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs, err := openReleases(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &Hub{store: st, releases: rs}
	base := storeRelease(t, h, potluck.KindBase, "", map[string][]byte{"w.bin": testgen.Bytes(60, 2*chunk)})
	delta := storeRelease(t, h, potluck.KindDelta, base, map[string][]byte{"d.bin": testgen.Bytes(61, chunk+5)})
	m := &potluck.Manifest{Schema: potluck.ManifestSchema, Kind: potluck.KindMerge, Base: base,
		Merge: &potluck.MergeInfo{Method: "linear", Recipe: []byte("{}"), Inputs: []potluck.Input{{CID: delta, Weight: 1}}}}
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	merge := storeRelease(t, h, potluck.KindMerge, base, map[string][]byte{"m.bin": testgen.Bytes(62, chunk), potluck.ManifestFile: mb})

	if err := h.Unpin(ctx, base); !errors.Is(err, store.ErrPinned) {
		t.Errorf("unpin of a base others build on: %v, want ErrPinned", err)
	}
	if err := h.Unpin(ctx, delta); !errors.Is(err, store.ErrPinned) {
		t.Errorf("unpin of a merge's input: %v, want ErrPinned", err)
	}
	if gc, err := h.GC(ctx, 0); err != nil || gc.Files != 0 {
		t.Fatalf("gc with every release listed: %+v %v", gc, err)
	}
	if err := h.Unpin(ctx, merge); err != nil {
		t.Fatalf("unpin of an unreferenced merge: %v", err)
	}
	if gc, err := h.GC(ctx, 0); err != nil || gc.Files != 2 || gc.Dirs != 1 {
		t.Fatalf("gc after unpinning the merge: %+v %v; want its 2 files and its directory", gc, err)
	}
	if _, err := h.Release(ctx, merge); !errors.Is(err, ErrNotFound) {
		t.Errorf("unpinned release still listed: %v", err)
	}
	for _, c := range []string{delta, base} {
		if err := h.Unpin(ctx, c); err != nil {
			t.Fatalf("unpin %s: %v", c, err)
		}
	}
	if gc, err := h.GC(ctx, 0); err != nil || gc.Files != 2 || gc.Dirs != 2 {
		t.Fatalf("gc after unpinning everything: %+v %v", gc, err)
	}
	logged := storeRelease(t, h, potluck.KindBase, "", map[string][]byte{"l.bin": []byte("logged")})
	r, _ := h.releases.get(logged)
	r.Receipt = &potluck.Receipt{Index: 7}
	os.Remove(h.releases.path(logged))
	h.releases.put(r)
	if err := h.Unpin(ctx, logged); !errors.Is(err, store.ErrPinned) {
		t.Errorf("unpin of a logged release: %v, want ErrPinned", err)
	}
}
