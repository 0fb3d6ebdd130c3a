package merge

import (
	"context"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	"github.com/potluck-hub/potluck/safetensors"
)

// A large tensor is split into segments that goroutines merge at once, so
// a model with few large tensors (or the last large tensor of a model)
// still keeps every core busy. The goroutines are bounded by the run's
// Workers: a worker that runs out of tensors gives its slot back to the
// run (run.go), and a tensor's merge takes such slots up as it goes
// (helpers.go). Segments are written in order by the tensor's own worker,
// which hashes them; a bounded window of segments is in flight, so memory
// does not grow with the tensor. Positional stages (a magnitude cut that
// keeps only the first of the elements on its key) start each segment
// from the count of the elements before it, so segments give the bits one
// pass gives.

// segmentable reports whether the tensor's chunks may be merged in any
// order: its readers read any range. (A positional stage gets, per
// segment, the count of the elements before it: startCounts.)
func (tr *tensorRun) segmentable() bool {
	for _, rd := range tr.rd {
		switch rd.(type) {
		case nil, denseReader, fullReader:
		default:
			return false
		}
	}
	return true
}

// stage returns the run's stage k if it is positional: input k's mask, or
// for k = len(tr.rd) the combiner.
func (tr *tensorRun) stage(k int) (positional, bool) {
	if k < len(tr.masks) {
		p, ok := tr.masks[k].(positional)
		return p, ok
	}
	p, ok := tr.comb.(positional)
	return p, ok
}

// setStage puts p, a copy of stage k, in its place.
func (tr *tensorRun) setStage(k int, p positional) {
	if k < len(tr.masks) {
		tr.masks[k] = p.(mask)
	} else {
		tr.comb = p.(combiner)
	}
}

// counting lists the run's positional stages that need a count.
func (tr *tensorRun) counting() []int {
	var out []int
	for k := range len(tr.masks) + 1 {
		if p, ok := tr.stage(k); ok && p.counting() {
			out = append(out, k)
		}
	}
	return out
}

// startCounts returns, for each segment of seg elements and each stage of
// stages, the count its positional stage starts the segment from: that of
// the segments before it. The counts take one more read of the inputs, on
// every core the run has spare.
func (tr *tensorRun) startCounts(stages []int, seg int64, nseg int) ([][]tally, error) {
	counts := make([][]tally, nseg+1)
	for s := range counts {
		counts[s] = make([]tally, len(stages))
	}
	err := tr.fanOut(nseg, func(r *tensorRun, s int) error {
		from := int64(s) * seg
		for k, st := range stages {
			p, _ := tr.stage(st)
			t, err := p.count(r, from, min(from+seg, tr.n))
			if err != nil {
				return err
			}
			counts[s+1][k] = t
		}
		return nil
	})
	for s := 1; s <= nseg; s++ { // prefix sums: segment s starts after s−1
		for k := range stages {
			for c := range counts[s][k] {
				counts[s][k][c] += counts[s-1][k][c]
			}
		}
	}
	return counts, err
}

