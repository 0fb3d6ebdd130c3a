package studygroup

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/potluck-hub/potluck/internal/mlp"
	"github.com/potluck-hub/potluck/internal/mnist"
)

// Run runs a study group with opts on the embedded MNIST subset and returns
// its scores, round by round, leaving every checkpoint in opts.Dir. The
// default options take about 2-3 s of CPU.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	train, err := mnist.Train()
	if err != nil {
		return nil, err
	}
	test, err := mnist.Test()
	if err != nil {
		return nil, err
	}
	data, err := Split(train, test, opts.Labs, opts.IIDFraction, opts.PublicSamples)
	if err != nil {
		return nil, err
	}
	if opts.Merge == nil {
		opts.Merge, opts.MergeName = Mean, "mean"
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Dir == "" {
		dir, err := os.MkdirTemp("", "studygroup-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		opts.Dir = dir
	}
	s := &study{opts: opts, data: data}
	return s.run(ctx)
}

type study struct {
	opts Options
	data *Data
}

// Streams of the random generators, beside the seed.
const (
	streamBase = 1 << 32
	streamRef  = 2 << 32
	streamLab  = 3 << 32 // + round<<8 + lab
	streamLie  = 4 << 32
)

func (s *study) rng(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(s.opts.Seed, stream))
}

func (s *study) run(ctx context.Context) (*Result, error) {
	o := s.opts
	c := mlp.Config{Inputs: mnist.Pixels, Hidden: o.Hidden, Classes: mnist.Classes}
	base := s.trainBase(c)
	current := filepath.Join(o.Dir, "base")
	if err := mlp.Save(current, base); err != nil {
		return nil, err
	}
	if o.Start != nil {
		var err error
		if current, err = o.Start(ctx, current); err != nil {
			return nil, fmt.Errorf("the base: %w", err)
		}
	}
	labTrain := s.labTrain()
	res := &Result{Options: o, Data: summarize(s.data), Base: s.score(base)}

	solo := make([]*mlp.Net[float32], o.Labs)
	ref := base.Clone()
	refTr := mlp.NewTrainer(ref, o.LR, o.Momentum)
	refBatches := newBatches(s.data.Union(), o.BatchSize, s.rng(streamRef))
	for r := 1; r <= o.Rounds; r++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start, err := mlp.Load(current)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", r, err)
		}
		round, dirs, err := s.trainRound(r, start, labTrain, solo, refTr, refBatches)
		if err != nil {
			return nil, err
		}
		merged, err := o.Merge(ctx, MergeRequest{Round: r, Base: current, Labs: dirs, Out: s.dir(r, "merge"), Samples: s.samples()})
		if err != nil {
			return nil, fmt.Errorf("round %d: merge: %w", r, err)
		}
		m, err := mlp.Load(merged)
		if err != nil {
			return nil, fmt.Errorf("round %d: the merge's output: %w", r, err)
		}
		if m.Config != c {
			return nil, fmt.Errorf("round %d: the merge has sizes %+v, want %+v", r, m.Config, c)
		}
		round.Merge = s.score(m)
		if o.Scored != nil {
			if err := o.Scored(ctx, r, merged, round.Merge); err != nil {
				return nil, fmt.Errorf("round %d: the merge's scores: %w", r, err)
			}
		}
		res.Rounds = append(res.Rounds, round)
		current = merged
	}
	return res, nil
}

// trainBase returns a network of size c initialised from the seed and
// trained for BaseEpochs passes over the public slice.
func (s *study) trainBase(c mlp.Config) *mlp.Net[float32] {
	base := mlp.New[float32](c, s.opts.Seed)
	tr := mlp.NewTrainer(base, s.opts.LR, s.opts.Momentum)
	b := newBatches(s.data.Public, s.opts.BatchSize, s.rng(streamBase))
	for range s.opts.BaseEpochs * b.perEpoch() {
		tr.Step(b.next())
	}
	return base
}

// samples returns how many training images each lab holds.
func (s *study) samples() []int {
	n := make([]int, len(s.data.Labs))
	for k, l := range s.data.Labs {
		n[k] = len(l.Train)
	}
	return n
}

func (s *study) dir(round int, name string) string {
	return filepath.Join(s.opts.Dir, fmt.Sprintf("round-%d", round), name)
}

// labTrain returns each lab's training split as it trains on it: the
// poisoned lab's labels permuted under ShuffledLabels.
func (s *study) labTrain() [][]Sample {
	out := make([][]Sample, len(s.data.Labs))
	for k, l := range s.data.Labs {
		out[k] = l.Train
	}
	if s.opts.Poison == ShuffledLabels {
		k := s.opts.PoisonLab
		lied := append([]Sample(nil), out[k]...)
		perm := s.rng(streamLie).Perm(len(lied))
		for i, p := range perm {
			lied[i].Label = out[k][p].Label
		}
		out[k] = lied
	}
	return out
}

