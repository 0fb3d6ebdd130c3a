package merge

import (
	"math"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/merge/kernel"
)

// The random masks' schemes: scheme 1 is kept as it was (its known
// symmetry included, which merges recorded with it depend on); scheme 2's
// masks are independent across seeds, models, tensors and the four
// elements of one draw, and keep each element with its probability.

// keepBits draws n keep decisions of one input's tensor at probability p.
func keepBits(d drawer, n int, p float64) []bool {
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	d.mask(x, 0, p)
	out := make([]bool, n)
	for i, v := range x {
		out[i] = v != 0
	}
	return out
}

// correlation is the Pearson correlation of two keep sequences.
func correlation(a, b []bool) float64 {
	var sa, sb, sab float64
	for i := range a {
		x, y := b2f(a[i]), b2f(b[i])
		sa, sb, sab = sa+x, sb+y, sab+x*y
	}
	n := float64(len(a))
	ma, mb := sa/n, sb/n
	cov := sab/n - ma*mb
	return cov / math.Sqrt(ma*(1-ma)*mb*(1-mb))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestMaskScheme1Symmetric pins scheme 1 as recorded merges made it,
// including the defect scheme 2 removes: seed 2's model 0 draws exactly
// seed 1's model 1's mask.
func TestMaskScheme1Symmetric(t *testing.T) {
	a := keepBits(newDrawer(1, 2, 0, "w"), 4096, 0.5)
	b := keepBits(newDrawer(1, 1, 1, "w"), 4096, 0.5)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("element %d differs: scheme 1 changed", i)
		}
	}
	if newDrawer(0, 5, 3, "w") != newDrawer(1, 5, 3, "w") {
		t.Fatal("mask_scheme unset is not scheme 1")
	}
}

// TestMaskScheme2Independent checks that scheme 2's masks are unrelated
// where scheme 1's coincide or could: seed against model, neighbouring
// seeds, models and tensors, and the four fields of one draw (element i
// against element i+1 of the same mask). With n = 2²⁰ a correlation's
// standard error is 2⁻¹⁰; every one must stay within 5 of them.
func TestMaskScheme2Independent(t *testing.T) {
	const n = 1 << 20
	const p = 0.5
	pairs := []struct {
		name string
		a, b drawer
	}{
		{"seed 2 model 0 / seed 1 model 1", newDrawer(2, 2, 0, "w"), newDrawer(2, 1, 1, "w")},
		{"seed 0 model 0 / seed 0 model 1", newDrawer(2, 0, 0, "w"), newDrawer(2, 0, 1, "w")},
		{"seed 0 / seed 1", newDrawer(2, 0, 0, "w"), newDrawer(2, 1, 0, "w")},
		{"tensor w / tensor v", newDrawer(2, 0, 0, "w"), newDrawer(2, 0, 0, "v")},
		{"model 1 / model 2 (v)", newDrawer(2, 7, 1, "v"), newDrawer(2, 7, 2, "v")},
	}
	bound := 5.0 / math.Sqrt(n)
	for _, pc := range pairs {
		a, b := keepBits(pc.a, n, p), keepBits(pc.b, n, p)
		if c := correlation(a, b); math.Abs(c) > bound {
			t.Errorf("%s: correlation %.5f, beyond ±%.5f", pc.name, c, bound)
		} else {
			t.Logf("%s: correlation %+.5f", pc.name, c)
		}
	}
	// Neighbours inside one draw and across draws.
	a := keepBits(newDrawer(2, 0, 0, "w"), n+4, p)
	for lag := 1; lag <= 4; lag++ {
		if c := correlation(a[:n], a[lag:lag+n]); math.Abs(c) > bound {
			t.Errorf("lag %d: correlation %.5f, beyond ±%.5f", lag, c, bound)
		} else {
			t.Logf("lag %d: correlation %+.5f", lag, c)
		}
	}
}

