package safetensors

import (
	"fmt"
	"io"
	"math"
	"os"
)

// File is a safetensors file whose header has been read and validated. Tensor data
// is read on demand, one byte range at a time; File is safe for concurrent reads.
type File struct {
	Header

	path string
	r    io.ReaderAt
	c    io.Closer // nil when the caller owns r
}

// Open opens the file at path and validates its header. Errors name the path.
func Open(path string) (*File, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return f, nil
}

// openFile is Open without the package prefix on its errors, for callers that add
// context of their own.
func openFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // an *fs.PathError, which names the path
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = invalidf("is a directory")
	}
	var h *Header
	if err == nil {
		h, err = readHeader(f, fi.Size())
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{Header: *h, path: path, r: f, c: f}, nil
}

// NewFile validates the header of a safetensors file of the given size held by r,
// such as a range reader over a content store. Close does not close r.
func NewFile(r io.ReaderAt, size int64) (*File, error) {
	h, err := ReadHeader(r, size)
	if err != nil {
		return nil, err
	}
	return &File{Header: *h, r: r}, nil
}

// Close releases the file. Sections already handed out stop working.
func (f *File) Close() error {
	if f.c == nil {
		return nil
	}
	err := f.c.Close()
	f.c = nil
	return err
}

// Section returns a reader over the named tensor's raw little-endian bytes; nothing
// is read until the caller reads from it.
func (f *File) Section(name string) (*io.SectionReader, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, f.errorf(notFound(name))
	}
	return io.NewSectionReader(f.r, t.Start, t.Size()), nil
}

// ReadTensor reads the named tensor's raw bytes into dst, growing it if it is too
// small, and returns dst[:size]. Passing the previous result back in reuses its
// memory across tensors.
func (f *File) ReadTensor(name string, dst []byte) ([]byte, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, f.errorf(notFound(name))
	}
	if t.Size() > math.MaxInt {
		return nil, f.errorf(fmt.Errorf("tensor %q: %d bytes do not fit in memory", name, t.Size()))
	}
	dst = grow(dst, int(t.Size()))
	if n, err := f.r.ReadAt(dst, t.Start); n < len(dst) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF // the file shrank after its header was read
		}
		return nil, f.errorf(fmt.Errorf("tensor %q: %w", name, err))
	}
	return dst, nil
}

// errorf prefixes err with the package and, when known, the path.
func (f *File) errorf(err error) error {
	if f.path == "" {
		return fmt.Errorf("safetensors: %w", err)
	}
	return fmt.Errorf("safetensors: %s: %w", f.path, err)
}

// grow returns dst resized to n bytes, reallocating only when its capacity is short.
func grow(dst []byte, n int) []byte {
	if cap(dst) < n {
		return make([]byte, n)
	}
	return dst[:n]
}
