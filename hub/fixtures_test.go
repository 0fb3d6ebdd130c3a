package hub_test

// What the end-to-end tests upload: a generated base and two fine-tunes of
// it (writeModels, generated once per test binary), deltas of them
// (makeDelta), signed (signDir, scanAndBundle), altered as a careless or
// hostile lab could (copyDir, rewriteShard, remanifest), merge recipes
// (recipe), and a hub already holding a base, and a delta or two of it
// (registeredBase, baseAndDelta, baseAndTwoDeltas).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// models are a generated base and two fine-tunes of it.
type models struct{ base, ftA, ftB string }

// modelsIn names the models' folders under dir: base, ft-a and ft-b.
func modelsIn(dir string) models {
	return models{base: filepath.Join(dir, "base"), ftA: filepath.Join(dir, "ft-a"), ftB: filepath.Join(dir, "ft-b")}
}

// modelFiles holds the bytes of the models every test starts from, by path
// under their parent folder: generated once per test binary (about half a
// second) on first use, written out for each test that asks (a fifth of
// that). Only read once generated, so tests running in parallel share it;
// held in memory (about 13 MB), so nothing is left on disk to remove.
var modelFiles struct {
	once  sync.Once
	files map[string][]byte
	err   error
}

// generateModels generates the models in a temporary folder and returns
// their files' bytes by path under it.
func generateModels() (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "potluck-hub-models-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	m := modelsIn(dir)
	if err := testmodel.WriteBase(m.base, 1, testmodel.Small); err != nil {
		return nil, err
	}
	if err := testmodel.WriteFinetune(m.base, m.ftA, 10, 0.02); err != nil {
		return nil, err
	}
	if err := testmodel.WriteFinetune(m.base, m.ftB, 11, 0.02); err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[rel], err = os.ReadFile(p)
		return err
	})
	return files, err
}

// writeModels writes the base and its two fine-tunes under dir (base, ft-a,
// ft-b): the test may change them.
func writeModels(t *testing.T, dir string) models {
	t.Helper()
	c := &modelFiles
	c.once.Do(func() { c.files, c.err = generateModels() })
	if c.err != nil {
		t.Fatalf("generating the test models: %v", c.err)
	}
	for rel, b := range c.files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return modelsIn(dir)
}

func makeDelta(t *testing.T, base, ft, out, baseCID string) *potluck.Manifest {
	t.Helper()
	man, err := node.MakeDelta(context.Background(), node.DeltaOptions{BaseDir: base, FinetunedDir: ft, OutDir: out, BaseCID: baseCID})
	if err != nil {
		t.Fatal(err)
	}
	return man
}

