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
// from the count of the elements before it, or a guess at it that the
// writer checks (speculation), so segments give the bits one pass gives.

// segmentable reports whether the tensor's chunks may be merged in any
// order: its readers read any range. (A positional stage starts each
// segment from a guess, checked once the segments before it are merged:
// speculation.)
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

// speculation is how a tensor's positional stages start its segments:
// each segment from the true count of the segments before it when they
// are all merged by the time it starts, else from its stages' guesses.
// The writer, which takes the segments in order, knows the true start of
// each; a segment whose guess decided some element otherwise is merged
// again from it. No read of the inputs goes to counting: a segment's count
// of its elements does not depend on where it started.
type speculation struct {
	snap    *tensorRun // the stages, as prepared
	stages  []int
	mu      sync.Mutex
	merged  []bool
	starts  [][]tally // per segment and stage: the start it was merged from
	counts  [][]tally // per segment and stage: its count
	checked []statCounts
	done    int     // the segments merged from 0 on, without a gap
	prefix  []tally // per stage: the count of those
	redoRun *tensorRun
}

func newSpeculation(snap *tensorRun, stages []int, nseg int) *speculation {
	return &speculation{snap: snap, stages: stages, merged: make([]bool, nseg), starts: make([][]tally, nseg),
		counts: make([][]tally, nseg), checked: make([]statCounts, nseg), prefix: make([]tally, len(stages))}
}

// alwaysGuess makes every segment but the first (whose stages reset at
// element 0) start from its guess, even one whose true start is known, so
// that tests see wrong guesses merged again whatever order the workers
// take the segments in.
var alwaysGuess bool

// start sets x's stages to start segment s, elements [from, to) of n.
func (sp *speculation) start(x *tensorRun, s int, from, to, n int64) {
	sp.mu.Lock()
	st := make([]tally, len(sp.stages))
	for k, stage := range sp.stages {
		p, _ := sp.snap.stage(stage)
		if sp.done == s && (!alwaysGuess || s == 0) {
			st[k] = sp.prefix[k]
		} else {
			st[k] = p.guess(from, to, n)
		}
		x.setStage(stage, p.after(st[k]))
	}
	sp.starts[s] = st
	sp.mu.Unlock()
}

// merged records segment s, merged by x: its stages' counts and what its
// cuts counted for their checks.
func (sp *speculation) record(x *tensorRun, s int) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	c := make([]tally, len(sp.stages))
	for k, stage := range sp.stages {
		p, _ := x.stage(stage)
		t := p.tally()
		c[k] = tally{t[0] - sp.starts[s][k][0], t[1] - sp.starts[s][k][1]}
	}
	sp.counts[s], sp.checked[s], sp.merged[s] = c, x.counted(), true
	for sp.done < len(sp.merged) && sp.merged[sp.done] {
		for k := range sp.prefix {
			sp.prefix[k][0] += sp.counts[sp.done][k][0]
			sp.prefix[k][1] += sp.counts[sp.done][k][1]
		}
		sp.done++
	}
}

// settle makes sure segment s, merged, was merged from a start that
// decides every element as its true start does, merging it again (into
// dst()) from the true start when not, and returns what it counted for its
// checks. The segments before it are written.
func (sp *speculation) settle(tr *tensorRun, s int, from, to int64, outDT safetensors.DType, dst func() []byte) (statCounts, error) {
	sp.mu.Lock()
	exact := make([]tally, len(sp.stages))
	for t := range s {
		for k := range exact {
			exact[k][0] += sp.counts[t][k][0]
			exact[k][1] += sp.counts[t][k][1]
		}
	}
	ok := true
	for k, stage := range sp.stages {
		p, _ := sp.snap.stage(stage)
		ok = ok && p.same(sp.starts[s][k], exact[k], sp.counts[s][k])
	}
	checked := sp.checked[s]
	sp.mu.Unlock()
	if ok {
		return checked, nil
	}
	if sp.redoRun == nil {
		r, err := sp.snap.clone(newEngine(tr.e.r))
		if err != nil {
			return nil, err
		}
		sp.redoRun = r
	}
	x := sp.redoRun
	for k, stage := range sp.stages {
		p, _ := sp.snap.stage(stage)
		x.setStage(stage, p.after(exact[k]))
	}
	x.startCounting()
	segmentsRedone.Add(1)
	err := x.span(from, to, outDT, dst(), nil)
	return x.counted(), err
}