// trainRound fine-tunes every lab from start, advances each lab's solo
// model and the reference by as many steps as they took, in parallel;
// it writes each lab's published checkpoint and the reference, and scores
// the fine-tunes, the solo models and the reference.
func (s *study) trainRound(r int, start *mlp.Net[float32], labTrain [][]Sample, solo []*mlp.Net[float32], refTr *mlp.Trainer[float32], refBatches *batches) (Round, []string, error) {
	o, L := s.opts, s.opts.Labs
	labs := make([]*mlp.Net[float32], L)
	steps := 0
	for _, t := range labTrain {
		steps += o.Epochs * newBatches(t, o.BatchSize, nil).perEpoch()
	}
	// Task k < L fine-tunes lab k; L ≤ k < 2L trains lab k−L alone; 2L is
	// the reference. A lab's solo model sees the same batches as its
	// fine-tune, so in round 1, when both start from the base, they are
	// the same and the solo model is a copy.
	s.parallel(2*L+1, func(k int) {
		switch {
		case k == 2*L:
			for range steps {
				refTr.Step(refBatches.next())
			}
		case k < L:
			labs[k] = start.Clone()
			s.fineTune(labs[k], labTrain[k], r, k)
		case r > 1:
			s.fineTune(solo[k-L], labTrain[k-L], r, k-L)
		}
	})
	if r == 1 {
		for k, l := range labs {
			solo[k] = l.Clone()
		}
	}
	if err := mlp.Save(s.dir(r, "reference"), refTr.Net); err != nil {
		return Round{}, nil, err
	}
	dirs := make([]string, L)
	for k, l := range labs {
		dirs[k] = s.dir(r, fmt.Sprintf("lab-%d", k))
		if o.Poison == ScaledDelta && k == o.PoisonLab {
			l = scaled(start, l, o.PoisonScale)
		}
		if err := mlp.Save(dirs[k], l); err != nil {
			return Round{}, nil, err
		}
	}
	models := append(append(labs, solo...), refTr.Net)
	scores := make([]Scores, len(models))
	s.parallel(len(models), func(k int) { scores[k] = s.score(models[k]) })
	return Round{Round: r, Steps: steps, Labs: scores[:L], Solo: scores[L : 2*L], Reference: scores[2*L]}, dirs, nil
}

// fineTune trains n for Epochs passes over data, shuffled by the stream of
// round r and lab k.
func (s *study) fineTune(n *mlp.Net[float32], data []Sample, r, k int) {
	tr := mlp.NewTrainer(n, s.opts.LR, s.opts.Momentum)
	b := newBatches(data, s.opts.BatchSize, s.rng(streamLab+uint64(r)<<8+uint64(k)))
	for range s.opts.Epochs * b.perEpoch() {
		tr.Step(b.next())
	}
}

// scaled returns start + f·(n − start).
func scaled(start, n *mlp.Net[float32], f float32) *mlp.Net[float32] {
	out := n.Clone()
	for t, w := range out.Tensors() {
		b := start.Tensors()[t].Data
		for i := range w.Data {
			w.Data[i] = b[i] + f*(w.Data[i]-b[i])
		}
	}
	return out
}

// score returns n's accuracy on the test set and every lab's held-out split.
func (s *study) score(n *mlp.Net[float32]) Scores {
	sc := Scores{Test: n.Accuracy(s.data.Test), HeldOut: make([]float64, len(s.data.Labs))}
	for k, l := range s.data.Labs {
		sc.HeldOut[k] = n.Accuracy(l.HeldOut)
	}
	return sc
}

// parallel calls f(0), ..., f(n-1) on at most Workers goroutines.
func (s *study) parallel(n int, f func(int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.opts.Workers)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// batches deals a data set in shuffled minibatches of size (the last of
// each pass smaller when size does not divide it), reshuffling every pass.
type batches struct {
	data  []Sample
	size  int
	rng   *rand.Rand
	order []int
	pos   int
	buf   []Sample
}

func newBatches(data []Sample, size int, rng *rand.Rand) *batches {
	return &batches{data: data, size: size, rng: rng, pos: len(data)}
}

// perEpoch returns the number of batches in one pass.
func (b *batches) perEpoch() int { return (len(b.data) + b.size - 1) / b.size }

func (b *batches) next() []Sample {
	if b.pos >= len(b.data) {
		b.order = b.rng.Perm(len(b.data))
		b.pos = 0
	}
	end := min(b.pos+b.size, len(b.data))
	b.buf = b.buf[:0]
	for _, i := range b.order[b.pos:end] {
		b.buf = append(b.buf, b.data[i])
	}
	b.pos = end
	return b.buf
}
