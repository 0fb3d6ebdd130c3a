package merge

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/potluck-hub/potluck/safetensors"
)

// ErrInexact reports a delta element from which Apply would not give back
// the fine-tune's value (DiffOptions.Exact).
var ErrInexact = errors.New("merge: delta not exact")

// wideBufs are Diff's buffers for F64 deltas and exactness checks.
type wideBufs struct {
	b, d, x []float64
	tmp     []float32
	in, out []byte
}

func (e *differ) wideBufs() *wideBufs {
	if e.wide == nil {
		e.wide = &wideBufs{b: make([]float64, ChunkElems), d: make([]float64, ChunkElems), x: make([]float64, ChunkElems),
			tmp: make([]float32, ChunkElems), in: make([]byte, 8*ChunkElems), out: make([]byte, 8*ChunkElems)}
	}
	return e.wide
}

// diffChunk64 is diffChunk for an F64 delta: finetuned − base in float64,
// exact when their exponents are at most 29 apart (F32 weights).
func (e *differ) diffChunk64(base, ft *Model, p pair, off int64, k int) ([]byte, error) {
	w := e.wideBufs()
	if err := readFloat64s(base, p.base, off, w.b[:k], w.in, w.tmp); err != nil {
		return nil, err
	}
	if err := readFloat64s(ft, p.ft, off, w.x[:k], w.in, w.tmp); err != nil {
		return nil, err
	}
	raw := e.raw[:8*k]
	for i := range k {
		d := w.x[i] - w.b[i]
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return nil, fmt.Errorf("%w: %s: tensor %q: element %d of the delta is %v", ErrIncompatible, ft.Name, p.ft.Name, off+int64(i), d)
		}
		w.d[i] = d
	}
	for i, d := range w.d[:k] {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(d))
	}
	return raw, nil
}

// checkExact checks that Apply, given the base's chunk and the delta's
// encoded chunk raw, gives back the fine-tune's values (±0 alike).
func (e *differ) checkExact(base, ft *Model, p pair, off int64, raw []byte, deltaDT safetensors.DType) error {
	w := e.wideBufs()
	k := len(raw) / deltaDT.Size()
	if err := decodeFloat64s(w.d[:k], raw, deltaDT, w.tmp); err != nil {
		return err
	}
	if err := readFloat64s(base, p.base, off, w.b[:k], w.in, w.tmp); err != nil {
		return err
	}
	sz := p.ft.DType.Size()
	out := w.out[:k*sz]
	applyChunk(out, w.b[:k], w.d[:k], p.ft.DType, w.tmp)
	want, err := rawAt(ft, p.ft, off, k, w.in)
	if err != nil {
		return err
	}
	if bytes.Equal(out, want) {
		return nil
	}
	if err := decodeFloat64s(w.x[:k], want, p.ft.DType, w.tmp); err != nil {
		return err
	}
	got := make([]float64, k)
	if err := decodeFloat64s(got, out, p.ft.DType, w.tmp); err != nil {
		return err
	}
	for i := range k {
		if got[i] == w.x[i] { // bit patterns differ only for ±0
			continue
		}
		return fmt.Errorf("%w: %s: tensor %q: element %d: the fine-tune has %v, the base %v (%d binades apart); base + their difference in %s gives %v: a wider delta dtype (F64) may hold it exactly",
			ErrInexact, ft.Name, p.ft.Name, off+int64(i), w.x[i], w.b[i], ExponentGap(w.x[i], w.b[i], p.ft.DType), deltaDT, got[i])
	}
	return nil
}

// ExponentGap is how many binades apart a and b lie as values of dt: the
// difference of their ulp exponents (subnormals share the smallest normal
// binade's), 0 when either is zero. A delta in F32 of BF16 values 16 or
// fewer binades apart is exact, as is one in F64 of F32 values 29 or fewer
// apart (exact_test.go checks it).
func ExponentGap(a, b float64, dt safetensors.DType) int {
	if a == 0 || b == 0 {
		return 0
	}
	minExp := -126 // BF16, F32
	switch dt {
	case safetensors.F16:
		minExp = -14
	case safetensors.F64:
		minExp = -1022
	}
	e := func(x float64) int {
		_, exp := math.Frexp(x) // |x| in [2^(exp-1), 2^exp)
		return max(exp-1, minExp)
	}
	g := e(a) - e(b)
	if g < 0 {
		g = -g
	}
	return g
}
