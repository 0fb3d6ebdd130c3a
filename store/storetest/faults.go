package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/store"
)

// crashing is a backend that dies (refuses every write) once a key with
// prefix is about to be written: a hub killed mid-commit.
type crashing struct {
	store.Backend
	prefix string
}

var errCrash = errors.New("storetest: crashed")

func (c crashing) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if strings.HasPrefix(key, c.prefix) {
		return errCrash
	}
	return c.Backend.Put(ctx, key, r, size)
}

func testCrashBeforeCommit(t *testing.T, h Harness) {
	ctx := context.Background()
	b := h.New(t)
	content := testgen.Bytes(15, 2*chunk+7)
	info, _ := store.HashFile(bytes.NewReader(content))

	// Killed after the bytes were written, before the sidecar.
	s := Open(t, crashing{Backend: b, prefix: "nodes/"})
	st, err := s.Add(bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("commit through a crash: %v", err)
	}
	if _, err := b.Stat(ctx, store.FileKey(info.CID)); err != nil {
		t.Fatalf("the crash should come after the bytes were written: %v", err)
	}
	for name, s := range map[string]*store.Store{"same index": s, "fresh index": Open(t, b)} {
		if ok, err := s.Has(ctx, info.CID); ok || err != nil {
			t.Errorf("%s: half-committed file visible: %v %v", name, ok, err)
		}
		if _, err := s.Open(ctx, info.CID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: open of a half-committed file: %v", name, err)
		}
		if _, err := s.Block(ctx, info.CID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: root block of a half-committed file: %v", name, err)
		}
		if _, err := s.Block(ctx, leafCID(t, content[:chunk])); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: leaf of a half-committed file: %v", name, err)
		}
	}

	// GC reclaims the orphaned bytes; a commit after restart succeeds.
	s = Open(t, b)
	gc, err := s.GC(ctx, store.GCOptions{})
	if err != nil || gc.Orphans != 1 || gc.Bytes != int64(len(content)) {
		t.Fatalf("gc after a crash: %+v %v; want 1 orphan of %d bytes", gc, err, len(content))
	}
	if _, err := b.Stat(ctx, store.FileKey(info.CID)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("orphaned bytes after gc: %v", err)
	}
	AddCommit(t, s, bytes.NewReader(content))
	if ok, _ := Open(t, b).Has(ctx, info.CID); !ok {
		t.Error("committed after the crash, but not visible")
	}
}

func testAlteredBytes(t *testing.T, h Harness) {
	ctx := context.Background()
	b := h.New(t)
	content := testgen.Bytes(16, 3*chunk)
	info := AddCommit(t, Open(t, b), bytes.NewReader(content))
	h.Alter(t, b, store.FileKey(info.CID), 2*chunk+9)

	s := Open(t, b)
	if _, err := s.Block(ctx, leafCID(t, content[:chunk])); err != nil {
		t.Errorf("untouched leaf: %v", err)
	}
	if _, err := s.Block(ctx, leafCID(t, content[2*chunk:])); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("altered leaf: %v, want ErrCorrupt", err)
	}
	v, err := s.OpenVerified(ctx, info.CID)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	buf := make([]byte, chunk)
	if _, err := v.ReadAt(buf, 0); err != nil {
		t.Errorf("untouched chunk: %v", err)
	}
	if n, err := v.ReadAt(buf[:4], 2*chunk+100); !errors.Is(err, store.ErrCorrupt) || n != 0 {
		t.Errorf("read of the altered chunk: %d bytes, %v; want 0, ErrCorrupt", n, err)
	}

	if err := s.ExportCAR(ctx, io.Discard, info.CID); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("CAR export over the altered chunk: %v, want ErrCorrupt", err)
	}

	// An interior node altered in the sidecar: the last record is the root.
	other := testgen.Bytes(17, 3*chunk)
	info = AddCommit(t, Open(t, b), bytes.NewReader(other))
	side, err := b.Stat(ctx, store.NodesKey(info.CID))
	if err != nil {
		t.Fatal(err)
	}
	h.Alter(t, b, store.NodesKey(info.CID), side.Size-3)
	if _, err := Open(t, b).Block(ctx, info.CID); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("altered root node: %v, want ErrCorrupt", err)
	}
}

func testSharedBackend(t *testing.T, h Harness) {
	ctx := context.Background()
	b := h.New(t)
	one := Open(t, b)
	content := testgen.Bytes(18, 2*chunk+5)
	info := AddCommit(t, one, bytes.NewReader(content))
	small := AddCommit(t, one, strings.NewReader("{}\n"))
	root, err := one.PutDir(ctx, []store.Entry{{Path: "w/model.bin", File: info}, {Path: "config.json", File: small}})
	if err != nil {
		t.Fatal(err)
	}
	two := Open(t, b)
	if _, err := two.Block(ctx, root); err != nil {
		t.Fatalf("second hub: directory root: %v", err)
	}
	ents, err := two.ListDir(ctx, root)
	if err != nil || len(ents) != 3 {
		t.Fatalf("second hub: ListDir: %v %v", ents, err)
	}
	if c, err := two.Resolve(ctx, root, "w/model.bin"); err != nil || !c.Equals(info.CID) {
		t.Fatalf("second hub: resolve: %v %v", c, err)
	}
	if b, err := two.Block(ctx, leafCID(t, content[chunk:2*chunk])); err != nil || !bytes.Equal(b.RawData(), content[chunk:2*chunk]) {
		t.Fatalf("second hub: leaf: %v", err)
	}
}
