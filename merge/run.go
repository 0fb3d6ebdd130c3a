package merge

import (
	"golang.org/x/sync/semaphore"
)

// run is one execution of a plan: the options it runs with (from the Job)
// and the worker slots its goroutines share. Each goroutine merges with an
// engine of its own (engine.go); the plan is only read.
type run struct {
	p        *plan
	workers  int // at least 1
	chunk    int // Job.ChunkElems: elements per chunk; 0 picks by the inputs
	segment  int // elements per segment of a large tensor (segment.go)
	progress func(done, total int)
	// slots counts the workers that have no tensor of their own left: a
	// tensor's merge takes them for its segments and statistics, and gives
	// them back. Nil with one worker, which has nothing to share.
	slots *semaphore.Weighted
}

// segmentElems is the default elements per segment (rounded up to whole
// chunks).
const segmentElems = 1 << 20

// newRun starts a run of p with the job's options.
func newRun(j *Job, p *plan) *run {
	return &run{p: p, workers: max(1, j.Workers), chunk: j.ChunkElems, segment: j.segmentElems(), progress: j.Progress}
}

func (j *Job) segmentElems() int {
	if j.SegmentElems > 0 {
		return j.SegmentElems
	}
	return segmentElems
}

// openSlots makes the run's slot pool with free slots free now.
func (r *run) openSlots(free int) {
	r.slots = nil
	if r.workers > 1 {
		r.slots = semaphore.NewWeighted(int64(r.workers))
		r.slots.TryAcquire(int64(r.workers - free))
	}
}

// takeSlot takes a free slot if there is one now.
func (r *run) takeSlot() bool { return r.slots != nil && r.slots.TryAcquire(1) }

// giveSlot gives a slot back: a helper's when it is done, or a worker's
// when it has no tensor left.
func (r *run) giveSlot() {
	if r.slots != nil {
		r.slots.Release(1)
	}
}
