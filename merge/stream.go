package merge

import (
	"context"
	"fmt"
	"io"
)

// InPlaceWriter is an output in memory (a buffer, a mapped file) that the
// merge writes into in place, rather than through Write: SliceAt returns
// the n bytes at offset off of the tensor's output. Calls for disjoint
// ranges may come from several goroutines at once.
type InPlaceWriter interface {
	io.Writer
	SliceAt(off, n int64) []byte
}

// WriteTensor merges the base tensor name and writes its bytes, in the
// output dtype, to w (in place when w is an InPlaceWriter): what Run does
// for each tensor, without the shards,
// hashes and manifest. Workers goroutines share the tensor's segments. It
// is for benchmarks and tools that stream one tensor; calls reuse one
// engine's buffers, so they must not run concurrently.
func (j *Job) WriteTensor(ctx context.Context, name string, w io.Writer) error {
	if j.plan == nil {
		if _, err := j.newPlan(ctx); err != nil {
			return err
		}
	}
	bt, ok := j.Base.Tensor(name)
	if !ok {
		return fmt.Errorf("%w: tensor %q is not in the base %s", ErrIncompatible, name, j.Base.Name)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if j.stream == nil || j.stream.r.p != j.plan {
		r := newRun(j, j.plan)
		j.stream = &stream{r: r, e: newEngine(r)}
	}
	r := j.stream.r
	r.workers, r.segment = max(1, j.Workers), j.segmentElems() // as they are now
	r.openSlots(r.workers - 1)                                 // the caller's goroutine is the first worker
	return j.stream.e.mergeTensor(bt, j.Recipe.outDType(bt.DType), w)
}

// stream is WriteTensor's run of the job's plan and the engine it keeps
// for later calls.
type stream struct {
	r *run
	e *engine
}
