package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// assemble builds a safetensors file by hand: the 8-byte little-endian header
// length, the header, then the data section.
func assemble(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// handHeader lists "b" before "a" although "a" comes first in the data section,
// to check that tensors are reported in file order. It is 142 bytes long.
const handHeader = `{"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[8,12]},` +
	`"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`

var handData = []byte{
	0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40, // a: F32 1.0, 2.0
	0x80, 0x3F, 0x00, 0xC0, // b: BF16 1.0, -2.0
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenHandWritten(t *testing.T) {
	f, err := Open(writeTemp(t, "hand.safetensors", assemble(handHeader, handData)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const dataStart = 8 + 142
	want := []TensorInfo{
		{Name: "a", DType: F32, Shape: []int64{2}, Start: dataStart, End: dataStart + 8},
		{Name: "b", DType: BF16, Shape: []int64{1, 2}, Start: dataStart + 8, End: dataStart + 12},
	}
	if !reflect.DeepEqual(f.Tensors, want) {
		t.Errorf("Tensors = %+v, want %+v", f.Tensors, want)
	}
	if f.DataStart != dataStart || f.FileSize != dataStart+12 {
		t.Errorf("DataStart, FileSize = %d, %d, want %d, %d", f.DataStart, f.FileSize, dataStart, dataStart+12)
	}
	if !reflect.DeepEqual(f.Metadata, map[string]string{"format": "pt"}) {
		t.Errorf("Metadata = %v", f.Metadata)
	}
	b, err := f.ReadTensor("b", nil)
	if err != nil || !bytes.Equal(b, handData[8:]) {
		t.Errorf("ReadTensor(b) = % x, %v; want % x", b, err, handData[8:])
	}
	vals := make([]float32, 2)
	if err := DecodeFloat32(vals, b, BF16); err != nil || vals[0] != 1 || vals[1] != -2 {
		t.Errorf("decoded b = %v, %v; want [1 -2]", vals, err)
	}
	sec, err := f.Section("a")
	if err != nil {
		t.Fatal(err)
	}
	a := make([]byte, 9)
	if n, _ := sec.ReadAt(a, 0); n != 8 || !bytes.Equal(a[:8], handData[:8]) {
		t.Errorf("Section(a) read %d bytes % x, want % x", n, a[:n], handData[:8])
	}
}

func TestReadTensorReusesBuffer(t *testing.T) {
	f, err := NewFile(bytes.NewReader(assemble(handHeader, handData)), int64(8+len(handHeader)+len(handData)))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 64)
	got, err := f.ReadTensor("a", buf)
	if err != nil || &got[0] != &buf[:1][0] {
		t.Errorf("ReadTensor did not reuse a large enough buffer (err %v)", err)
	}
	if _, err := f.ReadTensor("missing", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadTensor(missing) = %v, want ErrNotFound", err)
	}
	if _, err := f.Section("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Section(missing) = %v, want ErrNotFound", err)
	}
}

func TestReadHeaderValid(t *testing.T) {
	tests := []struct {
		name, header string
		data         int
		tensors      []string // names in file order
	}{
		{"empty", `{}`, 0, nil},
		{"padded", `{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}    `, 3, []string{"a"}},
		{"null metadata", `{"__metadata__":null,"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, 1, []string{"a"}},
		{"scalar", `{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}`, 8, []string{"s"}},
		{"zero elements", `{"z":{"dtype":"F32","shape":[4,0],"data_offsets":[0,0]}}`, 0, []string{"z"}},
		{"zero among others", `{"y":{"dtype":"I16","shape":[0],"data_offsets":[2,2]},` +
			`"x":{"dtype":"I16","shape":[1],"data_offsets":[0,2]},"w":{"dtype":"BOOL","shape":[0],"data_offsets":[2,2]}}`,
			2, []string{"x", "w", "y"}},
		{"huge zero", `{"z":{"dtype":"F32","shape":[0,9223372036854775807,9223372036854775807],"data_offsets":[0,0]}}`, 0, []string{"z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := assemble(tt.header, make([]byte, tt.data))
			h, err := ReadHeader(bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, ti := range h.Tensors {
				names = append(names, ti.Name)
			}
			if !reflect.DeepEqual(names, tt.tensors) {
				t.Errorf("tensors %v, want %v", names, tt.tensors)
			}
		})
	}
}

func TestOpenErrorsNamePath(t *testing.T) {
	path := writeTemp(t, "bad.safetensors", assemble(`{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}`, make([]byte, 20)))
	_, err := Open(path)
	want := "safetensors: " + path + `: tensor "w": shape [2 3] × F32 is 24 bytes, data_offsets span 20`
	if !errors.Is(err, ErrInvalid) || err == nil || err.Error() != want {
		t.Errorf("Open = %v\nwant %s", err, want)
	}
	missing := filepath.Join(t.TempDir(), "missing.safetensors")
	if _, err := Open(missing); !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
}
