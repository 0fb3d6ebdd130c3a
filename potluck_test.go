package potluck

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testManifest is a merge manifest with files and tensors in the order given.
func testManifest(files []File, tensors []Tensor) *Manifest {
	return &Manifest{
		Schema: ManifestSchema, Kind: KindMerge, Base: "bafybase", Publisher: "lab <a&b>",
		Files: files, Tensors: tensors,
		Merge: &MergeInfo{Method: "linear", Recipe: json.RawMessage(`{"merge_method":"linear"}`),
			Inputs: []Input{{CID: "bafyd1", Weight: 0.5}}, Engine: "potluck " + Version},
	}
}

var (
	fileA   = File{Path: "a.json", Size: 1, SHA256: "aa", CID: "bafya"}
	fileB   = File{Path: "b/model.safetensors", Size: 2, SHA256: "bb", CID: "bafyb"}
	tensorX = Tensor{Name: "x", DType: "BF16", Shape: []int64{2, 3}, File: "b/model.safetensors", Offset: 8, Length: 12, SHA256: "cc", Encoding: "dense"}
	tensorY = Tensor{Name: "y", DType: "F32", Shape: []int64{}, File: "b/model.safetensors", Offset: 20, Length: 4, SHA256: "dd", Encoding: "dense"}
)

// canonicalJSON is testManifest's encoding written out by hand: struct field
// order, files by path, tensors by name, no space, <>& unescaped.
const canonicalJSON = `{"schema":"potluck.manifest/v1","kind":"merge","base":"bafybase","publisher":"lab <a&b>",` +
	`"files":[{"path":"a.json","size":1,"sha256":"aa","cid":"bafya"},{"path":"b/model.safetensors","size":2,"sha256":"bb","cid":"bafyb"}],` +
	`"tensors":[{"name":"x","dtype":"BF16","shape":[2,3],"file":"b/model.safetensors","offset":8,"length":12,"sha256":"cc","encoding":"dense"},` +
	`{"name":"y","dtype":"F32","shape":[],"file":"b/model.safetensors","offset":20,"length":4,"sha256":"dd","encoding":"dense"}],` +
	`"merge":{"method":"linear","recipe":{"merge_method":"linear"},"inputs":[{"cid":"bafyd1","weight":0.5}],"engine":"potluck ` + Version + `"}}` + "\n"

func TestManifestEncodeCanonical(t *testing.T) {
	unsorted := testManifest([]File{fileB, fileA}, []Tensor{tensorY, tensorX})
	sorted := testManifest([]File{fileA, fileB}, []Tensor{tensorX, tensorY})
	b1, err := unsorted.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b2, err := sorted.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(b1) != string(b2) {
		t.Errorf("the same manifest in two orders encodes differently:\n%s\n%s", b1, b2)
	}
	if string(b1) != canonicalJSON {
		t.Errorf("Encode:\n%s\nwant\n%s", b1, canonicalJSON)
	}
	if unsorted.Files[0] != fileB || unsorted.Tensors[0].Name != "y" {
		t.Error("Encode reordered the caller's slices")
	}
	m, err := ParseManifest(b1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, sorted) {
		t.Errorf("ParseManifest(Encode(m)) = %+v, want %+v", m, sorted)
	}
}

func TestManifestWriteRead(t *testing.T) {
	dir := t.TempDir()
	m := testManifest([]File{fileB, fileA}, []Tensor{tensorY, tensorX})
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil || string(b) != canonicalJSON {
		t.Fatalf("%s holds %s (%v), want the canonical encoding", ManifestFile, b, err)
	}
	got, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := testManifest([]File{fileA, fileB}, []Tensor{tensorX, tensorY}); !reflect.DeepEqual(got, want) {
		t.Errorf("ReadManifest = %+v, want %+v", got, want)
	}
	os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"schema":"v0"}`), 0o644)
	if _, err := ReadManifest(dir); !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), filepath.Join(dir, ManifestFile)) {
		t.Errorf("ReadManifest of a bad manifest: %v, want ErrManifest naming the file", err)
	}
}

func TestParseManifestRejects(t *testing.T) {
	encode := func(m *Manifest) string {
		b, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := encode(testManifest([]File{fileA}, []Tensor{tensorX}))
	if _, err := ParseManifest([]byte(good)); err != nil {
		t.Fatalf("the good manifest: %v", err)
	}
	replace := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("%q is not in %s", old, good)
		}
		return strings.Replace(good, old, new, 1)
	}
	for _, tc := range []struct {
		name, json, mention string
	}{
		{"unknown field", replace(`{"schema"`, `{"signature":"x","schema"`), "signature"},
		{"unknown nested field", replace(`"size":1,`, `"size":1,"mode":420,`), "mode"},
		{"wrong schema", replace(ManifestSchema, "potluck.manifest/v2"), "potluck.manifest/v2"},
		{"no schema", replace(`"schema":"potluck.manifest/v1",`, ""), "schema"},
		{"kind base", replace(`"kind":"merge"`, `"kind":"base"`), `"base"`},
		{"unknown kind", replace(`"kind":"merge"`, `"kind":"lora"`), `"lora"`},
		{"empty base", replace(`"base":"bafybase"`, `"base":""`), "base"},
		{"no base", replace(`"base":"bafybase",`, ""), "base"},
		{"duplicate file", encode(testManifest([]File{fileA, fileB, fileA}, nil)), fileA.Path},
		{"duplicate tensor", encode(testManifest(nil, []Tensor{tensorX, tensorY, tensorX})), `"x"`},
		{"not JSON", `{"schema":`, ""},
		{"wrong type", replace(`"size":1`, `"size":"1"`), "size"},
		// Two documents in one file: the second is never checked.
		{"trailing data", good + `{"base":"bafyother"}`, ""},
		// encoding/json matches keys case-insensitively and lets the last
		// duplicate win, so this names bafyother as the base while a reader
		// in another language sees bafybase: the signed bytes would mean
		// two different things.
		{"field name in another case", replace(`"base":"bafybase"`, `"base":"bafybase","BASE":"bafyother"`), "BASE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tc.json))
			if !errors.Is(err, ErrManifest) {
				t.Fatalf("ParseManifest(%s) = %+v, %v; want an error wrapping ErrManifest", tc.json, m, err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
}
