package merge

import (
	"fmt"
	"io"
	"slices"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
)

// inputKind is what a recipe model is.
type inputKind int

const (
	inDelta   inputKind = iota // a delta release: dense and sparse tensors
	inAdapter                  // a PEFT LoRA adapter
	inFull                     // a full fine-tuned model: δ = θᵢ − θ₀, on the fly
	inBase                     // the base itself, listed among the models: δ = 0
)

// input is one recipe model, opened and checked against the base.
type input struct {
	index   int // in Recipe.Models
	kind    inputKind
	model   *Model
	samples float64 // the manifest's sample count; 0 when it records none
	sparse  map[string]sparseTensor
	adapter *adapter
}

// openInput classifies a model and checks that it fits the base: an
// adapter by its adapter_config.json, a delta by its manifest (which must
// name this base), anything else as a full model of the base's shapes.
func openInput(base *Model, baseCID string, m *Model, index int) (*input, error) {
	in := &input{index: index, model: m, kind: inFull}
	man, err := modelManifest(m)
	if err != nil {
		return nil, err
	}
	if man != nil && man.Kind == potluck.KindDelta {
		if man.Base != baseCID {
			return nil, fmt.Errorf("%w: delta %s was made for base %s, the recipe's base is %s", ErrIncompatible, m.Name, man.Base, baseCID)
		}
		in.kind, in.samples = inDelta, float64(man.Samples)
	}
	switch {
	case slices.Contains(m.Other, AdapterConfig):
		in.kind = inAdapter
		in.adapter, err = openAdapter(base, m)
	case in.kind == inDelta:
		if err = CheckDelta(base, m); err == nil {
			in.sparse, _, err = sparseTensors(m)
		}
	default:
		err = checkFull(base, m)
	}
	if err != nil {
		return nil, err
	}
	return in, nil
}

// modelManifest reads a model's potluck.json, or returns nil when it has none.
func modelManifest(m *Model) (*potluck.Manifest, error) {
	if !slices.Contains(m.Other, potluck.ManifestFile) {
		return nil, nil
	}
	f, err := m.OpenFile(potluck.ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("merge: %s: %w", m.Name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("merge: %s: %w", m.Name, err)
	}
	man, err := potluck.ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("merge: %s: %w", m.Name, err)
	}
	return man, nil
}

// checkFull checks a full model against the base: every tensor in the base
// with the same shape; float tensors merge, the others are the base's.
func checkFull(base, m *Model) error {
	for _, name := range m.Names() {
		t, _ := m.Tensor(name)
		bt, ok := base.Tensor(name)
		if !ok {
			return fmt.Errorf("%w: model %s: tensor %q is not in the base %s", ErrIncompatible, m.Name, name, base.Name)
		}
		if !sameShape(t.Shape, bt.Shape) {
			return fmt.Errorf("%w: model %s: tensor %q: shape %v, base has %v", ErrIncompatible, m.Name, name, t.Shape, bt.Shape)
		}
		if bt.DType.IsFloat() != t.DType.IsFloat() {
			return fmt.Errorf("%w: model %s: tensor %q: dtype %s, base has %s", ErrIncompatible, m.Name, name, t.DType, bt.DType)
		}
	}
	return nil
}

// has reports whether the input changes the named base tensor.
func (in *input) has(name string) bool {
	switch in.kind {
	case inBase:
		return false
	case inAdapter:
		_, lora := in.adapter.lora[name]
		_, full := in.adapter.full[name]
		return lora || full
	case inDelta:
		if _, ok := in.sparse[name]; ok {
			return true
		}
	}
	t, ok := in.model.Tensor(name)
	return ok && t.DType.IsFloat()
}

// chunkReader yields one input's delta of one tensor a chunk at a time. A
// pass reads chunks in order from element 0; a read at 0 starts a new pass.
type chunkReader interface {
	read(off int64, dst []float32) error
}

// scratch is a worker's buffers for its readers, used by one read at a time.
type scratch struct {
	raw []byte    // 8 bytes per chunk element
	f   []float32 // one chunk
}

