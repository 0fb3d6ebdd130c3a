package studygroup

import (
	"context"
	"errors"
	"fmt"
)

// Options configures a study group. Start from DefaultOptions.
type Options struct {
	Labs   int // labs in the group, 2 to 10
	Rounds int // rounds of fine-tune and merge

	Hidden    int     // hidden units of the MLP
	BatchSize int     // images per SGD step
	LR        float32 // SGD learning rate, for the base, the labs and the reference
	Momentum  float32 // SGD momentum (0: plain SGD); it restarts at 0 for every fine-tune
	Epochs    int     // passes over its training split a lab makes each round

	PublicSamples int     // training images 0..PublicSamples-1 train the base
	BaseEpochs    int     // passes over them
	IIDFraction   float64 // fraction of the pool dealt to the labs regardless of digit, in [0, 1]

	Seed uint64 // seeds the base's initialisation and every shuffle

	// Poison makes lab PoisonLab dishonest (NoPoison by default).
	Poison    Poison
	PoisonLab int
	// PoisonScale multiplies the poisoned lab's delta under ScaledDelta.
	PoisonScale float32

	// Merge merges each round; nil means Mean. MergeName names it in the
	// table ("mean" when Merge is nil).
	Merge     MergeFunc
	MergeName string

	// Start, when set, is called once the base is written, with its
	// directory, before round 1; the labs start round 1 from the
	// directory it returns (a hub registers the base and hands back the
	// copy a lab pulled). Nil: they start from the base as written.
	Start func(ctx context.Context, base string) (string, error)
	// Scored, when set, is called after each round with the merge's
	// directory (as Merge returned it) and its scores (a hub's labs attest
	// them).
	Scored func(ctx context.Context, round int, merge string, s Scores) error

	// Dir receives the checkpoints; empty means a temporary directory,
	// removed when Run returns.
	Dir string

	// Workers bounds the models trained or scored at once; 0 means
	// GOMAXPROCS. It changes no result.
	Workers int
}

// Poison is the way a dishonest lab misbehaves.
type Poison int

const (
	// NoPoison: every lab is honest.
	NoPoison Poison = iota
	// ShuffledLabels: the lab trains on its images with their labels
	// permuted among them (a fixed permutation, drawn once).
	ShuffledLabels
	// ScaledDelta: the lab trains honestly but publishes
	// base + PoisonScale·(fine-tune − base).
	ScaledDelta
)

func (p Poison) String() string {
	switch p {
	case NoPoison:
		return "none"
	case ShuffledLabels:
		return "shuffled-labels"
	case ScaledDelta:
		return "scaled-delta"
	}
	return fmt.Sprintf("Poison(%d)", int(p))
}

// DefaultOptions returns the configuration the demo runs: 3 labs, 4 rounds,
// a 784-64-10 MLP, batches of 32, SGD at 0.05 with momentum 0.9, 2 epochs a round, a
// base trained for 3 passes over 300 public images, 10% of the pool shared.
func DefaultOptions() Options {
	return Options{
		Labs: 3, Rounds: 4,
		Hidden: 64, BatchSize: 32, LR: 0.05, Momentum: 0.9, Epochs: 2,
		PublicSamples: 300, BaseEpochs: 3, IIDFraction: 0.1,
		Seed:      1,
		PoisonLab: 2, PoisonScale: 20,
	}
}

// ErrOptions says that the options cannot run.
var ErrOptions = errors.New("studygroup: bad options")

// Check reports the first option that cannot run (wrapping ErrOptions).
func (o *Options) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrOptions, fmt.Sprintf(format, args...))
	}
	switch {
	case o.Labs < 2 || o.Labs > 10:
		return bad("%d labs, want 2 to 10", o.Labs)
	case o.Rounds < 1:
		return bad("%d rounds, want at least 1", o.Rounds)
	case o.Hidden < 1 || o.BatchSize < 1 || o.Epochs < 1 || o.BaseEpochs < 0:
		return bad("hidden %d, batch %d, epochs %d, base epochs %d: want positive sizes", o.Hidden, o.BatchSize, o.Epochs, o.BaseEpochs)
	case !(o.LR > 0) || !(o.Momentum >= 0 && o.Momentum < 1):
		return bad("learning rate %g, momentum %g: want rate > 0 and momentum in [0, 1)", o.LR, o.Momentum)
	case !(o.IIDFraction >= 0 && o.IIDFraction <= 1):
		return bad("IID fraction %g, want [0, 1]", o.IIDFraction)
	case o.PublicSamples < 1:
		return bad("%d public samples, want at least 1", o.PublicSamples)
	case o.Poison != NoPoison && (o.PoisonLab < 0 || o.PoisonLab >= o.Labs):
		return bad("poisoned lab %d of %d", o.PoisonLab, o.Labs)
	case o.Poison < NoPoison || o.Poison > ScaledDelta:
		return bad("poison %v", o.Poison)
	}
	return nil
}
