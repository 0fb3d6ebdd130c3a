package safetensors

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The expected file is assembled by hand: a 144-byte header (138 bytes of JSON
// and 6 spaces of padding to a multiple of 8), then 8 bytes of "a" and 3 of "b".
func TestWriterKnownBytes(t *testing.T) {
	const json = `{"__metadata__":{"format":"pt"},` +
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}`
	want := []byte{144, 0, 0, 0, 0, 0, 0, 0}
	want = append(want, json+"      "...)
	data := []byte{0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 7, 8, 9}
	want = append(want, data...)

	var buf bytes.Buffer
	specs := []TensorSpec{{"a", F32, []int64{2}}, {"b", U8, []int64{3}}}
	w, err := NewWriter(&buf, specs, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range [][]byte{data[:3], data[3:9], data[9:]} {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got\n%q\nwant\n%q", buf.Bytes(), want)
	}
	if n, err := HeaderSize(specs, map[string]string{"format": "pt"}); n != 152 || err != nil {
		t.Errorf("HeaderSize = %d, %v; want 152", n, err)
	}
	wantInfos := []TensorInfo{{"a", F32, []int64{2}, 152, 160}, {"b", U8, []int64{3}, 160, 163}}
	if !reflect.DeepEqual(w.Tensors(), wantInfos) || w.Size() != 163 {
		t.Errorf("Tensors, Size = %+v, %d; want %+v, 163", w.Tensors(), w.Size(), wantInfos)
	}
}

// Every dtype survives a Writer → ReadHeader round trip, as do shapes with a zero
// dimension, scalars and metadata.
func TestWriterRoundTrip(t *testing.T) {
	dtypes := []DType{F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8E4M3, F8E5M2, F8E8M0, C64}
	var specs []TensorSpec
	var data []byte
	for i, dt := range dtypes {
		shape := []int64{2, int64(i + 1)}
		specs = append(specs, TensorSpec{"t." + string(dt), dt, shape})
		for range 2 * (i + 1) * dt.Size() {
			data = append(data, byte(len(data)))
		}
	}
	specs = append(specs, TensorSpec{"empty", F32, []int64{3, 0}}, TensorSpec{"scalar", I8, []int64{}})
	data = append(data, 42)
	meta := map[string]string{"format": "pt", "quote\"and\\": "ünïcode <&>"}

	var buf bytes.Buffer
	w, err := NewWriter(&buf, specs, meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h.Metadata, meta) || h.DataStart%8 != 0 {
		t.Errorf("Metadata %v, DataStart %d", h.Metadata, h.DataStart)
	}
	for _, want := range w.Tensors() {
		got, ok := h.Tensor(want.Name)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("tensor %q = %+v, want %+v", want.Name, got, want)
		}
		if rel := buf.Bytes()[got.Start:got.End]; !bytes.Equal(rel, data[got.Start-h.DataStart:got.End-h.DataStart]) {
			t.Errorf("tensor %q data differs", want.Name)
		}
	}
}

func TestWriterCountsBytes(t *testing.T) {
	specs := []TensorSpec{{"a", F32, []int64{2}}, {"b", F16, []int64{4}}}
	w, err := NewWriter(&bytes.Buffer{}, specs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 17)); err == nil {
		t.Error("Write past the promised 16 bytes succeeded")
	}
	if _, err := w.Write(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	err = w.Close()
	if err == nil || !strings.Contains(err.Error(), `tensor "b" is short: 2 of its 8 bytes written (6 bytes missing in all)`) {
		t.Errorf("Close = %v, want it to name tensor b", err)
	}
}

func TestWriterRejectsSpecs(t *testing.T) {
	tests := []struct {
		name  string
		specs []TensorSpec
		meta  map[string]string
	}{
		{"duplicate", []TensorSpec{{"a", U8, []int64{1}}, {"a", U8, []int64{1}}}, nil},
		{"empty name", []TensorSpec{{"", U8, []int64{1}}}, nil},
		{"metadata name", []TensorSpec{{"__metadata__", U8, []int64{1}}}, nil},
		{"bad dtype", []TensorSpec{{"a", "F12", []int64{1}}}, nil},
		{"negative dim", []TensorSpec{{"a", U8, []int64{-1}}}, nil},
		{"overflow", []TensorSpec{{"a", F64, []int64{1 << 61}}}, nil},
		{"total overflow", []TensorSpec{{"a", U8, []int64{1 << 62}}, {"b", U8, []int64{1 << 62}}}, nil},
		{"bad utf-8", []TensorSpec{{"a\xff", U8, []int64{1}}}, nil},
		{"bad metadata", nil, map[string]string{"k": "\xff"}},
	}
	for _, tt := range tests {
		if _, err := NewWriter(&bytes.Buffer{}, tt.specs, tt.meta); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: NewWriter = %v, want ErrInvalid", tt.name, err)
		}
	}
}
