package safetensors

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// singleName is the file name of an unsharded model.
const singleName = "model.safetensors"

// ModelTensor is a tensor of a model together with the shard that holds it.
type ModelTensor struct {
	File string // shard file name, relative to the model directory
	TensorInfo
}

// Model is a model directory: one model.safetensors, or an index and its shards,
// or, lacking both, every *.safetensors file in the directory taken as a shard.
// Every shard stays open until Close.
type Model struct {
	Dir   string
	Files []string // shard file names relative to Dir, sorted
	Index *Index   // nil when the directory has no index

	files   map[string]*File
	tensors []ModelTensor // sorted by name
	byName  map[string]int
}

// OpenModel opens the model in dir and validates the header of every shard. A
// tensor held by two shards, or an index that names a missing shard or maps a
// tensor to a shard that does not hold it, is an error.
func OpenModel(dir string) (*Model, error) {
	m := &Model{Dir: dir, files: make(map[string]*File)}
	err := m.open()
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("safetensors: model %s: %w", dir, err)
	}
	return m, nil
}

// open finds the shards, opens them and builds the tensor list.
func (m *Model) open() error {
	var err error
	if m.Files, m.Index, err = findShards(m.Dir); err != nil {
		return err
	}
	for _, name := range m.Files {
		f, err := openFile(filepath.Join(m.Dir, name))
		if errors.Is(err, fs.ErrNotExist) && m.Index != nil {
			return fmt.Errorf("%s names shard %q: %w", IndexName, name, err)
		}
		if err != nil {
			return err
		}
		m.files[name] = f
	}
	owner, err := m.collect()
	if err == nil && m.Index != nil {
		err = m.checkIndex(owner)
	}
	return err
}

// findShards decides which files make up the model in dir.
func findShards(dir string) ([]string, *Index, error) {
	idx, err := readIndex(filepath.Join(dir, IndexName))
	if err == nil {
		return idx.Shards(), idx, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, singleName)); err == nil {
		return []string{singleName}, nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".safetensors") {
			files = append(files, e.Name())
		}
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("no %s, %s or *.safetensors file: %w", IndexName, singleName, fs.ErrNotExist)
	}
	return files, nil, nil
}

// collect gathers every shard's tensors, rejecting a name held by two shards, and
// returns which shard holds each tensor.
func (m *Model) collect() (map[string]string, error) {
	owner := make(map[string]string)
	for _, name := range m.Files {
		for _, t := range m.files[name].Tensors {
			if prev, dup := owner[t.Name]; dup {
				return nil, invalidf("tensor %q is in both %s and %s", short(t.Name), prev, name)
			}
			owner[t.Name] = name
			m.tensors = append(m.tensors, ModelTensor{File: name, TensorInfo: t})
		}
	}
	slices.SortFunc(m.tensors, func(a, b ModelTensor) int { return cmp.Compare(a.Name, b.Name) })
	m.byName = make(map[string]int, len(m.tensors))
	for i, t := range m.tensors {
		m.byName[t.Name] = i
	}
	return owner, nil
}

// checkIndex requires every tensor the index lists to be in the shard it names.
// Tensors a shard holds but the index omits are kept: the shards are the truth
// about what exists, the index only a map for finding it.
func (m *Model) checkIndex(owner map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(m.Index.WeightMap)) {
		want, got := m.Index.WeightMap[name], owner[name]
		switch {
		case got == "":
			return invalidf("%s maps tensor %q to %s, which does not hold it", IndexName, short(name), want)
		case got != want:
			return invalidf("%s maps tensor %q to %s, but it is in %s", IndexName, short(name), want, got)
		}
	}
	return nil
}

// Tensors returns every tensor across the shards, sorted by name.
func (m *Model) Tensors() []ModelTensor { return slices.Clone(m.tensors) }

// Tensor returns the named tensor and the shard that holds it.
func (m *Model) Tensor(name string) (ModelTensor, bool) {
	i, ok := m.byName[name]
	if !ok {
		return ModelTensor{}, false
	}
	return m.tensors[i], true
}

// File returns the open shard with the given name, as listed in Files.
func (m *Model) File(shard string) (*File, bool) {
	f, ok := m.files[shard]
	return f, ok
}

// ReadTensor reads the named tensor's raw bytes as File.ReadTensor does.
func (m *Model) ReadTensor(name string, dst []byte) ([]byte, error) {
	t, ok := m.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("safetensors: model %s: %w", m.Dir, notFound(name))
	}
	return m.files[t.File].ReadTensor(name, dst)
}

// Close closes every shard. Reads after Close fail; they do not panic.
func (m *Model) Close() error {
	var errs []error
	for _, f := range m.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
