package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/store"
)

func testGC(t *testing.T, h Harness) {
	ctx := context.Background()
	b := h.New(t)
	s := Open(t, b)
	a := testgen.Bytes(19, 2*chunk+3)
	infoA := AddCommit(t, s, bytes.NewReader(a))
	dir, err := s.PutDir(ctx, []store.Entry{{Path: "a.bin", File: infoA}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Pin(ctx, dir); err != nil {
		t.Fatal(err)
	}
	// B shares its first chunk with A: dropping B must not unindex it.
	infoB := AddCommit(t, s, bytes.NewReader(append(append([]byte{}, a[:chunk]...), testgen.Bytes(20, chunk)...)))
	infoC := AddCommit(t, s, bytes.NewReader(testgen.Bytes(21, chunk+1)))

	if gc, err := s.GC(ctx, store.GCOptions{Grace: time.Hour}); err != nil || gc != (store.GCStats{}) {
		t.Fatalf("gc within the grace period removed %+v (%v)", gc, err)
	}
	gc, err := s.GC(ctx, store.GCOptions{Keep: []cid.Cid{infoC.CID}})
	if err != nil || gc.Files != 1 || gc.Dirs != 0 || gc.Bytes != infoB.Size {
		t.Fatalf("gc: %+v %v; want B's file (%d bytes) removed", gc, err, infoB.Size)
	}
	for _, key := range []string{store.FileKey(infoB.CID), store.NodesKey(infoB.CID)} {
		if _, err := b.Stat(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after gc: %v", key, err)
		}
	}
	for name, s := range map[string]*store.Store{"same index": s, "fresh index": Open(t, b)} {
		if _, err := s.Stat(ctx, infoB.CID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: unpinned file after gc: %v", name, err)
		}
		if _, err := s.Block(ctx, leafCID(t, a[:chunk])); err != nil {
			t.Errorf("%s: leaf shared with the dropped file: %v", name, err)
		}
		if ents, err := s.ListDir(ctx, dir); err != nil || len(ents) != 1 {
			t.Errorf("%s: pinned directory: %v %v", name, ents, err)
		}
		if _, err := s.Stat(ctx, infoC.CID); err != nil {
			t.Errorf("%s: kept file: %v", name, err)
		}
	}

	if err := s.Unpin(ctx, dir); err != nil {
		t.Fatal(err)
	}
	gc, err = s.GC(ctx, store.GCOptions{})
	if err != nil || gc.Files != 2 || gc.Dirs != 1 {
		t.Fatalf("gc after unpin: %+v %v; want 2 files and 1 directory", gc, err)
	}
	n := 0
	for _, prefix := range []string{"files/", "nodes/", "dirs/", "pins/"} {
		b.List(ctx, prefix, func(o store.ObjectInfo) error { n++; t.Logf("left: %s", o.Key); return nil })
	}
	if n != 0 {
		t.Errorf("%d objects left after everything was unpinned", n)
	}
	if _, err := s.Block(ctx, dir); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("directory after gc: %v", err)
	}
}
