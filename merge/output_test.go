package merge_test

// Checks of a merged directory against what the test knows independently.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

// checkTensor checks a merged tensor's dtype, shape and shard.
func checkTensor(t *testing.T, got map[string]tensorBytes, name string, dt safetensors.DType, shape []int64, shard string) {
	t.Helper()
	g, ok := got[name]
	switch {
	case !ok:
		t.Fatalf("output has no tensor %s", name)
	case g.DType != dt || !slices.Equal(g.Shape, shape) || g.File != shard:
		t.Errorf("tensor %s: %s %v in %s, want %s %v in %s", name, g.DType, g.Shape, g.File, dt, shape, shard)
	}
}

// checkIntsCopied checks that the integer tensor is the base's, byte for byte.
func checkIntsCopied(t *testing.T, f *fixture, got map[string]tensorBytes) {
	t.Helper()
	bt := f.tensors[posIDs]
	checkTensor(t, got, posIDs, bt.DType, bt.Shape, single)
	if want := encode(t, bt); !bytes.Equal(got[posIDs].Raw, want) {
		t.Errorf("tensor %s: % x, want the base's % x", posIDs, got[posIDs].Raw, want)
	}
}

// checkOthersCopied checks that the output holds one shard with its index,
// the base's other files (byte for byte) but its index, its manifest and
// model card (README.md, mergekit_config.yml), nothing else.
func checkOthersCopied(t *testing.T, f *fixture, out string) {
	t.Helper()
	files := readAll(t, out)
	for p, c := range f.others {
		if p != safetensors.IndexName && string(files[p]) != c {
			t.Errorf("%s: %q, want the base's %q", p, files[p], c)
		}
	}
	want := []string{"config.json", single, safetensors.IndexName, potluck.ManifestFile, "tokenizer.json", "README.md", "mergekit_config.yml"}
	slices.Sort(want)
	if got := keys(files); !slices.Equal(got, want) {
		t.Errorf("output files %v, want %v", got, want)
	}
	var idx struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(files[safetensors.IndexName], &idx); err != nil {
		t.Fatal(err)
	}
	var size int64
	for name, td := range f.tensors {
		if idx.WeightMap[name] != single {
			t.Errorf("index maps %s to %q, want %q", name, idx.WeightMap[name], single)
		}
		size += int64(max(len(td.Vals), len(td.Ints))) * int64(td.DType.Size())
	}
	if len(idx.WeightMap) != len(f.tensors) || idx.Metadata["total_size"] != size {
		t.Errorf("index %s: want %d tensors, total_size %d", files[safetensors.IndexName], len(f.tensors), size)
	}
}

// checkManifest checks the merge manifest in out against what the test knows
// independently: the CIDs of the inputs, the recipe, and the bytes of every
// tensor and file in out.
func checkManifest(t *testing.T, out string, returned *potluck.Manifest, f *fixture, method string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(out, potluck.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := potluck.ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if enc, err := returned.Encode(); err != nil || !bytes.Equal(enc, raw) {
		t.Errorf("Run returned a manifest other than the one it wrote (%v)", err)
	}
	if m.Kind != potluck.KindMerge || m.Base != f.baseCID {
		t.Errorf("manifest: kind %q base %s, want %q %s", m.Kind, m.Base, potluck.KindMerge, f.baseCID)
	}
	checkProvenance(t, m, f, method)
	checkManifestTensors(t, out, m, f)
	checkManifestFiles(t, out, m)
}

func checkProvenance(t *testing.T, m *potluck.Manifest, f *fixture, method string) {
	t.Helper()
	if m.Merge == nil {
		t.Fatal("manifest: no merge provenance")
	}
	if m.Merge.Method != method || m.Merge.Engine == "" {
		t.Errorf("manifest: method %q engine %q, want %q and an engine", m.Merge.Method, m.Merge.Engine, method)
	}
	var inputs []potluck.Input
	for i, c := range f.cids() {
		inputs = append(inputs, potluck.Input{CID: c, Weight: weights[i]})
	}
	if !slices.Equal(m.Merge.Inputs, inputs) {
		t.Errorf("manifest: inputs %v, want %v", m.Merge.Inputs, inputs)
	}
	rec := mustJSON(t, m.Merge.Recipe)
	if rec["merge_method"] != method || rec["base_model"] != f.baseCID {
		t.Errorf("recorded recipe: method %v base %v, want %s %s", rec["merge_method"], rec["base_model"], method, f.baseCID)
	}
	models, _ := rec["models"].([]any)
	if len(models) != len(f.deltas) {
		t.Fatalf("recorded recipe has %d models, want %d: %s", len(models), len(f.deltas), m.Merge.Recipe)
	}
	for i, mr := range models {
		if got := mr.(map[string]any)["model"]; got != f.deltas[i].cid {
			t.Errorf("recorded recipe: models[%d] is %v, want the CID %s", i, got, f.deltas[i].cid)
		}
	}
	if strings.Contains(string(m.Merge.Recipe), f.base) {
		t.Errorf("recorded recipe names a local directory: %s", m.Merge.Recipe)
	}
}

func checkManifestTensors(t *testing.T, out string, m *potluck.Manifest, f *fixture) {
	t.Helper()
	got := readTensors(t, out)
	var names []string
	for _, mt := range m.Tensors {
		names = append(names, mt.Name)
		b, err := os.ReadFile(filepath.Join(out, mt.File))
		if err != nil {
			t.Fatalf("manifest: tensor %s: %v", mt.Name, err)
		}
		if mt.Offset < 0 || mt.Length < 0 || mt.Offset+mt.Length > int64(len(b)) {
			t.Fatalf("manifest: tensor %s: bytes [%d, +%d) outside %s", mt.Name, mt.Offset, mt.Length, mt.File)
		}
		data := b[mt.Offset : mt.Offset+mt.Length]
		sum := sha256.Sum256(data)
		if mt.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("manifest: tensor %s: sha256 %s, the bytes at its offset hash to %x", mt.Name, mt.SHA256, sum)
		}
		g := got[mt.Name]
		if !bytes.Equal(data, g.Raw) || mt.File != g.File || mt.DType != string(g.DType) || !slices.Equal(mt.Shape, g.Shape) {
			t.Errorf("manifest: tensor %s (%s %v at %s+%d) is not where the shard's header puts it", mt.Name, mt.DType, mt.Shape, mt.File, mt.Offset)
		}
	}
	slices.Sort(names)
	if want := keys(f.tensors); !slices.Equal(names, want) {
		t.Errorf("manifest tensors %v, want %v", names, want)
	}
}

func checkManifestFiles(t *testing.T, out string, m *potluck.Manifest) {
	t.Helper()
	files := readAll(t, out)
	delete(files, potluck.ManifestFile)
	var paths []string
	for _, mf := range m.Files {
		paths = append(paths, mf.Path)
		b := files[mf.Path]
		sum := sha256.Sum256(b)
		info, err := store.HashFileAt(filepath.Join(out, mf.Path))
		if err != nil {
			t.Fatal(err)
		}
		if mf.Size != int64(len(b)) || mf.SHA256 != hex.EncodeToString(sum[:]) || mf.CID != info.CID.String() {
			t.Errorf("manifest: file %+v, want size %d sha256 %x cid %s", mf, len(b), sum, info.CID)
		}
	}
	slices.Sort(paths)
	if want := keys(files); !slices.Equal(paths, want) {
		t.Errorf("manifest files %v, want %v", paths, want)
	}
}

// readAll reads every non-hidden file under dir, by slash path.
func readAll(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			t.Errorf("hidden path %s in %s", p, dir)
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
