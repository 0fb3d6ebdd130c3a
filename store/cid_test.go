package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
)

// vectors are CIDs computed by the JavaScript ipfs-unixfs-importer (an
// implementation independent of boxo) configured as `ipfs add
// --cid-version=1`; see testdata/cid-vectors.json for the tool and options.
type vectors struct {
	Files []vectorFile      `json:"files"`
	Tree  map[string]string `json:"tree"`
}

// vectorFile is one file of the vectors: splitmix64 bytes (testgen) of a
// seed and size, and what the importer made of them.
type vectorFile struct {
	Name   string `json:"name"`
	Seed   uint64 `json:"seed"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	CID    string `json:"cid"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/cid-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Files) != 5 || len(v.Tree) != 3 {
		t.Fatalf("cid-vectors.json: %d files, %d tree entries", len(v.Files), len(v.Tree))
	}
	return v
}

func TestHashFileMatchesKubo(t *testing.T) {
	for _, f := range loadVectors(t).Files {
		t.Run(f.Name, func(t *testing.T) {
			info, err := HashFile(testgen.Reader(f.Seed, f.Size))
			checkVector(t, f, info, err)
		})
	}
}

// checkVector checks what hashing a vector's bytes gave against the
// independent importer's CID, size and SHA-256.
func checkVector(t *testing.T, f vectorFile, info FileInfo, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CID.String(); got != f.CID {
		t.Errorf("CID %s, want %s", got, f.CID)
	}
	if info.Size != f.Size {
		t.Errorf("size %d, want %d", info.Size, f.Size)
	}
	if got := hex.EncodeToString(info.SHA256[:]); got != f.SHA256 {
		t.Errorf("sha256 %s, want %s", got, f.SHA256)
	}
}

// writeTree lays out the nested directory of the vectors.
func writeTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tree")
	files := map[string][]byte{
		"config.json":      []byte("{\"model_type\":\"potluck-test\"}\n"),
		"a.bin":            testgen.Bytes(6, 1000),
		"sub/b.bin":        testgen.Bytes(7, 300000),
		"sub/deeper/c.bin": testgen.Bytes(8, 0),
		".hidden":          []byte("kubo skips hidden files"),
		"sub/.cache/x":     []byte("and hidden directories"),
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestHashDirMatchesKubo(t *testing.T) {
	v := loadVectors(t)
	dir := writeTree(t)
	for rel, want := range map[string]string{"root": "", "sub": "sub"} {
		got, err := HashDir(filepath.Join(dir, want))
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != v.Tree[rel] {
			t.Errorf("%s: CID %s, want %s", rel, got, v.Tree[rel])
		}
	}
	info, err := HashFileAt(filepath.Join(dir, "sub", "b.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if info.CID.String() != v.Tree["sub/b.bin"] {
		t.Errorf("sub/b.bin: CID %s, want %s", info.CID, v.Tree["sub/b.bin"])
	}
	sum := sha256.Sum256(testgen.Bytes(7, 300000))
	if info.SHA256 != sum {
		t.Errorf("sub/b.bin: sha256 differs")
	}
}
