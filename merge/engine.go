package merge

import (
	"fmt"
	"io"
	"unsafe"

	"github.com/potluck-hub/potluck/safetensors"
)

// workingSet bounds one worker's chunk buffers (float32s): a chunk shrinks
// as inputs are added, so memory does not grow with their number.
const workingSet = 12 << 20

// engine merges tensors for one worker, a chunk at a time, reusing its
// buffers for every chunk and tensor.
type engine struct {
	r              *run
	chunk          int // elements per chunk, a multiple of 64
	base, out, acc []float32
	tmp            []float32 // a combiner's second scratch (slerp's θ₁)
	xs             [][]float32
	view           [][]float32 // the inputs' chunks a combiner gets
	ck             chunk       // what it gets them in
	raw            []byte
	sc             scratch
	cuts           *cutFinder
	order          []uint64
	rawBase        []byte   // the fused path's block of the base
	rawIn          [][]byte // and of each input
	srcs           [][]byte
	masked         maskedState // the fused masked path's scratch
	zero           []byte      // encoded zeros: a zero delta's bytes
	helpers        []*engine   // engines of the goroutines that share a tensor's segments
}

func newEngine(r *run) *engine {
	n := len(r.p.inputs)
	chunk := r.chunk
	if chunk <= 0 {
		chunk = min(ChunkElems, workingSet/(n+4))
	}
	chunk = max(64, chunk&^63)
	e := &engine{r: r, cuts: newCutFinder()}
	e.xs = make([][]float32, n)
	e.grow(chunk)
	return e
}

// grow makes every chunk buffer hold k elements (a row-aligned method may
// need one longer row than a chunk).
func (e *engine) grow(k int) {
	if k <= e.chunk {
		return
	}
	e.chunk = k
	e.base, e.out, e.acc, e.tmp = make([]float32, k), make([]float32, k), make([]float32, k), make([]float32, k)
	for i := range e.xs {
		e.xs[i] = make([]float32, k)
	}
	e.raw = staggered(8*k, -1)
	e.sc = scratch{raw: make([]byte, 8*k), f: make([]float32, k)}
	if e.rawBase == nil {
		// Each at its own offset in the page: reads into them and the
		// kernel's loads then spread over the cache's sets.
		e.rawBase = staggered(4*fusedBlock, 0)
		for i := range e.xs {
			e.rawIn = append(e.rawIn, staggered(4*fusedBlock, i+1))
		}
	}
}

// mergeTensor writes one output tensor to w in outDT.
func (e *engine) mergeTensor(bt Tensor, outDT safetensors.DType, w io.Writer) error {
	if !bt.DType.IsFloat() {
		_, err := io.Copy(w, bt.Section())
		return err
	}
	tr, err := e.newRun(bt)
	if err != nil {
		return err
	}
	if err := tr.prepare(); err != nil {
		return err
	}
	if tr.verbatim(outDT) {
		return tr.copyBase(w)
	}
	tr.planFused(outDT)
	if tr.n >= 2*int64(e.r.segment) && tr.segmentable() && e.r.slots != nil {
		counts, err := tr.parallel(outDT, w)
		if err != nil {
			return err
		}
		return tr.checkStats(counts)
	}
	tr.startCounting()
	if err := tr.span(0, tr.n, outDT, nil, w); err != nil {
		return err
	}
	return tr.checkStats(tr.counted())
}

// span merges the elements [from, to) a chunk at a time, encoded in outDT,
// into dst (which holds them all), or when dst is nil in place into w when
// it is an InPlaceWriter, else through a chunk buffer to w.
func (tr *tensorRun) span(from, to int64, outDT safetensors.DType, dst []byte, w io.Writer) error {
	e := tr.e
	size := int64(outDT.Size())
	inPlace, direct := w.(InPlaceWriter)
	if dst != nil || direct {
		w = io.Discard // the bytes are written where they belong
	}
	for off := from; off < to; off += int64(tr.chunk) {
		k := int(min(int64(tr.chunk), to-off))
		raw := e.raw[:k*outDT.Size()]
		switch {
		case dst != nil:
			raw = dst[(off-from)*size : (off-from+int64(k))*size]
		case direct:
			raw = inPlace.SliceAt(off*size, int64(k)*size)
		}
		if tr.fused != nil {
			ok, err := tr.fusedChunk(off, k, raw)
			if err != nil {
				return err
			}
			if ok {
				if _, err := w.Write(raw); err != nil {
					return err
				}
				continue
			}
		}
		if err := tr.combine(off, k); err != nil {
			return err
		}
		if err := safetensors.EncodeFloat32(raw, e.out[:k], outDT); err != nil {
			return err
		}
		if i := firstNonFiniteEncoded(raw, outDT); i >= 0 {
			return fmt.Errorf("%w: tensor %q: element %d: the merged value %v is not finite in %s", ErrOverflow, tr.bt.Name, off+int64(i), e.out[i], outDT)
		}
		if _, err := w.Write(raw); err != nil {
			return err
		}
	}
	return nil
}

// zeros returns n zero bytes.
func (e *engine) zeros(n int) []byte {
	if len(e.zero) < n {
		e.zero = make([]byte, n)
	}
	return e.zero[:n]
}

// readBase reads k elements of the base tensor from off into e.base.
func (e *engine) readBase(bt Tensor, off int64, k int) error {
	return readFloats(e.r.p.base, bt, off, e.base[:k], e.raw)
}

// staggered returns n bytes starting 1088·(slot+2) bytes (17 cache lines
// apart) past a page boundary, modulo the page. A kernel that stores to a
// buffer whose addresses agree with its inputs' in the low 12 bits stalls
// on its stores ("4K aliasing": a load waits on an earlier store it only
// appears to overlap), and inputs that agree with each other compete for
// the same cache sets; buffers allocated alike would agree.
func staggered(n, slot int) []byte {
	b := make([]byte, n+8192)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	at := (1088*(slot+2) - int(p%4096) + 8192) % 4096
	return b[at : at+n : at+n]
}
