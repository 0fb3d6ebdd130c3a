package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/store"
)

const chunk = store.ChunkSize

// Open opens a store over b with a fresh local folder (index, staging):
// two stores opened over one backend are two hubs sharing a bucket.
func Open(t *testing.T, b store.Backend) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir(), store.Options{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// AddCommit imports and commits r.
func AddCommit(t *testing.T, s *store.Store, r io.Reader) store.FileInfo {
	t.Helper()
	st, err := s.Add(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st.Info
}

func leafCID(t *testing.T, b []byte) cid.Cid {
	info, err := store.HashFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return info.CID
}

func testAddCommitRead(t *testing.T, h Harness) {
	ctx := context.Background()
	s := Open(t, h.New(t))
	content := testgen.Bytes(11, 3*chunk+123)
	info := AddCommit(t, s, bytes.NewReader(content))
	want, _ := store.HashFile(bytes.NewReader(content))
	if info != want {
		t.Fatalf("stored %+v, HashFile %+v", info, want)
	}
	if got, err := s.Stat(ctx, info.CID); err != nil || got != info {
		t.Fatalf("stat: %+v %v", got, err)
	}
	var listed []cid.Cid
	s.Files(ctx, func(c cid.Cid) error { listed = append(listed, c); return nil })
	if len(listed) != 1 || !listed[0].Equals(info.CID) {
		t.Errorf("Files lists %v, want [%s]", listed, info.CID)
	}
	b, err := s.Block(ctx, leafCID(t, content[chunk:2*chunk]))
	if err != nil || !bytes.Equal(b.RawData(), content[chunk:2*chunk]) {
		t.Fatalf("leaf block: %v", err)
	}
	if _, err := s.Block(ctx, info.CID); err != nil {
		t.Fatalf("root block: %v", err)
	}
	if _, err := s.Stat(ctx, leafCID(t, []byte("absent"))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stat of an absent file: %v", err)
	}
}

func testRangeBoundaries(t *testing.T, h Harness) {
	ctx := context.Background()
	s := Open(t, h.New(t))
	size := int64(3*chunk + 100)
	content := testgen.Bytes(12, size)
	info := AddCommit(t, s, bytes.NewReader(content))
	f, err := s.Open(ctx, info.CID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := s.OpenVerified(ctx, info.CID)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, r := range []struct{ off, n int64 }{
		{0, 1}, {0, chunk}, {chunk - 1, 1}, {chunk - 1, 2}, {chunk, 1}, {chunk, chunk},
		{2*chunk - 1, 2}, {3*chunk - 1, 2}, {3 * chunk, 100}, {size - 1, 1}, {0, size}, {5, size - 5},
	} {
		want := content[r.off : r.off+r.n]
		sr, err := f.Range(r.off, r.n)
		if err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		if got, _ := io.ReadAll(sr); !bytes.Equal(got, want) {
			t.Errorf("range %v: wrong bytes", r)
		}
		got := make([]byte, r.n)
		if n, err := v.ReadAt(got, r.off); int64(n) != r.n || (err != nil && err != io.EOF) || !bytes.Equal(got, want) {
			t.Errorf("verified read %v: %d bytes, %v", r, n, err)
		}
	}
	for _, r := range []struct{ off, n int64 }{{size, 1}, {size - 1, 2}, {-1, 1}, {size + 1, 0}} {
		if _, err := f.Range(r.off, r.n); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("range %v past the end: %v, want ErrInvalid", r, err)
		}
	}
	p := make([]byte, 10)
	if n, err := v.ReadAt(p, size-4); n != 4 || err != io.EOF {
		t.Errorf("verified read over the end: %d, %v; want 4, EOF", n, err)
	}
	if n, err := v.ReadAt(p, size); n != 0 || err != io.EOF {
		t.Errorf("verified read at the end: %d, %v; want 0, EOF", n, err)
	}
	for i := int64(0); i*chunk < size; i++ {
		want := content[i*chunk : min(size, (i+1)*chunk)]
		if b, err := s.Block(ctx, leafCID(t, want)); err != nil || !bytes.Equal(b.RawData(), want) {
			t.Errorf("leaf %d: %v", i, err)
		}
	}
}

func testConcurrentWriters(t *testing.T, h Harness) {
	ctx := context.Background()
	b := h.New(t)
	s := Open(t, b)
	other := Open(t, b) // a second hub on the same bucket
	content := testgen.Bytes(14, 2*chunk+1)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := s
			if i%2 == 1 {
				target = other
			}
			st, err := target.Add(bytes.NewReader(content))
			if err == nil {
				err = st.Commit(ctx)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent commit: %v", err)
		}
	}
	n := 0
	b.List(ctx, "files/", func(store.ObjectInfo) error { n++; return nil })
	if n != 1 {
		t.Fatalf("%d stored files, want 1", n)
	}
	info, _ := store.HashFile(bytes.NewReader(content))
	v, err := s.OpenVerified(ctx, info.CID)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	got, err := io.ReadAll(io.NewSectionReader(v, 0, v.Size()))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("stored bytes differ: %v", err)
	}
}
