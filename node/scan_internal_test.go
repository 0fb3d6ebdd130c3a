package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/store"
)

// TestScanReporting: the hashing progress counts the files a release holds
// (hidden files and model.sig left out) and the scan gives ScanDir's CID.
func TestScanReporting(t *testing.T) {
	dir := t.TempDir()
	for p, n := range map[string]int{"a.safetensors": 1000, "sub/b.json": 50, ".hidden": 10, "model.sig": 5} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var seen [][2]int64
	d, err := scanner{progress: func(done, total int64) { seen = append(seen, [2]int64{done, total}) }}.scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 2 || seen[0] != [2]int64{0, 1050} || seen[len(seen)-1] != [2]int64{1050, 1050} {
		t.Errorf("progress %v: want from 0 to 1050 of 1050 bytes", seen)
	}
	sameCIDAsScanDir(t, d, dir)
}

// sameCIDAsScanDir checks a scan's root CID against store.ScanDir's.
func sameCIDAsScanDir(t *testing.T, d *store.Dir, dir string) {
	t.Helper()
	plain, err := store.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := d.CID()
	b, _ := plain.CID()
	if a != b {
		t.Errorf("scanner CID %s, store.ScanDir %s", a, b)
	}
}

// A scanner takes a known file's hashes without reading it while the file
// keeps its size and modification time, and reads it again once it does
// not; the files it reads give store.ScanDir's CID.
func TestScannerTakesKnownHashes(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.json")
	for p, n := range map[string]int{a: 3000, b: 40} {
		if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	actual, err := store.HashFileAt(a)
	if err != nil {
		t.Fatal(err)
	}
	fake, err := store.HashFile(strings.NewReader(strings.Repeat("x", 3000))) // same size, other bytes
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	s := scanner{known: knownFiles{a: {info: fake, mtime: st.ModTime()}}}
	fileOf := func(d *store.Dir, name string) store.FileInfo {
		for _, e := range d.Files {
			if e.Path == name {
				return e.File
			}
		}
		t.Fatalf("scan lists no %s", name)
		return store.FileInfo{}
	}
	d, err := s.scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileOf(d, "a.safetensors"); got != fake {
		t.Errorf("a known, unchanged file was read: %s, want the known %s", got.CID, fake.CID)
	}
	later := st.ModTime().Add(time.Second)
	if err := os.Chtimes(a, later, later); err != nil {
		t.Fatal(err)
	}
	d, err = s.scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileOf(d, "a.safetensors"); got != actual {
		t.Errorf("a known file touched since: %s, want its bytes' %s", got.CID, actual.CID)
	}
	sameCIDAsScanDir(t, d, dir)
}

// makeDelta hands on the hashes it took for the manifest, for every file
// of the delta but the manifest, under the delta's final path, each what
// the file's bytes hash to.
func TestMakeDeltaKnowsItsFiles(t *testing.T) {
	dir := t.TempDir()
	base, ft := filepath.Join(dir, "base"), filepath.Join(dir, "ft")
	if err := testmodel.WriteBase(base, 3, testmodel.Small); err != nil {
		t.Fatal(err)
	}
	if err := testmodel.WriteFinetune(base, ft, 4, 0.02); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "delta")
	d, err := makeDelta(context.Background(), DeltaOptions{BaseDir: base, FinetunedDir: ft, OutDir: out}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	scan, err := store.ScanDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range scan.Files {
		p := filepath.Join(out, filepath.FromSlash(e.Path))
		k, ok := d.known[p]
		if e.Path == potluck.ManifestFile {
			if ok {
				t.Errorf("the manifest's hash is known, but it was written after hashing")
			}
			continue
		}
		if !ok || k.info != e.File {
			t.Errorf("%s: known %v (%v), its bytes hash to %s", e.Path, k.info.CID, ok, e.File.CID)
		}
	}
	if len(d.known) != len(scan.Files)-1 {
		t.Errorf("%d files known, the delta has %d besides its manifest", len(d.known), len(scan.Files)-1)
	}
}
