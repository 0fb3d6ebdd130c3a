// Package merge combines a base model and its deltas into a new model, the
// way mergekit recipes describe, tensor by tensor and chunk by chunk, so
// memory grows with the chunk (or, for the methods that need a per-tensor
// statistic, with one row or one tensor), never with the model or the
// number of inputs.
//
// Methods: every one mergekit registers (linear, passthrough,
// task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs,
// breadcrumbs_ties, della, della_linear, model_stock, slerp, nuslerp,
// multislerp, karcher, sce, ram, ramplus_tl, arcee_fusion, nearswap),
// and fedavg, median, trimmed_mean and krum, with a clip parameter (a norm
// bound on each delta) on every one. Inputs may be delta releases (dense or
// sparse tensors), PEFT LoRA adapters, full fine-tuned models or the base
// itself. METHODS.md gives each method's exact definition, its parameters
// and defaults, and where and why it departs from mergekit. Each method is
// one value declared in its own file, method_*.go: its parameters and the
// stages the engine runs for it (method.go).
//
// Output bytes depend only on the inputs and the recipe: every method sums
// its inputs in a fixed order, in float32, with no fused multiply-add (each
// product is rounded to float32 before it is added); reductions run in
// float64 over 8 lanes fixed by element index; random masks come from a
// counter-based generator keyed by seed, model and tensor name, in the
// scheme the recipe records (mask_scheme); magnitude cuts are found by
// histograms over the float bits, or taken from a delta's trim statistics
// (merge/trimstats) and checked as the merge goes, with ties broken by
// position. So the output is the same for any number of workers and any
// chunking.
//
// The hot element-wise loops live in merge/kernel: its *_generic.go loops
// are the reference, and its AVX-512 and AVX2 kernels match them bit for
// bit. The weighted sums, the masked methods and the robust ones run fused
// kernels straight on the encoded bytes where their inputs allow
// (METHODS.md, Speed). The kernels_*.go files here are thin wrappers over
// that package, each documented with the loop it computes, beside the few
// loops that stay in this package (slerp's and nuslerp's interpolation, DELLA's row
// masks, the per-element fallback of a magnitude cut, the element-wise
// combiners of nearswap, ram, sce and arcee_fusion, the output's
// finiteness check). The statistics of the spherical methods and
// arcee_fusion use detmath.go's elementary functions, which give the same
// bits on every platform.
//
// Diff makes a delta (finetuned − base) and Apply its inverse: it rebuilds
// the fine-tune, laid out as it was (layout.go), exactly where the delta
// holds the difference exactly (exact.go).
package merge
