package merge

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/potluck-hub/potluck/merge/trimstats"
	"github.com/potluck-hub/potluck/safetensors"
)

// Trim statistics (package trimstats): a delta's magnitude histograms,
// taken where its bytes were read anyway. With them the magnitude masks
// know their cuts before reading a value. A cut taken from them is
// checked as the merge goes: the merge pass counts, per input, the
// elements below each such cut and on its key, which the histogram
// claimed; a mismatch fails the merge with ErrStats, naming the input and
// the tensor, so statistics that lie never change a merge's bytes.

// ErrStats reports trim statistics that do not match their delta.
var ErrStats = errors.New("merge: trim statistics do not match the delta")

// statsTaken counts the histograms taken from trim statistics, for tests.
var statsTaken atomic.Int64

// TensorStats is a Source (or anything a Model is opened over) that holds
// trim statistics for some of its tensors: a hub's store keeping them
// beside a release, the local hash cache. A Model over a Source without it
// reads the release's own sidecar, trimstats.FileName, when it has one.
type TensorStats interface {
	Stats(tensor string) (*trimstats.Histogram, bool)
}

// modelStats is a model's source of trim statistics, loaded on first use.
type modelStats struct {
	once  sync.Once
	src   TensorStats
	stats *trimstats.Stats
}

// Stats returns the trim statistics of the model's tensor name, if it has
// any: its Source's (TensorStats), else its sidecar's. A sidecar that
// cannot be read or parsed counts as none.
func (m *Model) Stats(name string) (*trimstats.Histogram, bool) {
	if m.trim == nil {
		return nil, false
	}
	t := m.trim
	t.once.Do(func() {
		if t.src == nil {
			t.stats, _ = m.readSidecar()
		}
	})
	switch {
	case t.src != nil:
		return t.src.Stats(name)
	case t.stats != nil:
		return t.stats.Histogram(name)
	}
	return nil, false
}

// openStats sets up the model's trim statistics: the source's, or the
// sidecar's when the model has one.
func (m *Model) openStats() {
	if ts, ok := m.src.(TensorStats); ok {
		m.trim = &modelStats{src: ts}
	} else if slices.Contains(m.Other, trimstats.FileName) {
		m.trim = &modelStats{}
	}
}

// maxSidecar bounds the sidecar read into memory: 64 MiB holds a dense
// histogram of every bin for thousands of tensors.
const maxSidecar = 64 << 20

func (m *Model) readSidecar() (*trimstats.Stats, error) {
	f, err := m.OpenFile(trimstats.FileName)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSidecar+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSidecar {
		return nil, fmt.Errorf("merge: model %s: %s is over %d bytes", m.Name, trimstats.FileName, maxSidecar)
	}
	return trimstats.Parse(b)
}

// WithStats gives the model trim statistics from s, in place of any it
// has (the local hash cache's, for a directory without a sidecar).
func (m *Model) WithStats(s TensorStats) { m.trim = &modelStats{src: s} }

// ScanTensorStats is ScanTensor that also takes the tensor's trim
// statistics in the same read: what the hub's admission, which reads every
// byte of a delta anyway, keeps beside it for later merges. The histogram
// is nil for a tensor that has none (not BF16, F16 or F32).
func (m *Model) ScanTensorStats(name string) ([32]byte, *trimstats.Histogram, error) {
	t, ok := m.Tensor(name)
	if !ok || (t.DType != safetensors.BF16 && t.DType != safetensors.F16 && t.DType != safetensors.F32) {
		sum, err := m.ScanTensor(name)
		return sum, nil, err
	}
	b, err := trimstats.NewBuilder(t.DType, t.NumElements())
	if err != nil {
		return [32]byte{}, nil, err
	}
	sum, err := m.scanTensor(name, true, b, nil)
	if err != nil {
		return sum, nil, err
	}
	h, err := b.Histogram()
	return sum, h, err
}

// cutCheck is what a magnitude cut taken from trim statistics claims of
// its input: below elements under its key and eq on it. The merge pass
// counts them (cutCount) and checkStats compares.
type cutCheck struct {
	below, eq int64
}

// cutCount is what a pass counted of one cut: the elements below its key
// and on it.
type cutCount struct {
	below, eq int64
}

func (c *cutCount) add(o cutCount) { c.below, c.eq = c.below+o.below, c.eq+o.eq }

// f32Bytes is x's memory as bytes.
func f32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 4*len(x))
}

// statCounts are, per input, what the merge pass counted of its cuts that
// came from trim statistics (zero for the others).
type statCounts [][2]cutCount

// startCounting clears what the run's cut masks counted: a span is about
// to merge elements afresh.
func (tr *tensorRun) startCounting() {
	for _, m := range tr.masks {
		if cm, ok := m.(*cutMask); ok {
			cm.counted = [2]cutCount{}
		}
	}
}

// counted returns what the run's cut masks counted since startCounting.
func (tr *tensorRun) counted() statCounts {
	var out statCounts
	for i, m := range tr.masks {
		if cm, ok := m.(*cutMask); ok && (cm.check[0] != nil || cm.check[1] != nil) {
			if out == nil {
				out = make(statCounts, len(tr.masks))
			}
			out[i] = cm.counted
		}
	}
	return out
}

// add adds o to c (either may be nil).
func (c *statCounts) add(o statCounts) {
	if o == nil {
		return
	}
	if *c == nil {
		*c = make(statCounts, len(o))
	}
	for i := range o {
		(*c)[i][0].add(o[i][0])
		(*c)[i][1].add(o[i][1])
	}
}

// checkStats holds what the merge pass counted of every cut taken from
// trim statistics against what the statistics claimed.
func (tr *tensorRun) checkStats(got statCounts) error {
	for i, m := range tr.masks {
		cm, ok := m.(*cutMask)
		if !ok {
			continue
		}
		for c, want := range cm.check {
			if want == nil {
				continue
			}
			var g cutCount
			if got != nil {
				g = got[i][c]
			}
			if g.below != want.below || g.eq != want.eq {
				return fmt.Errorf("%w: delta %s: tensor %q: its statistics put %d elements below the magnitude cut at key %#x and %d on it; the tensor has %d and %d",
					ErrStats, tr.e.r.p.inputs[i].model.Name, tr.bt.Name, want.below, cm.cut(c).key, want.eq, g.below, g.eq)
			}
		}
	}
	return nil
}
