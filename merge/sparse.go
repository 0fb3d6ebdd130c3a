package merge

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/potluck-hub/potluck/safetensors"
)

// A sparse delta tensor T is two safetensors entries of the delta's shards:
// "T#indices", the flat (row-major) indices of its non-zero elements in
// strictly increasing order (I32 or I64, shape [k]), and "T#values", their
// values (a float dtype, shape [k]). Its shape is the base tensor's.
const (
	SparseIndices = "#indices"
	SparseValues  = "#values"
)

// sparseTensor is one sparse delta tensor's two entries.
type sparseTensor struct{ indices, values Tensor }

// sparseName splits an entry name into its tensor and part ("" when dense).
func sparseName(name string) (tensor, part string) {
	for _, p := range []string{SparseIndices, SparseValues} {
		if t, ok := strings.CutSuffix(name, p); ok {
			return t, p
		}
	}
	return name, ""
}

// sparseTensors pairs a delta's sparse entries, checking each pair's
// dtypes and lengths; dense is every other tensor name.
func sparseTensors(delta *Model) (sparse map[string]sparseTensor, dense []string, err error) {
	sparse = map[string]sparseTensor{}
	for _, name := range delta.Names() {
		t, part := sparseName(name)
		if part == "" {
			dense = append(dense, name)
			continue
		}
		if _, done := sparse[t]; done {
			continue
		}
		idx, okI := delta.Tensor(t + SparseIndices)
		val, okV := delta.Tensor(t + SparseValues)
		if !okI || !okV {
			return nil, nil, fmt.Errorf("%w: delta %s: sparse tensor %q needs both %q and %q", ErrIncompatible, delta.Name, t, t+SparseIndices, t+SparseValues)
		}
		if err := checkSparsePair(idx, val); err != nil {
			return nil, nil, fmt.Errorf("%w: delta %s: sparse tensor %q: %v", ErrIncompatible, delta.Name, t, err)
		}
		if _, both := delta.Tensor(t); both {
			return nil, nil, fmt.Errorf("%w: delta %s: tensor %q is both dense and sparse", ErrIncompatible, delta.Name, t)
		}
		sparse[t] = sparseTensor{indices: idx, values: val}
	}
	return sparse, dense, nil
}

func checkSparsePair(idx, val Tensor) error {
	switch {
	case idx.DType != safetensors.I32 && idx.DType != safetensors.I64:
		return fmt.Errorf("indices are %s, want I32 or I64", idx.DType)
	case !val.DType.IsFloat():
		return fmt.Errorf("values are %s, want a float dtype", val.DType)
	case len(idx.Shape) != 1 || len(val.Shape) != 1 || idx.Shape[0] != val.Shape[0]:
		return fmt.Errorf("indices %v and values %v must be 1-D and as long", idx.Shape, val.Shape)
	}
	return nil
}

// sparseBlock is how many entries a sparse reader holds at a time.
const sparseBlock = 1 << 16

// sparseReader expands a sparse tensor chunk by chunk, reading its entries a
// block at a time, in order, and checking them as it goes: indices strictly
// increasing and inside the tensor.
type sparseReader struct {
	m      *Model
	st     sparseTensor
	n      int64 // elements of the dense tensor
	k      int64 // entries
	next   int64 // the element the next read must start at
	pos    int64 // entries consumed
	prev   int64 // the last index seen
	idx    []int64
	val    []float32
	bi, bn int // position and length within the block
	raw    []byte
}

func newSparseReader(m *Model, st sparseTensor, n int64) *sparseReader {
	return &sparseReader{m: m, st: st, n: n, k: st.indices.Shape[0],
		idx: make([]int64, sparseBlock), val: make([]float32, sparseBlock), raw: make([]byte, sparseBlock*8)}
}

func (s *sparseReader) read(off int64, dst []float32) error {
	if off == 0 {
		s.next, s.pos, s.prev, s.bi, s.bn = 0, 0, -1, 0, 0
	}
	if off != s.next {
		panic(fmt.Sprintf("merge: sparse read at element %d, the pass is at %d", off, s.next))
	}
	clear(dst)
	end := off + int64(len(dst))
	for {
		if s.bi == s.bn {
			if s.pos == s.k {
				break
			}
			if err := s.load(); err != nil {
				return err
			}
		}
		i := s.idx[s.bi]
		if i >= end {
			break
		}
		dst[i-off] = s.val[s.bi]
		s.bi++
	}
	s.next = end
	return nil
}

// load reads the next block of entries and checks its indices.
func (s *sparseReader) load() error {
	k := int(min(sparseBlock, s.k-s.pos))
	name := strings.TrimSuffix(s.st.indices.Name, SparseIndices)
	isz := int64(s.st.indices.DType.Size())
	raw := s.raw[:int64(k)*isz]
	if _, err := s.st.indices.r.ReadAt(raw, s.st.indices.Start+s.pos*isz); err != nil {
		return fmt.Errorf("merge: delta %s: tensor %q: indices: %w", s.m.Name, name, err)
	}
	for j := range k {
		var v int64
		if isz == 4 {
			v = int64(int32(binary.LittleEndian.Uint32(raw[4*j:])))
		} else {
			v = int64(binary.LittleEndian.Uint64(raw[8*j:]))
		}
		if v <= s.prev || v >= s.n {
			return fmt.Errorf("%w: delta %s: sparse tensor %q: entry %d has index %d after %d (indices must increase, below %d)",
				ErrIncompatible, s.m.Name, name, s.pos+int64(j), v, s.prev, s.n)
		}
		s.idx[j], s.prev = v, v
	}
	if err := readFloats(s.m, s.st.values, s.pos, s.val[:k], s.raw); err != nil {
		return err
	}
	s.bi, s.bn = 0, k
	s.pos += int64(k)
	return nil
}
