package hub

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/merge/kernel"
)

// Screening bounds what a delta may hold beyond the structural checks.
type Screening struct {
	// MaxNormRatio bounds each delta tensor's L2 norm relative to its base
	// tensor's: ‖δ‖ ≤ MaxNormRatio·‖θ‖. A delta 100× larger than the base
	// is a bug or an attack. 0 turns the check off (and MaxZeroBaseRMS's).
	// It bounds a merge's output too: its change from the base.
	MaxNormRatio float64
	// MaxZeroBaseRMS bounds, over a base tensor of norm 0 (which gives no
	// relative bound), the root mean square of what is added to it
	// (DefaultMaxZeroBaseRMS if 0).
	MaxZeroBaseRMS float64
	// Cosine turns on screening against the deltas already published for
	// the same base: a delta whose cosine similarity with their mean is
	// below MinCosine is refused (a delta pulling against every other lab's
	// is broken or hostile). It applies once MinPeers deltas are held
	// (at least 1), over the dense tensors.
	Cosine    bool
	MinCosine float64
	MinPeers  int
}

// DefaultMaxNormRatio is the bound `hub serve` uses unless told otherwise.
const DefaultMaxNormRatio = 10

// DefaultMaxZeroBaseRMS is Screening.MaxZeroBaseRMS's default: a weight's
// typical scale, far above a fine-tune's change to a tensor that is zero.
const DefaultMaxZeroBaseRMS = 1

// RejectedError is an upload refused by a check; it carries the verdict.
type RejectedError struct {
	Verdict potluck.Verdict
	Err     error
}

func (e *RejectedError) Error() string { return e.Err.Error() }
func (e *RejectedError) Unwrap() error { return e.Err }

// judged reports whether err is the hub's judgment of the upload (a check
// that failed) rather than a dropped connection or a local fault.
func judged(err error) bool {
	return errors.Is(err, ErrRejected) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrKeyInvalid)
}

// checkNorms bounds each delta tensor's norm by its base tensor's.
func (h *Hub) checkNorms(_ context.Context, a *admission) error {
	delta := a.upload
	bound := h.opts.Screen.MaxNormRatio
	if bound <= 0 {
		return nil
	}
	if merge.IsAdapter(delta) {
		return h.checkAdapterNorms(a, bound)
	}
	for _, name := range delta.Names() {
		if strings.HasSuffix(name, merge.SparseIndices) {
			continue
		}
		baseName := strings.TrimSuffix(name, merge.SparseValues)
		dn, ok := a.norms[name] // taken by the values stage's read
		if !ok {
			var err error
			if dn, err = tensorNorm(delta, name); err != nil {
				return fmt.Errorf("%w: %w", ErrRejected, err)
			}
		}
		if err := h.withinBound(a, fmt.Sprintf("tensor %q", name), baseName, dn, bound); err != nil {
			return err
		}
	}
	return nil
}

// withinBound checks the norm dn of what a delta adds to base tensor
// baseName (label names it) against bound times the base tensor's norm.
func (h *Hub) withinBound(a *admission, label, baseName string, dn, bound float64) error {
	bn, err := h.baseNorm(a.up.Base, a.base, baseName)
	if err != nil {
		return err
	}
	if err := h.normBound(a.base, baseName, dn, bn); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRejected, label, err)
	}
	return nil
}

func (h *Hub) baseNorm(baseCID string, base *merge.Model, name string) (float64, error) {
	key := baseCID + " " + name
	if v, ok := h.norms.Load(key); ok {
		return v.(float64), nil
	}
	n, err := tensorNorm(base, name)
	if err != nil {
		return 0, err
	}
	h.norms.Store(key, n)
	return n, nil
}

// tensorNorm is a float tensor's L2 norm, read chunk by chunk; 0 for a
// tensor that is not float. The squares add up in float64 over 8 lanes
// fixed by element index (kernel.DotLanes, SIMD where the CPU has it), so
// the norm is the same on every machine.
func tensorNorm(m *merge.Model, name string) (float64, error) {
	t, ok := m.Tensor(name)
	if !ok {
		return 0, fmt.Errorf("model %s: no tensor %q", m.Name, name)
	}
	if !t.DType.IsFloat() {
		return 0, nil
	}
	n := t.NumElements()
	r := newFloatReader(m, name)
	vals := make([]float32, min(n, merge.ChunkElems))
	var sq squares
	for off := int64(0); off < n; off += int64(len(vals)) {
		k := int(min(int64(len(vals)), n-off))
		if err := r.read(vals[:k]); err != nil {
			return 0, err
		}
		sq.add(off, vals[:k])
	}
	return sq.norm(), nil
}

// squares adds up a tensor's squares, chunk by chunk, in float64 over 8
// lanes fixed by element index: the same norm whatever the chunks, so a
// norm taken while another check reads the tensor is tensorNorm's.
type squares struct{ lanes [8]float64 }

func (s *squares) add(off int64, vals []float32) { kernel.DotLanes(&s.lanes, int(off), vals, vals) }

func (s *squares) norm() float64 {
	var sum float64
	for _, v := range s.lanes {
		sum += v
	}
	return math.Sqrt(sum)
}

// scanNorms reads every tensor of m once (merge.Model.ScanTensorValues:
// its digest, when digests is set, and its values finite) and returns the
// digests and the norms of the tensors whose values it saw.
//
// The tensors are read several at a time, one per core (up to
// maxScanners): the scan is the bulk of an admission (SHA-256, widening,
// squares: CPU, the bytes are in the page cache since they came), and its
// uploader waits for it. Each tensor's norm is summed in its own lanes as
// before, so nothing depends on how many read at once; of several
// failures, the first tensor's in names' order is the one reported.
func scanNorms(m *merge.Model, names []string, digests bool) (map[string][32]byte, map[string]float64, error) {
	type scanned struct {
		sum    [32]byte
		norm   float64
		called bool
		err    error
	}
	out := make([]scanned, len(names))
	next := make(chan int)
	var mu sync.Mutex
	firstBad := len(names) // the least index that failed: later ones need no reading
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), maxScanners, len(names)) {
		wg.Go(func() {
			for i := range next {
				mu.Lock()
				skip := i > firstBad
				mu.Unlock()
				if skip {
					continue
				}
				var sq squares
				r := &out[i]
				r.sum, r.called, r.err = m.ScanTensorValues(names[i], digests, sq.add)
				r.norm = sq.norm()
				if r.err != nil {
					mu.Lock()
					firstBad = min(firstBad, i)
					mu.Unlock()
				}
			}
		})
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	sums, norms := map[string][32]byte{}, map[string]float64{}
	for i, r := range out {
		if r.err != nil {
			return nil, nil, r.err
		}
		if digests {
			sums[names[i]] = r.sum
		}
		if r.called {
			norms[names[i]] = r.norm
		}
	}
	return sums, norms, nil
}

// maxScanners bounds the tensors an admission reads at once: each holds a
// chunk's bytes and values (merge.ChunkElems of each).
const maxScanners = 4
