// Package studygroup runs Potluck's study group on real data and measures
// whether it learns: labs that each continue training a shared model on
// their own, differently skewed data, and merge what they publish, should end
// up with a model better than any of them alone, and better round after
// round.
//
// The model is a small MLP (package internal/mlp: 784-64-10, ReLU) and the
// data the embedded MNIST subset (package internal/mnist: 6,000 training
// and 2,000 test images). Run simulates everything but the hub; the merge is
// injected (Options.Merge), so the hub's merge can replace the local Mean,
// TIES or Median without changing anything else. RESULTS.md beside this
// file has the measurements, including the settings where the claim fails.
//
// # The protocol
//
// Round 0: the base is a freshly initialised MLP trained by SGD on a small
// public, unskewed slice, so that it starts well above chance: the first
// Options.PublicSamples training images of the subset (300 by default: MNIST
// training images 0, 10, ..., 2990), Options.BaseEpochs passes (3; the
// default base scores 0.735 on the test set).
//
// Round r ≥ 1: every lab starts from the current model (the base, then the
// last merge), fine-tunes it for Options.Epochs passes over its own
// training split and writes the result as a checkpoint; the merge combines
// the checkpoints into the next current model. Each lab's fine-tune, the
// merge and the reference are scored on every lab's held-out split and on
// the full test set. Each lab alone is scored too: the lab's own model
// trained from the base on its split for as many steps, never merging.
//
// The centralised reference starts from the same base and is trained on the
// union of the labs' (honest) training splits, for as many SGD steps each
// round as all the labs together took that round, with the same batch size
// and learning rate.
//
// # The split (see Split)
//
// Training images 0 to PublicSamples−1 of the subset form the public slice.
// The rest, in order, form the pool; pool image j is shared when
// ⌊(j+1)·f⌋ > ⌊j·f⌋ for f = IIDFraction (so exactly every 10th image for
// f = 0.1), and the shared images are dealt to the labs in turn (the i-th
// to lab i mod L), whatever their digit. Every other image goes to the lab
// that owns its digit: digit d belongs to lab ⌊d·L/10⌋, so for 3 labs lab
// 0 owns 0-3, lab 1 4-6 and lab 2 7-9; for 2 labs 0-4 and 5-9; for 10 labs
// one digit each. Of each lab's images, in order, every 5th (positions 4,
// 9, 14, ...) is held out and the rest are its training split, so the
// held-out split has the lab's skew. The test set is the whole embedded
// test subset, balanced.
//
// # Checkpoints
//
// Every model is written as a directory (mlp.Save): config.json and
// model.safetensors with fc1.weight [64, 784], fc1.bias [64], fc2.weight
// [10, 64] and fc2.bias [10], all F32. Under Options.Dir:
//
//	base/                 round 0
//	round-1/lab-0/ ...    each lab's published fine-tune
//	round-1/merge/        MergeRequest.Out (the local merges write here)
//	round-1/reference/    the centralised reference after round 1
//	...
//
// # Determinism
//
// Every model is trained on one goroutine in a fixed order, from
// generators seeded by Options.Seed, the round and the lab; different
// models (the labs, each lab alone, the reference) train and are scored in
// parallel, which changes no bit. Two runs with the same options give the
// same numbers and the same checkpoint bytes (on one platform: exp and log
// come from Go's math package).
package studygroup