// reader returns the input's reader for base tensor bt, or nil when the
// input leaves it unchanged (a zero delta).
func (in *input) reader(base *Model, bt Tensor, sc *scratch) (chunkReader, error) {
	if !in.has(bt.Name) {
		return nil, nil
	}
	m := in.model
	switch in.kind {
	case inAdapter:
		if lt, ok := in.adapter.lora[bt.Name]; ok {
			return newLoRAReader(m, lt, bt)
		}
		return fullReader{m: m, base: base, ft: in.adapter.full[bt.Name], bt: bt, sc: sc}, nil
	case inDelta:
		if st, ok := in.sparse[bt.Name]; ok {
			return newSparseReader(m, st, bt.NumElements()), nil
		}
		t, _ := m.Tensor(bt.Name)
		return denseReader{m: m, t: t, sc: sc}, nil
	}
	t, _ := m.Tensor(bt.Name)
	return fullReader{m: m, base: base, ft: t, bt: bt, sc: sc}, nil
}

type denseReader struct {
	m  *Model
	t  Tensor
	sc *scratch
}

func (r denseReader) read(off int64, dst []float32) error {
	return readFloats(r.m, r.t, off, dst, r.sc.raw)
}

// fullReader computes θᵢ − θ₀ in float32, one rounding per element.
type fullReader struct {
	m, base *Model
	ft, bt  Tensor
	sc      *scratch
}

func (r fullReader) read(off int64, dst []float32) error {
	b := r.sc.f[:len(dst)]
	if err := readFloats(r.m, r.ft, off, dst, r.sc.raw); err != nil {
		return err
	}
	if err := readFloats(r.base, r.bt, off, b, r.sc.raw); err != nil {
		return err
	}
	axpy(dst, -1, b) // θᵢ − 1·θ₀: exact negation, one rounding
	return nil
}

// readFloats reads len(dst) elements of t from element off and widens them.
func readFloats(m *Model, t Tensor, off int64, dst []float32, raw []byte) error {
	b, err := rawAt(m, t, off, len(dst), raw)
	if err != nil {
		return err
	}
	return safetensors.DecodeFloat32(dst, b, t.DType)
}

// SliceReaderAt is a reader whose bytes are already in memory (an in-memory
// model, a mapped file): the engine reads tensors through SliceAt without
// copying them. The slice is only read, and only until the next call.
type SliceReaderAt interface {
	io.ReaderAt
	SliceAt(off, n int64) ([]byte, error)
}

// rawAt returns k encoded elements of t from element off: a slice of the
// model's memory when its reader is a SliceReaderAt, else read into buf.
func rawAt(m *Model, t Tensor, off int64, k int, buf []byte) ([]byte, error) {
	size := int64(t.DType.Size())
	at, n := t.Start+off*size, int64(k)*size
	if s, ok := t.r.(SliceReaderAt); ok {
		b, err := s.SliceAt(at, n)
		if err == nil && int64(len(b)) != n {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, fmt.Errorf("merge: model %s: tensor %q: %w", m.Name, t.Name, err)
		}
		return b, nil
	}
	buf = buf[:n]
	if _, err := t.r.ReadAt(buf, at); err != nil {
		return nil, fmt.Errorf("merge: model %s: tensor %q: %w", m.Name, t.Name, err)
	}
	return buf, nil
}

// checkBaseModel refuses a base_model that is no model: a delta release
// or a LoRA adapter, whose tensors are differences, not weights, and
// which has no config to copy.
func checkBaseModel(base *Model) error {
	if base == nil {
		return nil
	}
	if slices.Contains(base.Other, AdapterConfig) {
		return fmt.Errorf("%w: base_model %s is a LoRA adapter (it has %s), not a model: give the model it was trained on as base_model and list the adapter under models", ErrRecipe, base.Name, AdapterConfig)
	}
	man, err := modelManifest(base)
	if err != nil {
		return err
	}
	if man != nil && man.Kind == potluck.KindDelta {
		return fmt.Errorf("%w: base_model %s is a delta (its %s says kind: delta), not a model: give the model it was made from as base_model and list the delta under models", ErrRecipe, base.Name, potluck.ManifestFile)
	}
	return nil
}