// parallel merges the tensor in segments on this worker's slot and any
// spare ones, writing them to w in order. It returns what the segments'
// cut masks counted of their trim statistics (trim.go).
func (tr *tensorRun) parallel(outDT safetensors.DType, w io.Writer) (statCounts, error) {
	r := tr.e.r
	seg := (int64(r.segment) + int64(tr.chunk) - 1) / int64(tr.chunk) * int64(tr.chunk)
	sg := newSegments(tr.n, seg, outDT, w, 2*r.workers)
	stages := tr.counting()
	var counts [][]tally
	if len(stages) > 0 {
		var err error
		if counts, err = tr.startCounts(stages, seg, sg.count); err != nil {
			return nil, err
		}
	}
	// Helpers clone the prepared state from a copy: tr's own positional
	// stages change as its goroutine moves from segment to segment.
	snap := *tr
	snap.masks = slices.Clone(tr.masks)
	ctx, stop := context.WithCancel(context.Background())
	var mu sync.Mutex
	var checked statCounts
	work := func(x *tensorRun) {
		for s := sg.take(ctx); s >= 0; s = sg.take(ctx) {
			for k, st := range stages {
				p, _ := snap.stage(st)
				x.setStage(st, p.after(counts[s][k]))
			}
			from, to := sg.bounds(s)
			x.startCounting()
			err := x.span(from, to, outDT, sg.dst(s), nil)
			mu.Lock()
			checked.add(x.counted())
			mu.Unlock()
			sg.done(s, err)
		}
	}
	// The worker's own slot runs one goroutine on tr; each spare slot taken,
	// as slots free up, runs another on a helper engine.
	var wg sync.WaitGroup
	wg.Go(func() { work(tr) })
	helpers := 0
	var err error
	for s := range sg.count {
		for ; helpers < r.workers-1; helpers++ {
			h := tr.takeHelper(&snap, helpers)
			if h == nil {
				break
			}
			wg.Go(func() {
				defer r.giveSlot()
				work(h)
			})
		}
		if err = sg.write(s); err != nil {
			break
		}
	}
	stop()
	wg.Wait()
	return checked, err
}

// segments are one tensor's segments, merged by several goroutines and
// written in order. At most window of them are taken ahead of the one
// being written, so memory does not grow with the tensor; each is merged
// in place (an InPlaceWriter) or into a buffer of a ring of window, which
// the window keeps from being reused before it is written.
type segments struct {
	n, seg  int64 // the tensor's elements, a segment's
	count   int
	size    int64 // bytes per element
	w       io.Writer
	inPlace InPlaceWriter // nil: through w
	window  *semaphore.Weighted
	ring    [][]byte // made on first use
	next    atomic.Int64
	ready   []chan struct{} // closed when the segment is merged
	errs    []error
}

func newSegments(n, seg int64, outDT safetensors.DType, w io.Writer, window int) *segments {
	sg := &segments{n: n, seg: seg, count: int((n + seg - 1) / seg), size: int64(outDT.Size()), w: w,
		window: semaphore.NewWeighted(int64(window)), ring: make([][]byte, window)}
	sg.inPlace, _ = w.(InPlaceWriter)
	sg.ready, sg.errs = make([]chan struct{}, sg.count), make([]error, sg.count)
	for s := range sg.ready {
		sg.ready[s] = make(chan struct{})
	}
	return sg
}

// take returns the next segment to merge once the window has room, or -1
// when none is left or ctx is done (the writer stopped).
func (sg *segments) take(ctx context.Context) int {
	if sg.window.Acquire(ctx, 1) != nil {
		return -1
	}
	s := sg.next.Add(1) - 1
	if ctx.Err() != nil || s >= int64(sg.count) {
		sg.window.Release(1)
		return -1
	}
	return int(s)
}

func (sg *segments) bounds(s int) (from, to int64) {
	from = int64(s) * sg.seg
	return from, min(from+sg.seg, sg.n)
}

// dst is where segment s is merged: its place in the output, or its ring
// buffer.
func (sg *segments) dst(s int) []byte {
	from, to := sg.bounds(s)
	if sg.inPlace != nil {
		return sg.inPlace.SliceAt(from*sg.size, (to-from)*sg.size)
	}
	b := &sg.ring[s%len(sg.ring)]
	if *b == nil {
		*b = make([]byte, sg.seg*sg.size)
	}
	return (*b)[:(to-from)*sg.size]
}

// done records segment s merged, with its error.
func (sg *segments) done(s int, err error) {
	sg.errs[s] = err
	close(sg.ready[s])
}

// write waits for segment s and writes it (unless it is already in
// place), then makes room in the window. An error leaves the window full:
// no goroutine takes another segment.
func (sg *segments) write(s int) error {
	<-sg.ready[s]
	err := sg.errs[s]
	if err == nil && sg.inPlace == nil {
		from, to := sg.bounds(s)
		_, err = sg.w.Write(sg.ring[s%len(sg.ring)][:(to-from)*sg.size])
	}
	if err == nil {
		sg.window.Release(1)
	}
	return err
}
