package merge

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// matrix returns an m×n matrix Σᵢ σᵢ·uᵢvᵢᵀ of random directions, σᵢ from
// sigma, in float32.
func matrix(m, n int, sigma []float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := make([]float64, m*n)
	for _, s := range sigma {
		u, v := make([]float64, m), make([]float64, n)
		for i := range u {
			u[i] = rng.NormFloat64() / math.Sqrt(float64(m))
		}
		for j := range v {
			v[j] = rng.NormFloat64() / math.Sqrt(float64(n))
		}
		for i := range m {
			for j := range n {
				d[i*n+j] += s * u[i] * v[j]
			}
		}
	}
	out := make([]float32, len(d))
	for i, v := range d {
		out[i] = float32(v)
	}
	return out
}

// residual is ‖Δ − U·S·Vᵀ‖_F / ‖Δ‖_F.
func residual(d []float32, m, n int, lr *lowRank) float64 {
	a, b := make([]float32, len(lr.s)*n), make([]float32, m*len(lr.s))
	r := len(lr.s)
	for c, s := range lr.s {
		for j := range n {
			a[c*n+j] = float32(s * lr.v[c][j])
		}
		for i := range m {
			b[i*r+c] = float32(lr.u[c][i])
		}
	}
	return relError(d, a, b, m, n, r)
}

// A matrix of rank 3 is found exactly (to float32 rounding).
func TestRandomizedSVDExactRank(t *testing.T) {
	d := matrix(40, 30, []float64{5, 2, 0.5}, 1)
	lr, err := randomizedSVD(d, 40, 30, 3, 10, 2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if e := residual(d, 40, 30, lr); e > 1e-6 {
		t.Errorf("relative error %g for a matrix of rank 3, want float32 rounding", e)
	}
}

// On a full-rank matrix the sketch comes within 1% of the best rank-r
// error (Eckart–Young: the tail of the exact singular values).
func TestRandomizedSVDNearOptimal(t *testing.T) {
	const m, n, r = 60, 45, 5
	var sigma []float64
	for i := range n {
		sigma = append(sigma, math.Pow(0.8, float64(i)))
	}
	d := matrix(m, n, sigma, 2)
	dense := mat.NewDense(m, n, nil)
	for i := range m {
		for j := range n {
			dense.Set(i, j, float64(d[i*n+j]))
		}
	}
	var svd mat.SVD
	svd.Factorize(dense, mat.SVDNone)
	s := svd.Values(nil)
	var tail, all float64
	for i, v := range s {
		all += v * v
		if i >= r {
			tail += v * v
		}
	}
	best := math.Sqrt(tail / all)
	lr, err := randomizedSVD(d, m, n, r, 10, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if e := residual(d, m, n, lr); e > 1.01*best {
		t.Errorf("relative error %g, the best rank-%d is %g", e, r, best)
	}
}

// The factors depend only on the matrix and the seed, not on the cores.
func TestRandomizedSVDDeterministic(t *testing.T) {
	d := matrix(70, 50, []float64{3, 2, 1, 0.5, 0.25, 0.1}, 4)
	one, err := randomizedSVD(d, 70, 50, 4, 10, 2, 9)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	again, err := randomizedSVD(d, 70, 50, 4, 10, 2, 9)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one.s, again.s) || !slices.EqualFunc(one.u, again.u, slices.Equal) || !slices.EqualFunc(one.v, again.v, slices.Equal) {
		t.Error("the factors differ between runs on one core and on several")
	}
}
