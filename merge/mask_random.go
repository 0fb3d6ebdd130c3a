package merge

import "fmt"

// The random masks: DARE keeps each element with probability density;
// DELLA keeps it with a probability that grows with its magnitude rank in
// its row. Both draw from the counter-based generator of mask.go, so they
// need no statistics pass, only (for rescale_mode: l1) the L1 norms. The
// recipe's mask_scheme picks the generator (mask.go).

var (
	randomMasks = maskSpec{params: map[string]param{"density": pDensity, "rescale_mode": pRescaleBy}, plan: planRandom}
	rankMasks   = maskSpec{params: map[string]param{"density": pDensity, "epsilon": pEpsilon, "rescale_mode": pRescaleBy},
		rows: true, plan: planRank}
)

// randomMasker is a tensor's DARE masks.
type randomMasker struct {
	density []float64
	draws   []drawer
	rescale bool // after the mask: by the L1 norm ratio, or with paper by 1/density
	paper   bool
}

func planRandom(s *tensorScope, rescale bool) (masker, error) {
	d, err := s.perInput("density")
	return &randomMasker{density: d, draws: s.drawers(), rescale: rescale, paper: s.choice("rescale_mode") == "paper"}, err
}

func (m *randomMasker) prepare(tr *tensorRun, i int) (mask, float32, error) {
	d := m.density[i]
	if d >= 1 {
		return nil, 1, nil
	}
	rm := randomMask{d: m.draws[i], p: d}
	switch {
	case !m.rescale:
		return rm, 1, nil
	case m.paper:
		return rm, float32(1 / d), nil
	}
	resc, err := tr.l1Rescale(i, rm)
	return rm, resc, err
}

// randomMask is one input's DARE mask: keep probability p.
type randomMask struct {
	d drawer
	p float64
}

func (m randomMask) apply(_ *tensorRun, off int64, x []float32) { m.d.mask(x, off, m.p) }

// rankMasker is a tensor's DELLA masks.
type rankMasker struct {
	density, eps []float64
	draws        []drawer
	rescale      bool // after the mask: by the L1 norm ratio, or with paper each kept value by 1/p
	paper        bool
}

// planRank refuses a density ± ε that leaves (0, 1): a probability would.
func planRank(s *tensorScope, rescale bool) (masker, error) {
	m := &rankMasker{draws: s.drawers(), rescale: rescale, paper: s.choice("rescale_mode") == "paper"}
	var err error
	if m.density, err = s.perInput("density"); err != nil {
		return nil, err
	}
	if m.eps, err = s.perInput("epsilon"); err != nil {
		return nil, err
	}
	for i, d := range m.density {
		if e := m.eps[i]; d < 1 && (d-e <= 0 || d+e >= 1) {
			return nil, fmt.Errorf("%w: tensor %q: models[%d]: density %v ± epsilon %v must stay inside (0, 1)", ErrRecipe, s.name, s.inputs[i].index, d, e)
		}
	}
	return m, nil
}

func (m *rankMasker) prepare(tr *tensorRun, i int) (mask, float32, error) {
	d := m.density[i]
	if d >= 1 {
		return nil, 1, nil
	}
	rm := rankMask{d: m.draws[i], density: d, eps: m.eps[i], paper: m.paper && m.rescale}
	if !m.rescale || m.paper {
		return rm, 1, nil
	}
	resc, err := tr.l1Rescale(i, rm)
	return rm, resc, err
}

// rankMask is one input's DELLA mask, row by row.
type rankMask struct {
	d            drawer
	density, eps float64
	paper        bool // each kept value multiplied by 1/p
}

func (m rankMask) apply(tr *tensorRun, off int64, x []float32) {
	e := tr.e
	if int64(len(e.order)) < tr.cols {
		e.order = make([]uint64, tr.cols)
	}
	for r := int64(0); r < int64(len(x)); r += tr.cols {
		dellaRow(x[r:r+tr.cols], m.d, off+r, m.density, m.eps, m.paper, e.order)
	}
}
