package merge

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/potluck-hub/potluck/safetensors"
)

// Apply writes into dir (which must exist) the fine-tuned model delta was
// made from: its files, its shards with their headers as they were, its
// config and tokenizer (layout.go says where each comes from). Each float
// tensor the delta holds is base + delta, summed in float64 and rounded to
// the fine-tune's dtype (through float32, which leaves an exact sum as it
// is); every other tensor is the base's.
//
// Exactness: where the delta holds finetuned − base exactly, the sum is
// the fine-tune's value and Apply gives back its bits (a −0 aside, which
// comes back +0: no sum with a non-zero base gives −0). Diff with Exact
// checks this for every element; otherwise each element is within one
// rounding of the delta's dtype of the fine-tune's.
func Apply(ctx context.Context, base, delta *Model, dir string) error {
	l, err := readLayout(delta)
	if err != nil {
		return err
	}
	files := ModelFiles(base)
	shards := map[string]ShardLayout{}
	if l != nil {
		files = l.Files
		for _, s := range l.Shards {
			shards[s.Path] = s
		}
	}
	if err := checkApplicable(delta); err != nil {
		return err
	}
	a := newApplier(base, delta)
	for _, p := range files {
		if err := checkRelPath(p); err != nil {
			return fmt.Errorf("%w: delta %s: %s lists %v", ErrIncompatible, delta.Name, LayoutFile, err)
		}
		var err error
		if strings.HasSuffix(p, ".safetensors") {
			err = a.shard(ctx, p, shards, dir)
		} else {
			err = a.other(l != nil, p, dir)
		}
		if err != nil {
			return err
		}
	}
	for _, name := range delta.Names() {
		if !a.used[name] {
			return fmt.Errorf("%w: delta %s: tensor %q is in no shard of the fine-tune it rebuilds", ErrIncompatible, delta.Name, name)
		}
	}
	return nil
}

// checkApplicable refuses what Apply cannot rebuild: sparse tensors.
func checkApplicable(delta *Model) error {
	sparse, _, err := sparseTensors(delta)
	if err != nil {
		return err
	}
	for name := range sparse {
		return fmt.Errorf("%w: delta %s: tensor %q is sparse; apply rebuilds dense deltas (what publish makes)", ErrIncompatible, delta.Name, name)
	}
	return nil
}

// checkRelPath refuses a recorded path that would leave the output folder.
func checkRelPath(p string) error {
	if p == "" || !filepath.IsLocal(filepath.FromSlash(p)) || strings.Contains(p, "\\") {
		return fmt.Errorf("file %q, which is not a path inside the model", p)
	}
	return nil
}

// applier holds Apply's models and chunk buffers.
type applier struct {
	base, delta *Model
	used        map[string]bool // delta tensors written
	b, d        []float64
	f           []float32
	raw         []byte
}

func newApplier(base, delta *Model) *applier {
	return &applier{base: base, delta: delta, used: map[string]bool{},
		b: make([]float64, ChunkElems), d: make([]float64, ChunkElems),
		f: make([]float32, ChunkElems), raw: make([]byte, 8*ChunkElems)}
}

// other writes one of the fine-tune's other files: the delta's copy when it
// carries one, else the base's.
func (a *applier) other(layout bool, p, dir string) error {
	src, name := a.base, p
	if layout && slices.Contains(a.delta.Other, LayoutDir+"/"+p) {
		src, name = a.delta, LayoutDir+"/"+p
	} else if !slices.Contains(a.base.Other, p) {
		return fmt.Errorf("%w: the fine-tune of delta %s has %q, which neither the delta nor the base %s holds", ErrIncompatible, a.delta.Name, p, a.base.Name)
	}
	if err := copyModelFile(src, name, filepath.Join(dir, filepath.FromSlash(p))); err != nil {
		return fmt.Errorf("merge: apply: %s: %w", p, err)
	}
	return nil
}

// shard writes one shard of the fine-tune: its header as recorded, or as
// the base's shard at the same path has it, then each tensor in file order.
func (a *applier) shard(ctx context.Context, p string, recorded map[string]ShardLayout, dir string) error {
	h, prefix, err := a.header(p, recorded)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.Write(prefix); err != nil {
		return err
	}
	for _, t := range h.Tensors {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := a.tensor(t, w); err != nil {
			return fmt.Errorf("merge: apply: %s: tensor %q: %w", p, t.Name, err)
		}
	}
	return errors.Join(w.Flush(), f.Sync(), f.Close())
}

