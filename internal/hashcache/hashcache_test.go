package hashcache

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/potluck-hub/potluck/merge/trimstats"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

// writeModel writes a small model directory: a shard of two tensors, a
// config, a file in a subdirectory.
func writeModel(t *testing.T, dir string, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var buf bytes.Buffer
	specs := []safetensors.TensorSpec{{Name: "a", DType: safetensors.BF16, Shape: []int64{300}}, {Name: "b", DType: safetensors.F32, Shape: []int64{7, 9}}}
	w, err := safetensors.NewWriter(&buf, specs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range w.Tensors() {
		b := make([]byte, info.Size())
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		w.Write(b)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), buf.Bytes(), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"x": 1}`), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "tokenizer.json"), []byte(`{}`), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sameScan compares a cached scan with store.ScanDir's.
func sameScan(t *testing.T, got *store.Dir, dir string) {
	t.Helper()
	want, err := store.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	gc, _ := got.CID()
	wc, _ := want.CID()
	if gc != wc || len(got.Files) != len(want.Files) {
		t.Fatalf("cached scan: root %s, %d files; store.ScanDir: %s, %d files", gc, len(got.Files), wc, len(want.Files))
	}
	for i := range want.Files {
		if got.Files[i] != want.Files[i] {
			t.Fatalf("file %s: cached %+v, read %+v", want.Files[i].Path, got.Files[i].File, want.Files[i].File)
		}
	}
}

// fresh caches files at once, for the tests; each change below waits out
// the file system's time grain.
func fresh(t *testing.T) {
	prev := freshness
	freshness = 0
	t.Cleanup(func() { freshness = prev })
}

// grain waits past the file times' grain (a clock tick).
func grain() { time.Sleep(20 * time.Millisecond) }

func TestScanDirCaches(t *testing.T) {
	fresh(t)
	dir := t.TempDir()
	writeModel(t, dir, 1)
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	scan := func(wantReads int64) *trimstats.Stats {
		t.Helper()
		before := reads.Load()
		d, s, err := c.ScanDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		sameScan(t, d, dir)
		if got := reads.Load() - before; got != wantReads {
			t.Fatalf("%d files read, want %d", got, wantReads)
		}
		return s
	}
	s := scan(3)
	if h, ok := s.Histogram("a"); !ok || h.N != 300 {
		t.Fatalf("statistics of tensor a: %v %v", h, ok)
	}
	if _, ok := s.Histogram("b"); !ok {
		t.Fatal("no statistics of tensor b")
	}
	s2 := scan(0) // every file from the cache, statistics too
	a, _ := s.MarshalBinary()
	b, _ := s2.MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Fatal("cached statistics differ")
	}
	// Rewriting a file (same size) changes its times: read again.
	cfg := filepath.Join(dir, "config.json")
	grain()
	must(t, os.WriteFile(cfg, []byte(`{"x": 2}`), 0o644))
	scan(1)
	// A change of metadata alone changes the change time.
	grain()
	must(t, os.Chmod(cfg, 0o600))
	scan(1)
	// A broken entry is read again.
	ents, _ := filepath.Glob(filepath.Join(c.dir, "files", "*.json"))
	for _, e := range ents {
		must(t, os.WriteFile(e, []byte("{"), 0o644))
	}
	scan(3)
	scan(0)
	// Files replaced by others of the same size.
	grain()
	writeModel(t, dir, 2)
	scan(3)
}

// A file changed within the time grain of its read is not cached.
func TestFreshFilesNotCached(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, dir, 5)
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	before := reads.Load()
	for range 2 {
		if _, _, err := c.ScanDir(dir); err != nil {
			t.Fatal(err)
		}
	}
	if got := reads.Load() - before; got != 6 {
		t.Fatalf("%d reads of 3 fresh files scanned twice, want 6", got)
	}
}

// Runs at once on one cache agree with one another and with a plain scan.
func TestScanDirConcurrent(t *testing.T) {
	fresh(t)
	dirs := []string{t.TempDir(), t.TempDir()}
	for i, d := range dirs {
		writeModel(t, d, uint64(i+3))
	}
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for k := range 8 {
		wg.Go(func() {
			d := dirs[k%2]
			got, _, err := c.ScanDir(d)
			if err != nil {
				t.Error(err)
				return
			}
			sameScan(t, got, d)
		})
	}
	wg.Wait()
}

func TestDefaultDir(t *testing.T) {
	t.Setenv(EnvDir, "/some/where")
	if d, err := DefaultDir(); err != nil || d != "/some/where" {
		t.Errorf("DefaultDir = %q, %v", d, err)
	}
	t.Setenv(EnvDir, "off")
	if _, err := DefaultDir(); err != ErrOff {
		t.Errorf("off: %v", err)
	}
}

// TestScanHashesThenStats: a scan without statistics caches the hashes;
// a later scan that wants statistics reads the tensors file again (only
// it) and then has them, as a scan that took them from the start does.
func TestScanHashesThenStats(t *testing.T) {
	fresh(t)
	dir := t.TempDir()
	writeModel(t, dir, 3)
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	count := func(f func()) int64 {
		before := reads.Load()
		f()
		return reads.Load() - before
	}
	if n := count(func() {
		d, err := c.ScanHashes(dir)
		must(t, err)
		sameScan(t, d, dir)
	}); n != 3 {
		t.Fatalf("first scan read %d files, want 3", n)
	}
	if n := count(func() { _, err := c.ScanHashes(dir); must(t, err) }); n != 0 {
		t.Fatalf("hashes again: %d files read, want 0", n)
	}
	var s *trimstats.Stats
	if n := count(func() {
		var d *store.Dir
		d, s, err = c.ScanDir(dir)
		must(t, err)
		sameScan(t, d, dir)
	}); n != 1 {
		t.Fatalf("statistics after hashes: %d files read, want the tensors file alone", n)
	}
	other, err := Open(t.TempDir())
	must(t, err)
	_, want, err := other.ScanDir(dir)
	must(t, err)
	a, _ := s.MarshalBinary()
	b, _ := want.MarshalBinary()
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Fatal("statistics taken on a second read differ from those taken on the first")
	}
	if n := count(func() { _, err := c.ScanHashes(dir); must(t, err) }); n != 0 {
		t.Fatalf("hashes after statistics: %d files read, want 0", n)
	}
}

// Hash reads a file once and caches it; Cached answers from the cache
// alone, never reading, and not for a file changed since.
func TestHashAndCached(t *testing.T) {
	fresh(t)
	dir := t.TempDir()
	writeModel(t, dir, 3)
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "model.safetensors")
	want, err := store.HashFileAt(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Cached(p); ok {
		t.Fatal("Cached answered for a file never hashed")
	}
	before := reads.Load()
	for range 2 {
		got, err := c.Hash(p)
		if err != nil || got != want {
			t.Fatalf("Hash: %+v, %v; store.HashFileAt gives %+v", got, err, want)
		}
	}
	if n := reads.Load() - before; n != 1 {
		t.Fatalf("two Hash calls read the file %d times, want 1", n)
	}
	if got, ok := c.Cached(p); !ok || got != want {
		t.Fatalf("Cached after Hash: %+v %v, want %+v", got, ok, want)
	}
	if n := reads.Load() - before; n != 1 {
		t.Fatalf("Cached read the file")
	}
	grain()
	must(t, os.WriteFile(p, []byte("changed"), 0o644))
	if _, ok := c.Cached(p); ok {
		t.Fatal("Cached answered for a file changed since it was hashed")
	}
}
