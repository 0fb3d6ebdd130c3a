// Package storetest is the conformance suite every store backend passes:
// the same test function runs against local disk and MinIO, as perkeep's
// blobserver/storagetest does for its storage.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/potluck-hub/potluck/store"
)

// Harness is what the suite needs from a backend's tests.
type Harness struct {
	// New returns an empty backend, private to the test.
	New func(t *testing.T) store.Backend
	// Alter changes the byte at off of the object key behind the
	// backend's back, as bit rot or a meddling operator would.
	Alter func(t *testing.T, b store.Backend, key string, off int64)
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	t.Run("Backend", func(t *testing.T) { testBackend(t, h) })
	t.Run("BackendWriteOnce", func(t *testing.T) { testWriteOnce(t, h) })
	t.Run("BackendFailedPut", func(t *testing.T) { testFailedPut(t, h) })
	t.Run("AddCommitRead", func(t *testing.T) { testAddCommitRead(t, h) })
	t.Run("RangeBoundaries", func(t *testing.T) { testRangeBoundaries(t, h) })
	t.Run("KuboVectors", func(t *testing.T) { testKuboVectors(t, h) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrentWriters(t, h) })
	t.Run("CrashBeforeCommit", func(t *testing.T) { testCrashBeforeCommit(t, h) })
	t.Run("AlteredBytes", func(t *testing.T) { testAlteredBytes(t, h) })
	t.Run("SharedBackend", func(t *testing.T) { testSharedBackend(t, h) })
	t.Run("GC", func(t *testing.T) { testGC(t, h) })
	t.Run("CAR", func(t *testing.T) { testCAR(t, h) })
}

func testBackend(t *testing.T, h Harness) {
	ctx := context.Background()
	b := h.New(t)
	data := []byte("0123456789abcdef")
	for _, k := range []string{"files/b", "files/a", "nodes/a"} {
		if err := b.Put(ctx, k, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	info, err := b.Stat(ctx, "files/a")
	if err != nil || info.Size != int64(len(data)) || info.Key != "files/a" {
		t.Fatalf("stat: %+v, %v", info, err)
	}
	o, err := b.Open(ctx, "files/a")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if n, err := o.ReadAt(got, 3); n != 4 || err != nil || string(got) != "3456" {
		t.Errorf("ReadAt(4 at 3) = %d %q %v", n, got, err)
	}
	if n, err := o.ReadAt(got, 14); n != 2 || err != io.EOF || string(got[:2]) != "ef" {
		t.Errorf("ReadAt over the end = %d %q %v, want 2 \"ef\" EOF", n, got[:n], err)
	}
	all, err := io.ReadAll(io.NewSectionReader(o, 0, o.Size()))
	if err != nil || !bytes.Equal(all, data) {
		t.Errorf("sequential read: %q %v", all, err)
	}
	o.Close()
	var keys []string
	err = b.List(ctx, "files/", func(o store.ObjectInfo) error { keys = append(keys, o.Key); return nil })
	if err != nil || strings.Join(keys, " ") != "files/a files/b" {
		t.Errorf("list files/: %v %v", keys, err)
	}
	if err := b.Delete(ctx, "files/a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "files/a"); err != nil {
		t.Errorf("deleting an absent object: %v", err)
	}
	if _, err := b.Stat(ctx, "files/a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stat after delete: %v, want ErrNotFound", err)
	}
	if _, err := b.Open(ctx, "files/a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("open after delete: %v, want ErrNotFound", err)
	}
}

func testWriteOnce(t *testing.T, h Harness) {
	ctx := context.Background()
	b := h.New(t)
	if err := b.Put(ctx, "files/x", strings.NewReader("first"), 5); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "files/x", strings.NewReader("other"), 5); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second put: %v, want ErrExists", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := b.Put(ctx, "files/y", strings.NewReader("same"), 4)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if !errors.Is(err, store.ErrExists) {
				t.Errorf("racing put: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d racing writers won, want 1", wins)
	}
	o, err := b.Open(ctx, "files/x")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	got := make([]byte, 5)
	if _, err := o.ReadAt(got, 0); err != nil || string(got) != "first" {
		t.Errorf("object after a refused overwrite: %q %v", got, err)
	}
}

// failAfter fails once n bytes were read, like a connection cut off.
type failAfter struct {
	r io.Reader
	n int
}

var errCut = errors.New("storetest: cut off")

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errCut
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func testFailedPut(t *testing.T, h Harness) {
	ctx := context.Background()
	b := h.New(t)
	data := bytes.Repeat([]byte("x"), 1<<20)
	err := b.Put(ctx, "files/cut", &failAfter{r: bytes.NewReader(data), n: 1000}, int64(len(data)))
	if err == nil {
		t.Fatal("put of a reader that fails: no error")
	}
	if _, err := b.Stat(ctx, "files/cut"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after a failed put: %v, want ErrNotFound", err)
	}
	if err := b.Put(ctx, "files/short", bytes.NewReader(data[:10]), 20); err == nil {
		t.Error("put of fewer bytes than declared: no error")
	}
	if _, err := b.Stat(ctx, "files/short"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after a short put: %v, want ErrNotFound", err)
	}
}
