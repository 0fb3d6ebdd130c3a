package merge

import (
	"errors"
	"fmt"
	"sync"

	"github.com/potluck-hub/potluck/safetensors"
)

// A view is a model put together from other models' tensors, which the
// engine reads as it reads any full model: a slice's layers renumbered, a
// tied lm_head read from the embeddings, an embedding's rows cut to a
// common vocabulary or mapped to another, a model with a LoRA applied. It
// holds no tensor data of its own but the few rows it computes (a token's
// averaged embedding), so memory stays bounded by the largest tensor.

// newView returns a model of the given tensors, in order, named name.
func newView(name string, ts []Tensor) *Model {
	m := &Model{Name: name, src: noFiles(name), byName: map[string]Tensor{}}
	sh := Shard{Path: "view"}
	for _, t := range ts {
		m.byName[t.Name] = t
		sh.Tensors = append(sh.Tensors, t)
	}
	m.Shards = []Shard{sh}
	return m
}

// noFiles is a view's source: it has tensors, and no other file.
type noFiles string

func (noFiles) Files() ([]string, error) { return nil, nil }

func (n noFiles) Open(p string) (ReaderAtCloser, int64, error) {
	return nil, 0, fmt.Errorf("merge: %s is a view of tensors: it has no file %s", string(n), p)
}

// renamed is t under another name.
func renamed(t Tensor, name string) Tensor {
	t.Name = name
	return t
}

// firstRows is t cut to its first n rows (a prefix of its bytes).
func firstRows(t Tensor, n int64) Tensor {
	t.Shape = append([]int64{n}, t.Shape[1:]...)
	t.End = t.Start + t.NumElements()*int64(t.DType.Size())
	return t
}

// appliedTensor is θ + s·B·A for a model's tensor t and an adapter's
// factors lt, encoded in t's dtype row by row as it is read (a model+lora
// reference: the adapter merged into the model, as mergekit merges it).
// The factors are loaded on the first read.
func appliedTensor(t Tensor, adapter *Model, lt loraTensor) Tensor {
	cols := lt.a.Shape[1]
	if lt.transposed {
		cols = lt.b.Shape[0]
	}
	ar := &appliedReader{t: t, adapter: adapter, lt: lt, cols: cols, rowBytes: cols * int64(t.DType.Size())}
	out := t
	out.Start, out.End, out.r = 0, t.Size(), ar
	return out
}

type appliedReader struct {
	t        Tensor
	adapter  *Model
	lt       loraTensor
	cols     int64
	rowBytes int64
	mu       sync.Mutex // lr keeps the row it last expanded
	lr       *loraReader
}

func (ar *appliedReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > ar.t.Size() {
		return 0, errors.New("merge: read past the end of a tensor")
	}
	first, last := off/ar.rowBytes, (off+int64(len(p))-1)/ar.rowBytes
	raw := make([]byte, (last-first+1)*ar.rowBytes)
	if _, err := ar.t.r.ReadAt(raw, ar.t.Start+first*ar.rowBytes); err != nil {
		return 0, err
	}
	n := int64(len(raw)) / int64(ar.t.DType.Size())
	vals, delta := make([]float32, n), make([]float32, n)
	if err := safetensors.DecodeFloat32(vals, raw, ar.t.DType); err != nil {
		return 0, err
	}
	if err := ar.delta(first*ar.cols, delta); err != nil {
		return 0, err
	}
	addInto(vals, delta)
	if err := safetensors.EncodeFloat32(raw, vals, ar.t.DType); err != nil {
		return 0, err
	}
	return copy(p, raw[off-first*ar.rowBytes:]), nil
}

// delta reads s·B·A from element off, loading the factors the first time.
func (ar *appliedReader) delta(off int64, dst []float32) error {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	if ar.lr == nil {
		lr, err := newLoRAReader(ar.adapter, ar.lt, ar.t)
		if err != nil {
			return err
		}
		ar.lr = lr
	}
	return ar.lr.read(off, dst)
}
