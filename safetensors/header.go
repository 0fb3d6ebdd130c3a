package safetensors

import (
	"encoding/binary"
	"fmt"
	"io"
)

// MaxHeaderSize is the largest header length accepted, the limit of the reference
// implementation; it bounds the memory a hostile file can make a reader allocate.
const MaxHeaderSize = 100_000_000

// TensorInfo locates one tensor in a file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int64
	// Start and End are absolute byte offsets within the file (the data section's
	// start already added), so a tensor can be read with one ReadAt or range request.
	Start, End int64
}

// NumElements returns the product of the shape: 1 for a scalar, 0 if any dimension
// is 0. It does not check for overflow; ReadHeader has already done so.
func (t TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Size returns the tensor's length in bytes.
func (t TensorInfo) Size() int64 { return t.End - t.Start }

// Header is the parsed and validated header of a safetensors file.
type Header struct {
	Metadata  map[string]string // nil when the file has no "__metadata__"
	Tensors   []TensorInfo      // sorted by Start offset (file order)
	DataStart int64             // 8 + header length
	FileSize  int64

	byName map[string]int // index into Tensors, built by ReadHeader
}

// Tensor returns the named tensor. For a Header returned by ReadHeader it uses an
// index built at parse time, so Tensors should be treated as read-only; for one
// built by hand it searches Tensors.
func (h *Header) Tensor(name string) (TensorInfo, bool) {
	if h.byName == nil {
		for _, t := range h.Tensors {
			if t.Name == name {
				return t, true
			}
		}
		return TensorInfo{}, false
	}
	i, ok := h.byName[name]
	if !ok || i >= len(h.Tensors) || h.Tensors[i].Name != name {
		return TensorInfo{}, false
	}
	return h.Tensors[i], true
}

// ReadHeader parses and validates the header of a safetensors file of the given
// size through r, which may be a file or a range reader over a content store. It
// reads only the header bytes; the data section is checked against size, not read.
func ReadHeader(r io.ReaderAt, size int64) (*Header, error) {
	h, err := readHeader(r, size)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return h, nil
}

// readHeader is ReadHeader without the package prefix on its errors.
func readHeader(r io.ReaderAt, size int64) (*Header, error) {
	n, err := headerLen(r, size)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	if err := readFull(r, buf, 8, "header"); err != nil {
		return nil, err
	}
	meta, raw, err := parseHeaderJSON(buf)
	if err != nil {
		return nil, err
	}
	tensors, err := layoutTensors(raw, 8+n, size-8-n)
	if err != nil {
		return nil, err
	}
	h := &Header{Metadata: meta, Tensors: tensors, DataStart: 8 + n, FileSize: size}
	h.byName = make(map[string]int, len(tensors))
	for i, t := range tensors {
		h.byName[t.Name] = i
	}
	return h, nil
}

// headerLen reads the 8-byte header length and checks it against the file size
// and MaxHeaderSize before anything is allocated for it.
func headerLen(r io.ReaderAt, size int64) (int64, error) {
	if size < 8 {
		return 0, invalidf("file is %d bytes, too short for the 8-byte header length", size)
	}
	var b [8]byte
	if err := readFull(r, b[:], 0, "header length"); err != nil {
		return 0, err
	}
	n := binary.LittleEndian.Uint64(b[:])
	switch {
	case n == 0:
		return 0, invalidf("header length is 0")
	case n > MaxHeaderSize:
		return 0, invalidf("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	case n > uint64(size-8):
		return 0, invalidf("header length %d needs a file of at least %d bytes, file is %d bytes (truncated?)",
			n, n+8, size)
	}
	return int64(n), nil
}

// readFull reads len(buf) bytes at off. A short read means the reader holds less
// than the size it was said to have: a truncated file, reported as ErrInvalid.
func readFull(r io.ReaderAt, buf []byte, off int64, what string) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
		return invalidf("%s: expected %d bytes at offset %d, found %d (truncated file?)",
			what, len(buf), off, n)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}
