package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
)

func openStore(t testing.TB) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func addCommit(t testing.TB, s *Store, content []byte) FileInfo {
	t.Helper()
	st, err := s.Add(bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st.Info
}

func TestAddCommitRangeRead(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	content := testgen.Bytes(11, 3*ChunkSize+123)
	info := addCommit(t, s, content)
	want, _ := HashFile(bytes.NewReader(content))
	if info != want {
		t.Fatalf("stored info %+v, HashFile %+v", info, want)
	}
	f, err := s.Open(ctx, info.CID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, r := range []struct{ off, n int64 }{{0, 1}, {ChunkSize - 1, 2}, {ChunkSize, ChunkSize}, {int64(len(content)) - 1, 1}, {0, int64(len(content))}, {17, -1}} {
		sr, err := f.Range(r.off, r.n)
		if err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		got, _ := io.ReadAll(sr)
		end := r.off + r.n
		if r.n < 0 {
			end = int64(len(content))
		}
		if !bytes.Equal(got, content[r.off:end]) {
			t.Errorf("range %v: wrong bytes", r)
		}
	}
	if _, err := f.Range(int64(len(content)), 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("range past the end: %v, want ErrInvalid", err)
	}
}

func TestStagedIsInvisibleUntilCommit(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	st, err := s.Add(bytes.NewReader(testgen.Bytes(12, 2*ChunkSize)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, st.Info.CID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("staged file visible: %v", err)
	}
	st.Discard()
	if ents, _ := os.ReadDir(filepath.Join(dir, "staging")); len(ents) != 0 {
		t.Errorf("staging not empty after Discard: %d entries", len(ents))
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "files")); len(ents) != 0 {
		t.Errorf("files present after Discard: %d entries", len(ents))
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if len(p) > r.n {
		p = p[:r.n]
	}
	r.n -= len(p)
	return len(p), nil
}

func TestInterruptedAddLeavesNothing(t *testing.T) {
	s, dir := openStore(t)
	if _, err := s.Add(&failingReader{n: ChunkSize + 10}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Add of a cut-off stream: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "staging")); len(ents) != 0 {
		t.Errorf("staging not empty after a failed Add: %d entries", len(ents))
	}
}

func TestPutDirListResolve(t *testing.T) {
	ctx := context.Background()
	v := loadVectors(t)
	s, _ := openStore(t)
	dir := writeTree(t)
	entries, err := WalkDir(dir, func(p string) (FileInfo, error) {
		b, err := os.ReadFile(p)
		if err != nil {
			return FileInfo{}, err
		}
		return addCommit(t, s, b), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.PutDir(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	if root.String() != v.Tree["root"] {
		t.Fatalf("root %s, want %s", root, v.Tree["root"])
	}
	listed, err := s.ListDir(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range listed {
		paths = append(paths, e.Path)
	}
	want := []string{"a.bin", "config.json", "sub", "sub/b.bin", "sub/deeper", "sub/deeper/c.bin", "sub/empty"}
	if len(paths) != len(want) {
		t.Fatalf("listed %v, want %v", paths, want)
	}
	for i := range want {
		if paths[i] != want[i] {
			t.Fatalf("listed %v, want %v", paths, want)
		}
	}
	c, err := s.Resolve(ctx, root, "sub/b.bin")
	if err != nil || c.String() != v.Tree["sub/b.bin"] {
		t.Fatalf("resolve sub/b.bin: %v %v", c, err)
	}
	if _, err := s.Resolve(ctx, root, "sub/nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("resolve of a missing path: %v", err)
	}
}

func TestPutDirNeedsCommittedFiles(t *testing.T) {
	s, _ := openStore(t)
	info, _ := HashFile(bytes.NewReader([]byte("never committed")))
	_, err := s.PutDir(context.Background(), []Entry{{Path: "x", File: info}})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("PutDir over an absent file: %v", err)
	}
}

func TestBlockRehashesLeaves(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	content := testgen.Bytes(13, 2*ChunkSize+5)
	info := addCommit(t, s, content)
	leaf, _ := HashFile(bytes.NewReader(content[ChunkSize : 2*ChunkSize]))
	b, err := s.Block(ctx, leaf.CID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.RawData(), content[ChunkSize:2*ChunkSize]) {
		t.Fatal("leaf block bytes differ from the file's second chunk")
	}
	root, err := s.Block(ctx, info.CID)
	if err != nil || !root.Cid().Equals(info.CID) {
		t.Fatalf("root block: %v", err)
	}
	// Alter one byte of the stored file: the leaf must be refused, not served.
	p := filepath.Join(dir, "files", info.CID.String())
	os.Chmod(p, 0o644)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{content[ChunkSize+7] ^ 1}, ChunkSize+7)
	f.Close()
	if _, err := s.Block(ctx, leaf.CID); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("altered leaf: %v, want ErrCorrupt", err)
	}
}

func TestConcurrentCommitsOfOneFile(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	content := testgen.Bytes(14, ChunkSize*2+1)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := s.Add(bytes.NewReader(content))
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
			t.Fatal(err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "files")); len(ents) != 1 {
		t.Fatalf("%d stored files, want 1", len(ents))
	}
	info, _ := HashFile(bytes.NewReader(content))
	f, err := s.Open(ctx, info.CID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if !bytes.Equal(got, content) {
		t.Fatal("stored bytes differ")
	}
}

func TestCheckPath(t *testing.T) {
	for _, bad := range []string{"", "/abs", "a//b", "a/../b", "..", ".hidden", "a/.git/x", "a/", "./a", "a\\b"} {
		if err := CheckPath(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckPath(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	for _, good := range []string{"model.safetensors", "a/b/c.json", "tokenizer.json"} {
		if err := CheckPath(good); err != nil {
			t.Errorf("CheckPath(%q) = %v", good, err)
		}
	}
}

// A store made before sidecar objects existed holds files/<cid> and an
// index record only: GC must not take those files for orphans.
func TestGCKeepsFilesFromBeforeSidecars(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	info := addCommit(t, s, testgen.Bytes(23, ChunkSize+9))
	os.Remove(filepath.Join(dir, "nodes", info.CID.String())) // as the old layout had it
	gc, err := s.GC(ctx, GCOptions{})
	if err != nil || gc != (GCStats{}) {
		t.Fatalf("gc removed %+v (%v)", gc, err)
	}
	if _, err := s.OpenVerified(ctx, info.CID); err != nil {
		t.Fatalf("old file after gc: %v", err)
	}
}
