package merge

import (
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/potluck-hub/potluck/safetensors"
)

// A large tensor is split into segments that goroutines merge at once, so
// a model with few large tensors (or the last large tensor of a model)
// still keeps every core busy. The goroutines are bounded by the job's
// Workers: a worker that runs out of tensors leaves its slot in j.spare,
// and a tensor's merge picks such slots up as it goes. Segments are written
// in order by the tensor's own worker, which hashes them; a bounded window
// of segments is in flight, so memory does not grow with the tensor.

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
	var p positional
	var ok bool
	if k < len(tr.masks) {
		p, ok = tr.masks[k].(positional)
	} else {
		p, ok = tr.comb.(positional)
	}
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

// clone returns a run of the same tensor for another engine, its prepared
// state (clipping, masks, rescaling, the combiner, the fused plan) copied:
// positional stages, which count as they go, as fresh copies of their own.
func (tr *tensorRun) clone(e *engine) (*tensorRun, error) {
	c, err := e.newRun(tr.bt)
	if err != nil {
		return nil, err
	}
	copy(c.clip, tr.clip)
	copy(c.resc, tr.resc)
	copy(c.masks, tr.masks)
	c.gram, c.comb, c.fused, c.chunk = tr.gram, tr.comb, tr.fused, tr.chunk
	for k := range len(c.masks) + 1 {
		if p, ok := c.stage(k); ok {
			c.setStage(k, p.after(tally{}))
		}
	}
	return c, nil
}

// fanOut calls fn for tasks 0 … n−1, on tr and on runs of the tensor on
// helper engines for as many spare slots as it can take at once, and
// returns the error of the lowest failed task. fn gets the run to use.
func (tr *tensorRun) fanOut(n int, fn func(r *tensorRun, k int) error) error {
	runs := append([]*tensorRun{tr}, tr.takeHelpers(n-1)...)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := int(next.Add(1) - 1); k < n; k = int(next.Add(1) - 1) {
				errs[k] = fn(r, k)
			}
		}()
	}
	wg.Wait()
	tr.releaseHelpers(len(runs) - 1)
	return firstError(errs)
}

// takeHelpers takes up to want spare slots (never more than Workers − 1)
// without waiting and returns a run of the tensor on a helper engine for
// each.
func (tr *tensorRun) takeHelpers(want int) []*tensorRun {
	var out []*tensorRun
	for len(out) < min(want, tr.e.r.workers-1) {
		r := tr.takeHelper(tr, len(out))
		if r == nil {
			break
		}
		out = append(out, r)
	}
	return out
}

// takeHelper takes a spare slot, if one is free now, and returns a clone of
// src on helper engine h (made on first use, then kept for later tensors);
// nil when no slot is free.
func (tr *tensorRun) takeHelper(src *tensorRun, h int) *tensorRun {
	e := tr.e
	if !e.r.takeSlot() {
		return nil
	}
	if h == len(e.helpers) {
		e.helpers = append(e.helpers, newEngine(e.r))
	}
	r, err := src.clone(e.helpers[h])
	if err != nil { // the tensor's readers opened once already: cannot fail
		e.r.giveSlot()
		return nil
	}
	return r
}

// releaseHelpers gives n slots back.
func (tr *tensorRun) releaseHelpers(n int) {
	for range n {
		tr.e.r.giveSlot()
	}
}

// segBuf holds one segment's encoded bytes (a pointer in the pool).
type segBuf struct{ b []byte }

// parallel merges the tensor in segments on this worker's slot and any
// spare ones, writing them to w in order.
func (tr *tensorRun) parallel(outDT safetensors.DType, w io.Writer) error {
	j := tr.e.r
	seg := (int64(j.segment) + int64(tr.chunk) - 1) / int64(tr.chunk) * int64(tr.chunk)
	nseg := int((tr.n + seg - 1) / seg)
	// Helpers clone the prepared state from a copy: tr's own positional
	// stages change as its goroutine moves from segment to segment.
	snap := *tr
	snap.masks = slices.Clone(tr.masks)
	type result struct {
		buf   *segBuf
		err   error
		ready chan struct{}
	}
	stages := tr.counting()
	var counts [][]tally
	var err error
	if len(stages) > 0 {
		if counts, err = tr.startCounts(stages, seg, nseg); err != nil {
			return err
		}
	}
	res := make([]result, nseg)
	for i := range res {
		res[i].ready = make(chan struct{})
	}
	window := make(chan struct{}, 2*j.workers)
	stop := make(chan struct{})
	var next atomic.Int64
	inPlace, direct := w.(InPlaceWriter)
	pool := sync.Pool{New: func() any { return &segBuf{b: make([]byte, seg*int64(outDT.Size()))} }}
	var wg sync.WaitGroup
	run := func(r *tensorRun, release func()) {
		defer wg.Done()
		defer release()
		for {
			select {
			case window <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case <-stop:
				<-window
				return
			default:
			}
			s := next.Add(1) - 1
			if s >= int64(nseg) {
				<-window
				return
			}
			for k, st := range stages {
				p, _ := snap.stage(st)
				r.setStage(st, p.after(counts[s][k]))
			}
			from := s * seg
			to := min(from+seg, tr.n)
			size := int64(outDT.Size())
			var dst []byte
			if direct {
				dst = inPlace.SliceAt(from*size, (to-from)*size)
			} else {
				res[s].buf = pool.Get().(*segBuf)
				dst = res[s].buf.b[:(to-from)*size]
			}
			res[s].err = r.span(from, to, outDT, dst, nil)
			close(res[s].ready)
		}
	}
	// The worker's own slot runs one goroutine on tr; each spare slot taken
	// runs another on a helper engine, which is kept for later tensors.
	helpers := 0
	grab := func() {
		for helpers < j.workers-1 {
			r := tr.takeHelper(&snap, helpers)
			if r == nil {
				return
			}
			helpers++
			wg.Add(1)
			go run(r, j.giveSlot)
		}
	}
	wg.Add(1)
	go run(tr, func() {})
	for s := range res {
		grab()
		<-res[s].ready
		if err = res[s].err; err == nil && !direct {
			_, err = w.Write(res[s].buf.b[:min(seg, tr.n-int64(s)*seg)*int64(outDT.Size())])
		}
		if res[s].buf != nil {
			pool.Put(res[s].buf)
		}
		if err != nil {
			break
		}
		<-window
	}
	close(stop)
	wg.Wait()
	return err
}
