package merge

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

// ErrIncompatible reports inputs that cannot be merged: a delta tensor the
// base lacks or shapes that differ.
var ErrIncompatible = errors.New("merge: incompatible inputs")

// ErrOverflow reports a merged value that is not finite in the output dtype
// (a sum beyond bf16/f16 range, or a NaN or Inf in the base itself).
var ErrOverflow = errors.New("merge: result not finite")

// ReaderAtCloser is a file opened for range reads.
type ReaderAtCloser interface {
	io.ReaderAt
	io.Closer
}

// Source lists and opens the files of a model: a directory on disk, or a
// release in the hub's store.
type Source interface {
	// Files lists every file by slash-separated path, sorted.
	Files() ([]string, error)
	// Open opens one file for range reads and returns its size.
	Open(path string) (ReaderAtCloser, int64, error)
}

// Tensor is one tensor of a model, readable by byte range.
type Tensor struct {
	safetensors.TensorInfo
	File string // shard path inside the model
	r    io.ReaderAt
}

// Section returns a reader over the tensor's bytes.
func (t Tensor) Section() *io.SectionReader {
	return io.NewSectionReader(t.r, t.Start, t.Size())
}

// Shard is one safetensors file of a model, its tensors in file order.
type Shard struct {
	Path    string
	Header  *safetensors.Header
	Tensors []Tensor
}

// Model is an opened model: its safetensors shards (headers read, data not)
// and its other files (config, tokenizer, index, manifest).
type Model struct {
	Name   string // for messages: a directory or a CID
	Shards []Shard
	Other  []string
	src    Source
	byName map[string]Tensor
	files  []ReaderAtCloser
	trim   *modelStats // its trim statistics (trim.go); nil: none
}

// OpenModel reads the headers of every *.safetensors file of src.
func OpenModel(name string, src Source) (*Model, error) {
	m := &Model{Name: name, src: src, byName: map[string]Tensor{}}
	files, err := src.Files()
	if err != nil {
		return nil, fmt.Errorf("merge: model %s: %w", name, err)
	}
	for _, p := range files {
		if !strings.HasSuffix(p, ".safetensors") {
			m.Other = append(m.Other, p)
			continue
		}
		if err := m.addShard(p); err != nil {
			m.Close()
			return nil, fmt.Errorf("merge: model %s: %w", name, err)
		}
	}
	if len(m.Shards) == 0 {
		m.Close()
		return nil, fmt.Errorf("merge: model %s has no .safetensors file", name)
	}
	m.openStats()
	return m, nil
}

func (m *Model) addShard(p string) error {
	f, size, err := m.src.Open(p)
	if err != nil {
		return err
	}
	m.files = append(m.files, f)
	h, err := safetensors.ReadHeader(f, size)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	sh := Shard{Path: p, Header: h}
	for _, ti := range h.Tensors {
		if prev, dup := m.byName[ti.Name]; dup {
			return fmt.Errorf("tensor %q is in both %s and %s", ti.Name, prev.File, p)
		}
		t := Tensor{TensorInfo: ti, File: p, r: f}
		m.byName[ti.Name] = t
		sh.Tensors = append(sh.Tensors, t)
	}
	m.Shards = append(m.Shards, sh)
	return nil
}

// Tensor returns the named tensor.
func (m *Model) Tensor(name string) (Tensor, bool) {
	t, ok := m.byName[name]
	return t, ok
}

// Names returns every tensor name, sorted.
func (m *Model) Names() []string {
	names := make([]string, 0, len(m.byName))
	for n := range m.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// OpenFile opens one of the model's files for reading from the start.
func (m *Model) OpenFile(p string) (io.ReadCloser, error) {
	f, size, err := m.src.Open(p)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, 0, size), f}, nil
}

// Close closes every opened shard.
func (m *Model) Close() error {
	var errs []error
	for _, f := range m.files {
		errs = append(errs, f.Close())
	}
	m.files = nil
	return errors.Join(errs...)
}

// DirSource is a model directory on disk. Hidden files are skipped, as
// `ipfs add -r` skips them, and so is the detached signature model.sig.
type DirSource string

// Files lists the directory's regular files.
func (d DirSource) Files() ([]string, error) {
	entries, err := store.WalkDir(string(d), func(string) (store.FileInfo, error) { return store.FileInfo{}, nil })
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.Dir && e.Path != "model.sig" {
			out = append(out, e.Path)
		}
	}
	return out, nil
}

// Open opens a file of the directory.
func (d DirSource) Open(p string) (ReaderAtCloser, int64, error) {
	f, err := os.Open(filepath.Join(string(d), filepath.FromSlash(p)))
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// OpenDir opens the model in a directory.
func OpenDir(dir string) (*Model, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("merge: model %s: %w", dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("merge: model %s is not a directory", dir)
	}
	return OpenModel(dir, DirSource(dir))
}
