package node

import (
	"os"
	"path/filepath"
	"testing"

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
	d, err := scanReporting(dir, func(done, total int64) { seen = append(seen, [2]int64{done, total}) })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 2 || seen[0] != [2]int64{0, 1050} || seen[len(seen)-1] != [2]int64{1050, 1050} {
		t.Errorf("progress %v: want from 0 to 1050 of 1050 bytes", seen)
	}
	plain, err := store.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := d.CID()
	b, _ := plain.CID()
	if a != b {
		t.Errorf("scanned with progress %s, without %s", a, b)
	}
}
