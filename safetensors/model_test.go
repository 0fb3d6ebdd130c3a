package safetensors

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeShard writes a file holding one U8 tensor per name, each of 2 bytes whose
// values are the name's first byte and its length.
func writeShard(t *testing.T, dir, file string, names ...string) {
	t.Helper()
	var specs []TensorSpec
	var data []byte
	for _, n := range names {
		specs = append(specs, TensorSpec{n, U8, []int64{2}})
		data = append(data, n[0], byte(len(n)))
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, specs, nil)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, file), buf.Bytes(), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func writeRaw(t *testing.T, dir, file, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// shardedDir holds two shards and an index, as transformers writes them.
func shardedDir(t *testing.T) string {
	dir := t.TempDir()
	writeShard(t, dir, "model-00001-of-00002.safetensors", "b.weight", "a.weight")
	writeShard(t, dir, "model-00002-of-00002.safetensors", "c.bias")
	err := WriteIndex(filepath.Join(dir, IndexName), &Index{
		Metadata: map[string]any{"total_size": 6},
		WeightMap: map[string]string{
			"a.weight": "model-00001-of-00002.safetensors",
			"b.weight": "model-00001-of-00002.safetensors",
			"c.bias":   "model-00002-of-00002.safetensors",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenModelSharded(t *testing.T) {
	m, err := OpenModel(shardedDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	wantFiles := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}
	if !reflect.DeepEqual(m.Files, wantFiles) || m.Index == nil {
		t.Errorf("Files = %v (index %v), want %v", m.Files, m.Index, wantFiles)
	}
	var got []string
	for _, mt := range m.Tensors() {
		got = append(got, mt.Name+"@"+mt.File[:11])
	}
	want := []string{"a.weight@model-00001", "b.weight@model-00001", "c.bias@model-00002"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Tensors = %v, want %v", got, want)
	}
	if mt, ok := m.Tensor("c.bias"); !ok || mt.File != wantFiles[1] || mt.Size() != 2 {
		t.Errorf("Tensor(c.bias) = %+v, %v", mt, ok)
	}
	for name, want := range map[string][]byte{"a.weight": {'a', 8}, "c.bias": {'c', 6}} {
		if b, err := m.ReadTensor(name, nil); err != nil || !bytes.Equal(b, want) {
			t.Errorf("ReadTensor(%s) = %v, %v; want %v", name, b, err, want)
		}
	}
	if _, err := m.ReadTensor("nope", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadTensor(nope) = %v, want ErrNotFound", err)
	}
}

func TestIndexRoundTrip(t *testing.T) {
	dir := shardedDir(t)
	b, err := os.ReadFile(filepath.Join(dir, IndexName))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "metadata": {
    "total_size": 6
  },
  "weight_map": {
    "a.weight": "model-00001-of-00002.safetensors",
    "b.weight": "model-00001-of-00002.safetensors",
    "c.bias": "model-00002-of-00002.safetensors"
  }
}
`
	if string(b) != want {
		t.Errorf("index file:\n%s\nwant:\n%s", b, want)
	}
	idx, err := ReadIndex(filepath.Join(dir, IndexName))
	if err != nil || idx.Metadata["total_size"] != float64(6) || len(idx.WeightMap) != 3 {
		t.Errorf("ReadIndex = %+v, %v", idx, err)
	}
}

func TestOpenModelLayouts(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]string // file → tensors
		want  []string
	}{
		{"single", map[string][]string{"model.safetensors": {"x"}, "adapter.safetensors": {"y"}}, []string{"model.safetensors"}},
		{"one other", map[string][]string{"weights.safetensors": {"x"}}, []string{"weights.safetensors"}},
		{"shards, no index", map[string][]string{"b.safetensors": {"y"}, "a.safetensors": {"x"}}, []string{"a.safetensors", "b.safetensors"}},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		for file, names := range tt.files {
			writeShard(t, dir, file, names...)
		}
		writeRaw(t, dir, "config.json", "{}")
		m, err := OpenModel(dir)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(m.Files, tt.want) || m.Index != nil {
			t.Errorf("%s: Files = %v, want %v", tt.name, m.Files, tt.want)
		}
		m.Close()
	}
}

func TestOpenModelRejects(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
		is    error
	}{
		{"missing shard", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
		}, `model.safetensors.index.json names shard "model-00002-of-00002.safetensors"`, fs.ErrNotExist},
		{"wrong shard", func(t *testing.T, dir string) {
			writeShard(t, dir, "model-00002-of-00002.safetensors", "d")
		}, `maps tensor "c.bias" to model-00002-of-00002.safetensors, which does not hold it`, ErrInvalid},
		{"moved tensor", func(t *testing.T, dir string) {
			writeShard(t, dir, "model-00001-of-00002.safetensors", "a.weight")
			writeShard(t, dir, "model-00002-of-00002.safetensors", "b.weight", "c.bias")
		}, `maps tensor "b.weight" to model-00001-of-00002.safetensors, but it is in model-00002-of-00002.safetensors`, ErrInvalid},
		{"tensor in two shards", func(t *testing.T, dir string) {
			writeShard(t, dir, "model-00002-of-00002.safetensors", "c.bias", "a.weight")
		}, `tensor "a.weight" is in both model-00001-of-00002.safetensors and model-00002-of-00002.safetensors`, ErrInvalid},
		{"escaping shard", func(t *testing.T, dir string) {
			writeRaw(t, dir, IndexName, `{"weight_map":{"a":"../model.safetensors"}}`)
		}, `shard "../model.safetensors" is not a file inside the model directory`, ErrInvalid},
		{"empty weight map", func(t *testing.T, dir string) {
			writeRaw(t, dir, IndexName, `{"metadata":{}}`)
		}, `weight_map is missing or empty`, ErrInvalid},
		{"bad JSON", func(t *testing.T, dir string) {
			writeRaw(t, dir, IndexName, `{"weight_map":[]}`)
		}, `index JSON`, ErrInvalid},
		{"bad shard", func(t *testing.T, dir string) {
			writeRaw(t, dir, "model-00002-of-00002.safetensors", "\x02\x00\x00\x00\x00\x00\x00\x00{}x")
		}, `model-00002-of-00002.safetensors: data section has 1 bytes`, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := shardedDir(t)
			tt.setup(t, dir)
			_, err := OpenModel(dir)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenModel = %v\nwant %v containing %q", err, tt.is, tt.want)
			}
		})
	}
}

func TestOpenModelEmptyDir(t *testing.T) {
	if _, err := OpenModel(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenModel(empty) = %v, want ErrNotExist", err)
	}
	dir := t.TempDir()
	writeShard(t, dir, "a.safetensors", "x")
	writeShard(t, dir, "b.safetensors", "x")
	if _, err := OpenModel(dir); !errors.Is(err, ErrInvalid) {
		t.Errorf("OpenModel(duplicate across unindexed shards) = %v, want ErrInvalid", err)
	}
}
