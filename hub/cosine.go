package hub

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// maxCosinePeers bounds how many published deltas a new one is compared
// with: the most recent ones.
const maxCosinePeers = 16

// checkCosine compares a delta with the mean of the deltas already published
// for its base, over its dense float tensors, chunk by chunk, and refuses it
// when their cosine similarity is below the configured bound.
func (h *Hub) checkCosine(ctx context.Context, a *admission) error {
	baseCID, delta := a.up.Base, a.upload
	sc := h.opts.Screen
	if !sc.Cosine || merge.IsAdapter(delta) {
		return nil // a LoRA adapter's factors are in a basis of its own: not compared
	}
	rels, err := h.releases.list(potluck.KindDelta, baseCID)
	if err != nil {
		return err
	}
	rels = slices.DeleteFunc(rels, func(r *potluck.Release) bool { _, lora := r.File(merge.AdapterConfig); return lora })
	if len(rels) < max(sc.MinPeers, 1) {
		return nil
	}
	rels = rels[max(0, len(rels)-maxCosinePeers):]
	var peers []*merge.Model
	defer func() {
		for _, p := range peers {
			p.Close()
		}
	}()
	for _, r := range rels {
		p, err := h.openRelease(ctx, r)
		if err != nil {
			return err
		}
		peers = append(peers, p)
	}
	var acc cosineAcc
	for _, name := range delta.Names() {
		if strings.Contains(name, "#") {
			continue // sparse entries: not compared
		}
		if err := acc.add(delta, peers, name); err != nil {
			return err
		}
	}
	cos := acc.cosine()
	if !math.IsNaN(cos) && cos < sc.MinCosine {
		return fmt.Errorf("%w: cosine similarity %.4f with the mean of the %d deltas published for this base is below %.4f",
			ErrRejected, cos, len(peers), sc.MinCosine)
	}
	return nil
}

// cosineAcc accumulates x·m, x·x and m·m over tensors, in float64.
type cosineAcc struct{ xm, xx, mm float64 }

func (c *cosineAcc) cosine() float64 {
	if c.xx == 0 || c.mm == 0 {
		return math.NaN() // nothing to compare: no verdict either way
	}
	return c.xm / math.Sqrt(c.xx*c.mm)
}

// add reads one tensor of x and of each peer that holds it, a chunk at a
// time, and accumulates x against the peers' mean (a peer without the
// tensor counts as zero there).
func (c *cosineAcc) add(x *merge.Model, peers []*merge.Model, name string) error {
	t, _ := x.Tensor(name)
	if !t.DType.IsFloat() {
		return nil
	}
	n := t.NumElements()
	xr := newFloatReader(x, name)
	var prs []*floatReader
	for _, p := range peers {
		if pt, ok := p.Tensor(name); ok && pt.NumElements() == n && pt.DType.IsFloat() {
			prs = append(prs, newFloatReader(p, name))
		}
	}
	xv := make([]float32, min(n, merge.ChunkElems))
	pv := make([]float32, len(xv))
	mean := make([]float64, len(xv))
	for off := int64(0); off < n; off += int64(len(xv)) {
		k := int(min(int64(len(xv)), n-off))
		if err := xr.read(xv[:k]); err != nil {
			return err
		}
		clear(mean[:k])
		for _, pr := range prs {
			if err := pr.read(pv[:k]); err != nil {
				return err
			}
			for i, v := range pv[:k] {
				mean[i] += float64(v)
			}
		}
		for i, v := range xv[:k] {
			m := mean[i] / float64(len(peers))
			c.xm += float64(v) * m
			c.xx += float64(v) * float64(v)
			c.mm += m * m
		}
	}
	return nil
}

// floatReader reads a float tensor sequentially, widened to float32.
type floatReader struct {
	t   merge.Tensor
	sec *io.SectionReader
	raw []byte
}

func newFloatReader(m *merge.Model, name string) *floatReader {
	t, _ := m.Tensor(name)
	return &floatReader{t: t, sec: t.Section()}
}

func (r *floatReader) read(dst []float32) error {
	n := len(dst) * r.t.DType.Size()
	if cap(r.raw) < n {
		r.raw = make([]byte, n)
	}
	if _, err := io.ReadFull(r.sec, r.raw[:n]); err != nil {
		return fmt.Errorf("tensor %q: %w", r.t.Name, err)
	}
	return safetensors.DecodeFloat32(dst, r.raw[:n], r.t.DType)
}