// header returns shard p's parsed header and its bytes (with the length).
func (a *applier) header(p string, recorded map[string]ShardLayout) (*safetensors.Header, []byte, error) {
	if s, ok := recorded[p]; ok {
		return s.header()
	}
	sh, ok := a.base.shard(p)
	if !ok {
		return nil, nil, fmt.Errorf("%w: the fine-tune of delta %s has shard %q, which the base %s lacks, and the delta records no header for it", ErrIncompatible, a.delta.Name, p, a.base.Name)
	}
	hdr, err := rawHeader(a.base, p)
	if err != nil {
		return nil, nil, err
	}
	prefix := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(hdr)), uint64(len(hdr)))
	return sh.Header, append(prefix, hdr...), nil
}

// tensor writes one tensor of the fine-tune: base + delta when the delta
// holds it, else the base's.
func (a *applier) tensor(t safetensors.TensorInfo, w io.Writer) error {
	bt, ok := a.base.Tensor(t.Name)
	if !ok {
		return fmt.Errorf("%w: not in the base %s", ErrIncompatible, a.base.Name)
	}
	if !sameShape(bt.Shape, t.Shape) {
		return fmt.Errorf("%w: shape %v, base has %v", ErrIncompatible, t.Shape, bt.Shape)
	}
	dt, inDelta := a.delta.Tensor(t.Name)
	if inDelta {
		a.used[t.Name] = true
		if !sameShape(dt.Shape, t.Shape) || !dt.DType.IsFloat() || !t.DType.IsFloat() {
			return fmt.Errorf("%w: delta %s%v for a %s%v tensor", ErrIncompatible, dt.DType, dt.Shape, t.DType, t.Shape)
		}
	}
	if !inDelta && bt.DType == t.DType {
		_, err := io.Copy(w, bt.Section())
		return err
	}
	if !bt.DType.IsFloat() || !t.DType.IsFloat() {
		return fmt.Errorf("%w: dtype %s, base has %s, and the delta does not hold it", ErrIncompatible, t.DType, bt.DType)
	}
	n := t.NumElements()
	for off := int64(0); off < n; off += ChunkElems {
		k := int(min(ChunkElems, n-off))
		if err := readFloat64s(a.base, bt, off, a.b[:k], a.raw, a.f); err != nil {
			return err
		}
		clear(a.d[:k])
		if inDelta {
			if err := readFloat64s(a.delta, dt, off, a.d[:k], a.raw, a.f); err != nil {
				return err
			}
		}
		out := a.raw[:k*t.DType.Size()]
		if i := applyChunk(out, a.b[:k], a.d[:k], t.DType, a.f); i >= 0 {
			return fmt.Errorf("%w: element %d: base %v + delta %v is not finite in %s", ErrOverflow, off+int64(i), a.b[i], a.d[i], t.DType)
		}
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// applyChunk encodes base + delta, summed in float64, into out in dtype dt
// (rounded once to float32, then to dt when narrower; exact sums are
// unchanged by either rounding). It returns the index of the first result
// that is not finite in dt, or -1. tmp is scratch of len(base) or more.
func applyChunk(out []byte, base, delta []float64, dt safetensors.DType, tmp []float32) int {
	if dt == safetensors.F64 {
		for i := range base {
			v := base[i] + delta[i]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return i
			}
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(v))
		}
		return -1
	}
	tmp = tmp[:len(base)]
	for i := range base {
		tmp[i] = float32(base[i] + delta[i])
	}
	if err := safetensors.EncodeFloat32(out, tmp, dt); err != nil {
		panic(err) // a programmer error: lengths or a non-float dtype
	}
	return firstNonFiniteEncoded(out, dt)
}

// readFloat64s reads len(dst) elements of t from element off, widened
// exactly to float64. raw and tmp are scratch for as many elements.
func readFloat64s(m *Model, t Tensor, off int64, dst []float64, raw []byte, tmp []float32) error {
	b, err := rawAt(m, t, off, len(dst), raw)
	if err != nil {
		return err
	}
	return decodeFloat64s(dst, b, t.DType, tmp)
}

// decodeFloat64s widens little-endian floats of dt to float64, exactly.
func decodeFloat64s(dst []float64, b []byte, dt safetensors.DType, tmp []float32) error {
	if dt == safetensors.F64 {
		for i := range dst {
			dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		return nil
	}
	tmp = tmp[:len(dst)]
	if err := safetensors.DecodeFloat32(tmp, b, dt); err != nil {
		return err
	}
	for i, v := range tmp {
		dst[i] = float64(v)
	}
	return nil
}
