package mlp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckpointRoundTrip(t *testing.T) {
	c := Config{Inputs: 784, Hidden: 64, Classes: 10}
	n := New[float32](c, 3)
	n.B2[3] = float32(math.Inf(-1)) // any bits survive
	n.B1[0] = float32(math.Copysign(0, -1))
	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := Save(dir, n); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config != c {
		t.Fatalf("config %+v, want %+v", m.Config, c)
	}
	for i, w := range n.Tensors() {
		for j, v := range w.Data {
			if got := m.Tensors()[i].Data[j]; math.Float32bits(got) != math.Float32bits(v) {
				t.Fatalf("%s[%d] = %g, saved %g", w.Name, j, got, v)
			}
		}
	}
	// Saving again gives the same bytes.
	dir2 := filepath.Join(t.TempDir(), "again")
	if err := Save(dir2, m); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, WeightsFile))
	b, _ := os.ReadFile(filepath.Join(dir2, WeightsFile))
	if !bytes.Equal(a, b) {
		t.Error("saving a loaded checkpoint changed its bytes")
	}
}

// TestSafetensorsLayout parses a saved file by the format's description,
// with nothing of this package's reader: the 8-byte little-endian length,
// the JSON header, the offsets, the little-endian F32 data.
func TestSafetensorsLayout(t *testing.T) {
	c := Config{Inputs: 3, Hidden: 2, Classes: 2}
	n := New[float32](c, 1)
	copy(n.B2, []float32{1.5, -2})
	dir := t.TempDir()
	if err := Save(dir, n); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(dir, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	size := binary.LittleEndian.Uint64(file[:8])
	if size%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", size)
	}
	var header map[string]struct {
		DType   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets []int  `json:"data_offsets"`
	}
	js := file[8 : 8+size]
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatalf("header %q: %v", js, err)
	}
	if string(raw["__metadata__"]) != `{"format":"pt"}` {
		t.Errorf("__metadata__ = %s", raw["__metadata__"])
	}
	delete(raw, "__metadata__")
	js, _ = json.Marshal(raw)
	if err := json.Unmarshal(js, &header); err != nil {
		t.Fatal(err)
	}
	data := file[8+size:]
	want := map[string][]int{"fc1.weight": {2, 3}, "fc1.bias": {2}, "fc2.weight": {2, 2}, "fc2.bias": {2}}
	if len(header) != len(want) {
		t.Errorf("header has %d tensors, want %d", len(header), len(want))
	}
	total := 0
	for name, shape := range want {
		h := header[name]
		if h.DType != "F32" || len(h.Shape) != len(shape) || len(h.Offsets) != 2 {
			t.Fatalf("%s: %+v", name, h)
		}
		elems := 1
		for i, d := range shape {
			if h.Shape[i] != d {
				t.Errorf("%s: shape %v, want %v", name, h.Shape, shape)
			}
			elems *= d
		}
		if h.Offsets[1]-h.Offsets[0] != 4*elems {
			t.Errorf("%s: offsets %v for %d elements", name, h.Offsets, elems)
		}
		total += 4 * elems
	}
	if total != len(data) {
		t.Errorf("tensors take %d bytes, data is %d", total, len(data))
	}
	b := data[header["fc2.bias"].Offsets[0]:]
	got := []float32{math.Float32frombits(binary.LittleEndian.Uint32(b)), math.Float32frombits(binary.LittleEndian.Uint32(b[4:]))}
	if got[0] != 1.5 || got[1] != -2 {
		t.Errorf("fc2.bias bytes read %v, want [1.5 -2]", got)
	}
	var cfg map[string]any
	cb, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err := json.Unmarshal(cb, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["model_type"] != ModelType || cfg["hidden_size"] != 2.0 || cfg["input_size"] != 3.0 || cfg["num_labels"] != 2.0 {
		t.Errorf("config.json = %s", cb)
	}
}

func TestLoadRejects(t *testing.T) {
	n := New[float32](Config{Inputs: 3, Hidden: 2, Classes: 2}, 1)
	good, err := encodeSafetensors(n.Tensors(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := decodeSafetensors(good); err != nil {
		t.Fatalf("good file: %v", err)
	}
	for name, corrupt := range map[string]func([]byte) []byte{
		"truncated":   func(b []byte) []byte { return b[:len(b)-4] },
		"extra bytes": func(b []byte) []byte { return append(b, 0, 0, 0, 0) },
		"short":       func(b []byte) []byte { return b[:5] },
		"huge header": func(b []byte) []byte { binary.LittleEndian.PutUint64(b, 1<<40); return b },
		"F16":         func(b []byte) []byte { return bytes.Replace(b, []byte(`"F32"`), []byte(`"F16"`), 1) },
		"not JSON":    func(b []byte) []byte { b[8] = '['; return b },
		"bad shape":   func(b []byte) []byte { return bytes.Replace(b, []byte(`"shape":[2]`), []byte(`"shape":[3]`), 1) },
	} {
		b := corrupt(bytes.Clone(good))
		if _, _, err := decodeSafetensors(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
	dir := t.TempDir()
	if err := Save(dir, n); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"model_type":"potluck-mnist-mlp","input_size":3,"hidden_size":4,"num_labels":2}`), 0o644)
	if _, err := Load(dir); !errors.Is(err, ErrFormat) {
		t.Errorf("hidden_size 4 over a hidden-2 checkpoint: %v", err)
	}
}
