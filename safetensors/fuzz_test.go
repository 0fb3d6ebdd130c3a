package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"testing"
)

// FuzzReadHeader feeds arbitrary files to ReadHeader. It must never panic; every
// rejection must wrap ErrInvalid; and an accepted header must describe tensors that
// tile the data section exactly and that the Writer can reproduce.
func FuzzReadHeader(f *testing.F) {
	f.Add(assemble(handHeader, handData))
	f.Add(assemble(`{}`, nil))
	f.Add(assemble(`{"__metadata__":{"k":"v"},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}`, nil))
	f.Add(assemble(`{"a":{"dtype":"F16","shape":[],"data_offsets":[0,2]},"b":{"dtype":"I64","shape":[1],"data_offsets":[2,10]}}`, make([]byte, 10)))
	f.Add(assemble(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}`, make([]byte, 20)))
	f.Add(assemble(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, make([]byte, 6)))
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, '{', '}'})
	f.Fuzz(func(t *testing.T, file []byte) {
		h, err := ReadHeader(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		checkAccepted(t, file, h)
	})
}

// checkAccepted verifies the invariants of an accepted header.
func checkAccepted(t *testing.T, file []byte, h *Header) {
	n := int64(binary.LittleEndian.Uint64(file))
	if h.DataStart != 8+n || h.FileSize != int64(len(file)) || h.DataStart > h.FileSize {
		t.Fatalf("DataStart %d, FileSize %d for header length %d, file of %d bytes",
			h.DataStart, h.FileSize, n, len(file))
	}
	pos := h.DataStart
	for _, ti := range h.Tensors {
		if ti.Start != pos || ti.End < ti.Start || ti.End > h.FileSize {
			t.Fatalf("tensor %q at [%d, %d) does not follow on from %d within %d bytes",
				ti.Name, ti.Start, ti.End, pos, h.FileSize)
		}
		size := big.NewInt(int64(ti.DType.Size()))
		for _, d := range ti.Shape {
			size.Mul(size, big.NewInt(d))
		}
		if size.Cmp(big.NewInt(ti.Size())) != 0 {
			t.Fatalf("tensor %q: shape %v × %s is %v bytes, range is %d", ti.Name, ti.Shape, ti.DType, size, ti.Size())
		}
		if got, ok := h.Tensor(ti.Name); !ok || got.Start != ti.Start {
			t.Fatalf("Tensor(%q) = %+v, %v", ti.Name, got, ok)
		}
		pos = ti.End
	}
	if pos != h.FileSize {
		t.Fatalf("tensors end at %d, file at %d", pos, h.FileSize)
	}
	checkRewrite(t, h)
}

// checkRewrite requires the Writer to accept what the reader accepted and to lay
// the tensors out at the same offsets within the data section.
func checkRewrite(t *testing.T, h *Header) {
	specs := make([]TensorSpec, len(h.Tensors))
	for i, ti := range h.Tensors {
		specs[i] = TensorSpec{ti.Name, ti.DType, ti.Shape}
	}
	w, err := NewWriter(io.Discard, specs, h.Metadata)
	if err != nil {
		t.Fatalf("Writer rejects an accepted header: %v", err)
	}
	rewritten := w.Tensors()
	for i, ti := range rewritten {
		if ti.Start-rewritten[0].Start != h.Tensors[i].Start-h.DataStart {
			t.Fatalf("tensor %q rewritten at a different offset", ti.Name)
		}
	}
}
