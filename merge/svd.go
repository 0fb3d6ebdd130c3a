package merge

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// A randomized SVD (Halko, Martinsson and Tropp, 2011) of one delta Δ
// (m×n, row-major float32): a Gaussian sketch Y = ΔΩ of k = r + p columns
// from a fixed seed, q power iterations (Y = Δ(ΔᵀQ), orthonormalized each
// time), Q an orthonormal basis of Y, then the small SVD of B = QᵀΔ (k×n,
// gonum) gives Δ ≈ (QŨ)ΣVᵀ. Products run in float64, each output element
// summed in a fixed order with every product rounded (no fused
// multiply-add): the factors depend only on Δ and the seed, whatever the
// number of cores.

// lowRank is Δ ≈ U·diag(S)·Vᵀ: U m×r and V n×r column by column.
type lowRank struct {
	u, v [][]float64
	s    []float64
}

// randomizedSVD returns the rank-r factors of the m×n matrix d.
func randomizedSVD(d []float32, m, n, r, oversample, powerIters int, seed uint64) (*lowRank, error) {
	k := min(r+oversample, m, n)
	r = min(r, k)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	omega := make([][]float64, k) // n×k, column by column
	for c := range omega {
		omega[c] = make([]float64, n)
		for j := range omega[c] {
			omega[c][j] = rng.NormFloat64()
		}
	}
	q := orthonormal(mulRight(d, m, n, omega))
	for range powerIters {
		q = orthonormal(mulRight(d, m, n, orthonormal(mulLeftT(d, m, n, q))))
	}
	b := mulLeftT(d, m, n, q) // the rows of B = QᵀΔ
	dense := mat.NewDense(k, n, nil)
	for c, row := range b {
		dense.SetRow(c, row)
	}
	var svd mat.SVD
	if !svd.Factorize(dense, mat.SVDThin) {
		return nil, fmt.Errorf("the SVD of the %d×%d sketch did not converge", k, n)
	}
	var ub, vb mat.Dense
	svd.UTo(&ub)
	svd.VTo(&vb)
	lr := &lowRank{s: svd.Values(nil)[:r]}
	for c := range r {
		u := make([]float64, m)
		for i := range u {
			for t := range k {
				u[i] += float64(q[t][i] * ub.At(t, c))
			}
		}
		lr.u = append(lr.u, u)
		lr.v = append(lr.v, mat.Col(nil, c, &vb))
	}
	return lr, nil
}

// mulRight returns Δ·X for X n×k given column by column: k columns of m.
func mulRight(d []float32, m, n int, x [][]float64) [][]float64 {
	k := len(x)
	out := make([][]float64, k)
	for c := range out {
		out[c] = make([]float64, m)
	}
	parallel(m, func(lo, hi int) {
		acc := make([]float64, k)
		for i := lo; i < hi; i++ {
			clear(acc)
			row := d[i*n : (i+1)*n]
			for j, v := range row {
				for c := range acc {
					acc[c] += float64(float64(v) * x[c][j])
				}
			}
			for c := range acc {
				out[c][i] = acc[c]
			}
		}
	})
	return out
}

// mulLeftT returns Δᵀ·X for X m×k given column by column: k columns of n.
func mulLeftT(d []float32, m, n int, x [][]float64) [][]float64 {
	out := make([][]float64, len(x))
	for c := range out {
		out[c] = make([]float64, n)
	}
	parallel(n, func(lo, hi int) {
		for i := range m {
			row := d[i*n+lo : i*n+hi]
			for c, col := range out {
				w := x[c][i]
				dst := col[lo:hi]
				for j, v := range row {
					dst[j] += float64(float64(v) * w)
				}
			}
		}
	})
	return out
}

// parallel runs fn over [0, n) in contiguous blocks, one per core.
func parallel(n int, fn func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), max(1, n/64))
	var wg sync.WaitGroup
	for b := range w {
		lo, hi := b*n/w, (b+1)*n/w
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// orthonormal orthonormalizes the columns in place by Gram-Schmidt, twice
// over (exact to rounding even for nearly dependent columns); a column
// left with no norm of its own becomes zero.
func orthonormal(cols [][]float64) [][]float64 {
	for j, col := range cols {
		before := vecNorm(col)
		for range 2 {
			for _, prev := range cols[:j] {
				d := dot(prev, col)
				for i := range col {
					col[i] -= float64(d * prev[i])
				}
			}
		}
		nrm := vecNorm(col)
		if nrm <= 1e-12*before || nrm == 0 {
			clear(col)
			continue
		}
		for i := range col {
			col[i] /= nrm
		}
	}
	return cols
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += float64(a[i] * b[i])
	}
	return s
}

func vecNorm(a []float64) float64 { return math.Sqrt(dot(a, a)) }
