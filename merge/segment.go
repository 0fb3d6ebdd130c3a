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
// order: its readers read any range. (A magnitude cut that keeps only the
// first of the elements on its key gets, per segment, how many of them
// came before: tieCounts.)
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

// tieCounts returns, for each segment of seg elements and each input, how
// many elements on the key of its lo and hi cuts the segments before it
// hold: the seen counts a segment's cuts start from. It returns nil when
// every cut is stateless. The counts take one more read of the inputs with
// such cuts, on every core the job has spare.
func (tr *tensorRun) tieCounts(seg int64, nseg int) ([][]int64, [][]int64, error) {
	var todo []int
	for i := range tr.rd {
		if !tr.lo[i].stateless() || !tr.hi[i].stateless() {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil, nil, nil
	}
	lo, hi := make([][]int64, nseg+1), make([][]int64, nseg+1)
	for s := range lo {
		lo[s], hi[s] = make([]int64, len(tr.rd)), make([]int64, len(tr.rd))
	}
	err := tr.fanOut(nseg, func(r *tensorRun, s int) error {
		from := int64(s) * seg
		for _, i := range todo {
			x := r.e.xs[i]
			for off := from; off < min(from+seg, tr.n); off += int64(r.chunk) {
				k := int(min(int64(r.chunk), tr.n-off))
				if err := r.load(i, off, x[:k], false); err != nil {
					return err
				}
				lo[s+1][i] += r.lo[i].countKey(x[:k])
				hi[s+1][i] += r.hi[i].countKey(x[:k])
			}
		}
		return nil
	})
	for s := 1; s <= nseg; s++ { // prefix sums: segment s starts after s−1
		for i := range tr.rd {
			lo[s][i] += lo[s-1][i]
			hi[s][i] += hi[s-1][i]
		}
	}
	return lo, hi, err
}

// clone returns a run of the same tensor for another engine, its prepared
// state (clipping, rescaling, cuts, model_stock's t, slerp's coefficients,
// the fused plan) copied.
func (tr *tensorRun) clone(e *engine) (*tensorRun, error) {
	c, err := e.newRun(tr.bt)
	if err != nil {
		return nil, err
	}
	copy(c.clip, tr.clip)
	copy(c.resc, tr.resc)
	copy(c.lo, tr.lo)
	copy(c.hi, tr.hi)
	c.stockT, c.s0, c.s1, c.fused = tr.stockT, tr.s0, tr.s1, tr.fused
	c.chunk = tr.chunk
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
	type result struct {
		buf   *segBuf
		err   error
		ready chan struct{}
	}
	tiesLo, tiesHi, err := tr.tieCounts(seg, nseg)
	if err != nil {
		return err
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
			if tiesLo != nil {
				for i := range r.lo {
					r.lo[i].seen, r.hi[i].seen = tiesLo[s][i], tiesHi[s][i]
				}
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
	// Helpers clone the prepared state from a copy: tr's own cut states
	// change as its goroutine moves from segment to segment.
	snap := *tr
	snap.lo, snap.hi = slices.Clone(tr.lo), slices.Clone(tr.hi)
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