// signDir signs dir (writing dir/model.sig) and returns the scan and bundle.
func signDir(t *testing.T, dir string, s *signing.Signer) (*store.Dir, []byte) {
	t.Helper()
	scan, bundle, err := node.SignDir(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	return scan, bundle
}

// scanAndBundle scans a model directory and signs it, writing nothing.
func scanAndBundle(t *testing.T, dir string, s *signing.Signer) (*store.Dir, []byte) {
	t.Helper()
	d, err := store.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := node.Bundle(d, s)
	if err != nil {
		t.Fatal(err)
	}
	return d, b
}

// registeredBase writes the models under hs.dir and registers the base,
// signed by lab-a.
func (hs *harness) registeredBase(t *testing.T) (models, *potluck.Release) {
	t.Helper()
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	return m, base
}

// baseAndDelta is registeredBase, then lab-a's delta of the base, made in
// hs.dir/da with the manifest man, published.
func (hs *harness) baseAndDelta(t *testing.T) (m models, base, da *potluck.Release, man *potluck.Manifest) {
	t.Helper()
	m, base = hs.registeredBase(t)
	man = makeDelta(t, m.base, m.ftA, filepath.Join(hs.dir, "da"), base.CID)
	var err error
	if da, err = hs.publish(filepath.Join(hs.dir, "da"), hs.keyA, base.CID); err != nil {
		t.Fatal(err)
	}
	return m, base, da, man
}

// baseAndTwoDeltas is baseAndDelta, then lab-b's delta of the base, made
// in hs.dir/db, published.
func (hs *harness) baseAndTwoDeltas(t *testing.T) (m models, base, da, db *potluck.Release) {
	t.Helper()
	m, base, da, _ = hs.baseAndDelta(t)
	makeDelta(t, m.base, m.ftB, filepath.Join(hs.dir, "db"), base.CID)
	db, err := hs.publish(filepath.Join(hs.dir, "db"), hs.keyB, base.CID)
	if err != nil {
		t.Fatal(err)
	}
	return m, base, da, db
}

// recipe is a task arithmetic recipe over base, one weight per delta.
func recipe(base string, deltas []string, weights []float64) []byte {
	s := fmt.Sprintf("merge_method: task_arithmetic\nbase_model: %s\nparameters:\n  lambda: 1.0\nmodels:\n", base)
	for i, d := range deltas {
		s += fmt.Sprintf("  - model: %s\n    parameters:\n      weight: %v\n", d, weights[i])
	}
	return []byte(s)
}

// copyDir copies a release directory, leaving out model.sig.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if rel == signing.SignatureFile {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rewriteShard rewrites a safetensors file through edit, which may change
// specs (dtype, shape) and data (one slice per tensor, file order).
func rewriteShard(t *testing.T, path string, edit func(specs []safetensors.TensorSpec, data [][]byte)) {
	t.Helper()
	specs, data, meta := readShard(t, path)
	edit(specs, data)
	writeShard(t, path, specs, data, meta)
}

// readShard reads a safetensors file: its tensors' specs and bytes, in
// file order, and its metadata.
func readShard(t *testing.T, path string) ([]safetensors.TensorSpec, [][]byte, map[string]string) {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var specs []safetensors.TensorSpec
	var data [][]byte
	for _, ti := range f.Tensors {
		b, err := f.ReadTensor(ti.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, safetensors.TensorSpec{Name: ti.Name, DType: ti.DType, Shape: slices.Clone(ti.Shape)})
		data = append(data, slices.Clone(b))
	}
	return specs, data, f.Metadata
}

// writeShardFile writes tensors, in order, as a safetensors file with the
// metadata a PyTorch export carries.
func writeShardFile(t *testing.T, path string, specs []safetensors.TensorSpec, data [][]byte) {
	t.Helper()
	writeShard(t, path, specs, data, map[string]string{"format": "pt"})
}

// writeShard writes tensors, in order, as a safetensors file with meta.
func writeShard(t *testing.T, path string, specs []safetensors.TensorSpec, data [][]byte, meta map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	w, err := safetensors.NewWriter(&buf, specs, meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range data {
		if _, err := w.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// remanifest rewrites dir/potluck.json so that it describes the files as
// they are now: every file's size, SHA-256 and CID, and every tensor of a
// readable shard where it lies, with the SHA-256 of its bytes. Tensors of a
// shard that does not parse keep their old entries.
func remanifest(t *testing.T, dir string) {
	t.Helper()
	man, err := potluck.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := man.Tensors
	man.Files, man.Tensors = nil, nil
	entries, err := store.WalkDir(dir, store.HashFileAt)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Dir || e.Path == potluck.ManifestFile || e.Path == signing.SignatureFile {
			continue
		}
		man.Files = append(man.Files, potluck.File{Path: e.Path, Size: e.File.Size, SHA256: fileSHA256(t, filepath.Join(dir, e.Path)), CID: e.File.CID.String()})
		if !strings.HasSuffix(e.Path, ".safetensors") {
			continue
		}
		f, err := safetensors.Open(filepath.Join(dir, e.Path))
		if err != nil {
			for _, ot := range old {
				if ot.File == e.Path {
					man.Tensors = append(man.Tensors, ot)
				}
			}
			continue
		}
		for _, ti := range f.Tensors {
			b, err := f.ReadTensor(ti.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			man.Tensors = append(man.Tensors, potluck.Tensor{Name: ti.Name, DType: string(ti.DType), Shape: ti.Shape, File: e.Path,
				Offset: ti.Start, Length: ti.End - ti.Start, SHA256: hex.EncodeToString(sum[:]), Encoding: "dense"})
		}
		f.Close()
	}
	if err := man.Write(dir); err != nil {
		t.Fatal(err)
	}
}

// tensorOf is the manifest's entry for the tensor name.
func tensorOf(t *testing.T, man *potluck.Manifest, name string) potluck.Tensor {
	t.Helper()
	for _, tt := range man.Tensors {
		if tt.Name == name {
			return tt
		}
	}
	t.Fatalf("the manifest lists no tensor %q", name)
	return potluck.Tensor{}
}

// releaseFile is the release's file at path.
func releaseFile(t *testing.T, rel *potluck.Release, path string) potluck.File {
	t.Helper()
	for _, f := range rel.Files {
		if f.Path == path {
			return f
		}
	}
	t.Fatalf("release %s has no file %q", rel.CID, path)
	return potluck.File{}
}
