package merge

import "context"

// A merge method is one value, declared in its own file (method_*.go) and
// registered there: what a recipe may give it (its parameters, how many
// models), whether it chooses its inputs over the whole model before the
// merge (krum), and for each tensor the stages the engine runs, in order:
//
//  1. clip: each delta's norm, and the inner products between deltas the
//     method asks for (gram), in one pass over the raw deltas;
//  2. mask: each input's mask over the tensor (magnitude cuts, random
//     keys, L1 rescaling), one input per spare core;
//  3. stats: the method's own passes over the tensor (slerp's angle,
//     model_stock's ratio), which give the combiner;
//  4. combine: each chunk's output from the base's chunk and the inputs'
//     (loaded, clipped, masked, rescaled), or the fused path when the
//     combiner is a weighted sum the kernels run on the encoded bytes.
//
// The engine asks only these values what to do; it never asks which
// method it runs. A method that does something new brings its stage in
// its own file: a masker, a stats function, a combiner.

// method is one merge method as a recipe names it.
type method struct {
	name      string
	params    map[string]param
	minModels int
	maxModels int // 0: no limit
	// baseIsInput: the base listed among the models is a zero delta the
	// method combines (linear's model soup), not left out as mergekit
	// leaves it out of the task-vector methods.
	baseIsInput bool
	// randomMasks: the method draws random masks (DARE, DELLA), which
	// Recipe.MaskScheme picks the generator of.
	randomMasks bool
	// magnitudeCuts: the method cuts each delta by magnitude (TIES,
	// breadcrumbs), which trim statistics spare a reading pass; a local
	// merge takes them while it hashes its inputs only for such a method.
	magnitudeCuts bool
	// baseOptional lets a recipe leave base_model out, as mergekit lets
	// it for this method: the first model is then the base the output is
	// laid out from, and one of the inputs (a zero delta).
	baseOptional bool
	// weightParam is the per-model parameter Recipe.Weight reports and
	// provenance records ("" for "weight"; a method with no such
	// parameter weighs every model 1).
	weightParam string
	// check refuses, before any model is opened, a recipe that only the
	// method can tell is wrong (nil: none).
	check func(r *Recipe) error
	// plan resolves the merge-wide values (krum's f and m, fedavg's sample
	// counts), refusing bad ones, and returns what plans each tensor.
	plan func(s *mergeScope) (tensorPlanner, error)
	// choose, when set, picks the inputs the method combines by reading
	// the whole model once, before any tensor is merged (krum). The plan
	// is then made again for the inputs it keeps.
	choose func(ctx context.Context, p *plan) ([]bool, error)
}

// tensorPlanner makes one tensor's op from its resolved parameters,
// refusing values that only make sense together (DELLA's density ± ε).
type tensorPlanner func(s *tensorScope) (*tensorOp, error)

// methods are the methods a recipe may name, registered by their files.
var methods = map[string]method{}

func register(m method) {
	if _, dup := methods[m.name]; dup {
		panic("merge: method " + m.name + " registered twice")
	}
	methods[m.name] = m
}

// eachTensor is the plan of a method without merge-wide values.
func eachTensor(fn tensorPlanner) func(*mergeScope) (tensorPlanner, error) {
	return func(*mergeScope) (tensorPlanner, error) { return fn, nil }
}

// tensorOp is a method's work on one tensor, its parameters resolved: the
// stages the engine runs. The plan holds one per float tensor; nothing
// changes it once planned, and every run and goroutine shares it.
type tensorOp struct {
	// clip is τ: each delta is first scaled to a norm of at most τ
	// (0: off).
	clip float64
	// gram asks for inner products of the raw deltas (tensorRun.gram),
	// gathered in the pass that takes their norms for clip.
	gram gramNeed
	// rows makes each chunk hold whole rows (the last dimension), for a
	// mask or a statistic taken per row.
	rows bool
	// mask thins each input's chunk (nil: none).
	mask masker
	// combine combines the chunks; when stats is set, stats returns the
	// combiner instead, after its passes over the tensor.
	combine combiner
	stats   func(tr *tensorRun) (combiner, error)
}

// gramNeed is which inner products ⟨δᵢ, δⱼ⟩ of the raw deltas a tensor's
// statistics need (stats.go).
type gramNeed int

const (
	gramNorms gramNeed = iota // ⟨δᵢ, δᵢ⟩ only, and only when clipping
	gramPairs                 // every pair, over the whole tensor
	gramRows                  // every pair, per row as well
)

// masker makes each input's mask over one tensor: a method's way of
// thinning deltas, with the tensor's per-input parameters.
type masker interface {
	// prepare returns input i's mask (nil: the input is kept whole) and
	// the factor its kept values are scaled by after the mask. It may read
	// the input through tr (magnitude cuts, L1 norms). Inputs are prepared
	// at once on the cores the run has spare, each on a run of its own.
	prepare(tr *tensorRun, i int) (mask, float32, error)
}

// mask zeroes the elements of one input's tensor that a method drops.
type mask interface {
	// apply masks x, the chunk at off. A pass applies it to chunks in
	// element order, from the start of the tensor (or, when the mask is
	// positional, of a segment).
	apply(tr *tensorRun, off int64, x []float32)
}

// combiner computes a chunk's output.
type combiner interface {
	combine(c *chunk)
}

// chunk is what a combiner reads and writes: k elements from off.
type chunk struct {
	off  int64
	cols int64       // the tensor's row length
	base []float32   // the base's elements
	xs   [][]float32 // each input's, in plan order; the combiner may overwrite them
	out  []float32   // the output
	acc  []float32   // scratch
	tmp  []float32   // more scratch
}

// fusable is a combiner that the fused path can run straight on the
// encoded bytes (fused.go): a weighted sum over the base, or a model soup.
type fusable interface {
	fusedSum() fusedSum
}

// fusedSum is the arithmetic of a fusable combiner: with linear,
// out = Σ wᵢ(θ₀ + δᵢ); otherwise out = θ₀ + λ·(Σ wᵢδᵢ)/div, each step
// rounded as the combiner rounds it.
type fusedSum struct {
	linear      bool
	w           []float32 // per input, in plan order
	div, lambda float32
}

// positional is a stage (a mask, or a combiner) that decides some elements
// by how many like them came before in the tensor: a magnitude cut keeps
// only the first of the elements on its key. A pass counts as it goes. A
// segment merged apart (segment.go) starts from a guess at the count of
// the elements before it; once the segments before it are merged the
// guess is checked, and a segment whose guess decided any element
// otherwise than the true count would is merged again.
type positional interface {
	// counting reports whether the stage needs the count at all: not when
	// it decides every element alone after all.
	counting() bool
	// tally returns the stage's count so far.
	tally() tally
	// after returns a copy of the stage that starts after elements whose
	// counts sum to t.
	after(t tally) positional
	// guess returns a start for elements [from, to) of n that decides
	// them as the true start most likely does.
	guess(from, to, n int64) tally
	// same reports whether starting from g decides c counted elements as
	// starting from the true count a does.
	same(g, a, c tally) bool
}

// tally is a positional stage's count (a magnitude mask counts the
// elements on the keys of its two cuts).
type tally [2]int64
