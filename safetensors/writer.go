package safetensors

import (
	"fmt"
	"io"
	"slices"
)

// Writer streams a safetensors file whose tensor list is known up front: the
// header is written at once by NewWriter, then the data of each tensor in the
// order given, in as many Write calls as the caller likes. Knowing every offset
// before the data lets a model be written without buffering any tensor.
type Writer struct {
	w         io.Writer
	tensors   []TensorInfo
	dataStart int64
	size      int64 // total file size
	written   int64 // data bytes written so far
	err       error // first error from w; every later call returns it
}

// NewWriter writes the header for tensors and metadata to w and returns a Writer
// that expects the tensors' data next.
func NewWriter(w io.Writer, tensors []TensorSpec, metadata map[string]string) (*Writer, error) {
	prefix, infos, err := encodeHeader(tensors, metadata)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if _, err := w.Write(prefix); err != nil {
		return nil, fmt.Errorf("safetensors: writing header: %w", err)
	}
	size := int64(len(prefix))
	if len(infos) > 0 {
		size = infos[len(infos)-1].End
	}
	return &Writer{w: w, tensors: infos, dataStart: int64(len(prefix)), size: size}, nil
}

// Tensors returns each tensor with the absolute offsets it will have in the file.
func (w *Writer) Tensors() []TensorInfo { return slices.Clone(w.tensors) }

// Size returns the size the file will have once every tensor is written.
func (w *Writer) Size() int64 { return w.size }

// Write writes tensor data, continuing where the previous call stopped. A call
// that would write past the last tensor writes nothing and returns an error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if left := w.size - w.dataStart - w.written; int64(len(p)) > left {
		return 0, fmt.Errorf("safetensors: write of %d bytes overruns the data section: %d of %d bytes left",
			len(p), left, w.size-w.dataStart)
	}
	n, err := w.w.Write(p)
	w.written += int64(n)
	if err != nil {
		w.err = fmt.Errorf("safetensors: writing tensor data: %w", err)
		return n, w.err
	}
	return n, nil
}

// Close checks that every byte the header promised was written. It does not close
// the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	pos := w.dataStart + w.written
	if pos == w.size {
		return nil
	}
	for _, t := range w.tensors {
		if t.End > pos {
			return fmt.Errorf("safetensors: tensor %q is short: %d of its %d bytes written (%d bytes missing in all)",
				t.Name, max(pos-t.Start, 0), t.Size(), w.size-pos)
		}
	}
	return nil // unreachable: pos < size means some tensor ends after pos
}