// TestMaskScheme2KeepRate compares scheme 2 with the Bernoulli mask
// mergekit draws: at the middle of every decile of the density range, the
// kept fraction of 2²² elements is within 5 standard errors of p (its
// keep probability ⌈p·2¹⁶⌉/2¹⁶ is within 2⁻¹⁶ of p), and a chi-square test
// of the 16-bit uniforms over 256 equal bins does not reject uniformity.
func TestMaskScheme2KeepRate(t *testing.T) {
	const n = 1 << 22
	d := newDrawer(2, 42, 3, "model.layers.0.mlp.up_proj.weight")
	for dec := range 10 {
		p := (float64(dec) + 0.5) / 10
		pe := float64(keep16(p)) / (1 << 16)
		if pe < p || pe-p > 1.0/(1<<16) {
			t.Fatalf("p = %v: keep probability %v", p, pe)
		}
		kept := 0
		for _, k := range keepBits(d, n, p) {
			if k {
				kept++
			}
		}
		rate, se := float64(kept)/n, math.Sqrt(p*(1-p)/n)
		z := (rate - pe) / se
		if math.Abs(z) > 5 {
			t.Errorf("p = %.2f: kept %.6f, %.1f standard errors from %.6f", p, rate, z, pe)
		}
		t.Logf("p = %.2f: kept %.6f (%+.2f s.e.)", p, rate, z)
	}
	var bins [256]float64
	for i := range n {
		bins[kernel.DARE2Uniform(d.key, uint64(i))>>8]++
	}
	var chi2 float64
	for _, c := range bins {
		e := float64(n) / 256
		chi2 += (c - e) * (c - e) / e
	}
	// 255 degrees of freedom: mean 255, standard deviation √510 ≈ 22.6.
	if chi2 > 255+6*math.Sqrt(510) {
		t.Errorf("chi-square of the uniforms over 256 bins: %.1f (255 degrees of freedom)", chi2)
	}
	t.Logf("chi-square over 256 bins: %.1f (255 degrees of freedom)", chi2)
}

// A recipe without mask_scheme (every merge recorded before scheme 2) stays
// scheme 1, and its canonical form does not change; PinMaskScheme gives a
// new merge of a method with random masks scheme 2, and only those.
func TestMaskSchemeRecipe(t *testing.T) {
	parse := func(extra string) (*Recipe, error) {
		return ParseRecipe([]byte("merge_method: dare_ties\nbase_model: b\nmodels:\n  - model: m\n" + extra))
	}
	for _, bad := range []string{"mask_scheme: 3", "mask_scheme: -1"} {
		if _, err := parse(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	r, err := parse("")
	if err != nil {
		t.Fatal(err)
	}
	canon, err := r.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"merge_method":"dare_ties","base_model":"b","models":[{"model":"m"}]}`; string(canon) != want {
		t.Errorf("canonical recipe %s, want %s", canon, want)
	}
	r.PinMaskScheme()
	if r.MaskScheme != 2 {
		t.Errorf("pinned scheme %d, want 2", r.MaskScheme)
	}
	if canon, _ := r.Canonical(); !strings.Contains(string(canon), `"mask_scheme":2`) {
		t.Errorf("pinned canonical recipe %s does not record the scheme", canon)
	}
	one, _ := parse("mask_scheme: 1")
	one.PinMaskScheme()
	if one.MaskScheme != 1 {
		t.Errorf("an explicit scheme 1 became %d", one.MaskScheme)
	}
	ties, _ := ParseRecipe([]byte("merge_method: ties\nbase_model: b\nmodels:\n  - model: m\n"))
	ties.PinMaskScheme()
	if ties.MaskScheme != 0 {
		t.Errorf("ties, which draws no random mask, got scheme %d", ties.MaskScheme)
	}
	for _, name := range []string{"dare_linear", "dare_ties", "della", "della_linear"} {
		if !methods[name].randomMasks {
			t.Errorf("%s is not marked as drawing random masks", name)
		}
	}
}