// segmentsRedone counts the segments merged again, for tests.
var segmentsRedone atomic.Int64

// parallel merges the tensor in segments on this worker's slot and any
// spare ones, writing them to w in order. It returns what the segments'
// cut masks counted of their trim statistics (trim.go).
func (tr *tensorRun) parallel(outDT safetensors.DType, w io.Writer) (statCounts, error) {
	r := tr.e.r
	seg := (int64(r.segment) + int64(tr.chunk) - 1) / int64(tr.chunk) * int64(tr.chunk)
	sg := newSegments(tr.n, seg, outDT, w, 2*r.workers)
	// Helpers clone the prepared state from a copy: tr's own positional
	// stages change as its goroutine moves from segment to segment.
	snap := *tr
	snap.masks = slices.Clone(tr.masks)
	sp := newSpeculation(&snap, tr.counting(), sg.count)
	ctx, stop := context.WithCancel(context.Background())
	work := func(x *tensorRun) {
		for s := sg.take(ctx); s >= 0; s = sg.take(ctx) {
			from, to := sg.bounds(s)
			sp.start(x, s, from, to, tr.n)
			x.startCounting()
			err := x.span(from, to, outDT, sg.dst(s), nil)
			sp.record(x, s)
			sg.done(s, err)
		}
	}
	// The worker's own slot runs one goroutine on tr; each spare slot taken,
	// as slots free up, runs another on a helper engine.
	var wg sync.WaitGroup
	wg.Go(func() { work(tr) })
	helpers := 0
	var err error
	var checked statCounts
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
		if err = sg.wait(s); err != nil {
			break
		}
		from, to := sg.bounds(s)
		var c statCounts
		if c, err = sp.settle(tr, s, from, to, outDT, func() []byte { return sg.dst(s) }); err != nil {
			break
		}
		checked.add(c)
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
	mu      sync.Mutex
	places  [][]byte // in place: each segment's slice of the output
}

func newSegments(n, seg int64, outDT safetensors.DType, w io.Writer, window int) *segments {
	sg := &segments{n: n, seg: seg, count: int((n + seg - 1) / seg), size: int64(outDT.Size()), w: w,
		window: semaphore.NewWeighted(int64(window)), ring: make([][]byte, window)}
	sg.inPlace, _ = w.(InPlaceWriter)
	if sg.inPlace != nil {
		sg.places = make([][]byte, sg.count)
	}
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

// dst is where segment s is merged: its place in the output (asked of the
// writer once), or its ring buffer.
func (sg *segments) dst(s int) []byte {
	from, to := sg.bounds(s)
	if sg.inPlace != nil {
		sg.mu.Lock()
		defer sg.mu.Unlock()
		if sg.places[s] == nil {
			sg.places[s] = sg.inPlace.SliceAt(from*sg.size, (to-from)*sg.size)
		}
		return sg.places[s]
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

// wait waits for segment s to be merged and returns its error.
func (sg *segments) wait(s int) error {
	<-sg.ready[s]
	return sg.errs[s]
}

// write writes segment s, merged (unless it is already in place), then
// makes room in the window. An error leaves the window full: no goroutine
// takes another segment.
func (sg *segments) write(s int) error {
	var err error
	if sg.inPlace == nil {
		from, to := sg.bounds(s)
		_, err = sg.w.Write(sg.ring[s%len(sg.ring)][:(to-from)*sg.size])
	}
	if err == nil {
		sg.window.Release(1)
	}
	return err
}
