package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/store"
)

func TestScanDir(t *testing.T) {
	release := map[string]string{
		"config.json":             `{"a":1}`,
		"model.safetensors":       strings.Repeat("w", 300000), // more than one 256 KiB block
		"tokenizer/vocab.txt":     "a\nb\n",
		"sub/model.sig":           "only the top-level model.sig is the signature",
		"tokenizer/empty.txt":     "",
		"potluck.json":            "{}",
		"tokenizer/deeper/x.json": "[]",
	}
	ignored := map[string]string{
		"model.sig":           "bundle",
		".hidden":             "h",
		".git/config":         "[core]",
		"tokenizer/.DS_Store": "x",
	}
	dir := filepath.Join(t.TempDir(), "release")
	writeScanTree(t, dir, release)
	writeScanTree(t, dir, ignored)
	d, err := store.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	var size int64
	for _, e := range d.Files {
		paths = append(paths, e.Path)
		sum := sha256.Sum256([]byte(release[e.Path]))
		if e.Dir || e.File.Size != int64(len(release[e.Path])) || e.File.SHA256 != sum {
			t.Errorf("file %s: size %d sha256 %s, want %d %s", e.Path, e.File.Size, hex.EncodeToString(e.File.SHA256[:]), len(release[e.Path]), hex.EncodeToString(sum[:]))
		}
		size += int64(len(release[e.Path]))
	}
	want := sortedKeys(release)
	if !slices.Equal(paths, want) {
		t.Errorf("files %v, want %v (in path order, hidden files and model.sig left out)", paths, want)
	}
	if d.Size() != size {
		t.Errorf("Size() = %d, want %d", d.Size(), size)
	}
	if wantHidden := []string{".git", ".hidden", "tokenizer/.DS_Store"}; !slices.Equal(d.Hidden, wantHidden) {
		t.Errorf("hidden %v, want %v", d.Hidden, wantHidden)
	}

	// The CID is `ipfs add -r` of the same directory without model.sig
	// (hidden files, which ipfs skips, may stay), empty directory included.
	c, err := d.CID()
	if err != nil {
		t.Fatal(err)
	}
	withSig, err := store.HashDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "model.sig")); err != nil {
		t.Fatal(err)
	}
	without, err := store.HashDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c != without {
		t.Errorf("CID %s, want %s (store.HashDir without model.sig)", c, without)
	}
	if c == withSig {
		t.Errorf("CID %s is also that of the directory with model.sig: the test cannot tell", c)
	}
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A release is its files: ScanDir refuses a tree with an empty folder, whose
// `ipfs add -r` CID the hub could not reproduce, and names the folder.
func TestScanDirRefusesEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub", "hollow"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "b.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := store.ScanDir(dir)
	if err == nil || !strings.Contains(err.Error(), `"sub/hollow"`) {
		t.Fatalf("ScanDir of a tree with an empty folder: %v, want an error naming sub/hollow", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "hollow", "c.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ScanDir(dir); err != nil {
		t.Fatalf("ScanDir once the folder holds a file: %v", err)
	}
}

func writeScanTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		path := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
