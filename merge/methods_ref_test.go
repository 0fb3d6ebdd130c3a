package merge_test

// Float64 references for every merge method, written from the methods'
// definitions (the papers, mergekit's documented behaviour, and the package
// documentation for the masks' generator and tie rule), not from the code
// under test. Sorting is fine here: the reference is not streamed.

import (
	"crypto/sha256"
	"encoding/binary"
	"hash/fnv"
	"math"
	"sort"
)

// refCfg is one tensor's merge as the reference sees it.
type refCfg struct {
	method                       string
	name                         string
	cols                         int // row length (last dimension)
	w, density, gamma, eps       []float64
	lambda, clip, t, beta        float64
	normalize, rescale           bool
	paperConsensus, paperRescale bool
	seed                         uint64
	scheme                       int // mask_scheme: 0 or 1, or 2
	samples                      []float64
	keep                         []bool // krum's selection; nil: all
	models                       []int  // recipe index of each input
}

// sparse, consensus and the robust methods by name.
var (
	refSparsifier = map[string]string{"ties": "top", "dare_linear": "dare", "dare_ties": "dare", "breadcrumbs": "outliers",
		"breadcrumbs_ties": "outliers", "della": "della", "della_linear": "della"}
	refConsensus = map[string]bool{"ties": true, "dare_ties": true, "breadcrumbs_ties": true, "della": true}
)

// The mask generator, from its specification: SplitMix64 at counter i+1
// over the key mix(mix(seed) ⊕ FNV-1a(name) ⊕ mix(model+1)).
func tMix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func tKey(seed uint64, model int, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return tMix(tMix(seed) ^ h.Sum64() ^ tMix(uint64(model)+1))
}

// tUniform is element i's draw as a number in [0, 1).
func tUniform(key uint64, i int) float64 {
	return float64(tMix(key+uint64(i+1)*0x9E3779B97F4A7C15)>>11) / (1 << 53)
}

// tKey2 is scheme 2's key, from its specification: the first 8 bytes of
// SHA-256("potluck/mask/2" ‖ 0 ‖ seed ‖ model ‖ name), little-endian.
func tKey2(seed uint64, model int, name string) uint64 {
	b := append([]byte("potluck/mask/2\x00"), make([]byte, 16)...)
	binary.LittleEndian.PutUint64(b[15:], seed)
	binary.LittleEndian.PutUint64(b[23:], uint64(model))
	sum := sha256.Sum256(append(b, name...))
	return binary.LittleEndian.Uint64(sum[:])
}

// tUniform2 is element i's scheme-2 draw as a number in [0, 1): the 16-bit
// field i mod 4 of SplitMix64's output number ⌊i/4⌋+1.
func tUniform2(key uint64, i int) float64 {
	z := tMix(key + uint64(i/4+1)*0x9E3779B97F4A7C15)
	return float64(z>>(16*(i%4))&0xFFFF) / (1 << 16)
}

// uniform is element i's draw in the configured scheme.
func (c refCfg) uniform(model, i int) float64 {
	if c.scheme == 2 {
		return tUniform2(tKey2(c.seed, model, c.name), i)
	}
	return tUniform(tKey(c.seed, model, c.name), i)
}

// rankOrder returns x's indices from the largest magnitude down, ties to the
// earlier element.
func rankOrder(x []float64) []int {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return math.Abs(x[idx[a]]) > math.Abs(x[idx[b]]) })
	return idx
}

// refMask returns input i's kept elements and per-element rescaling (the
// paper's 1/p, or 1).
func refMask(c refCfg, i int, x []float64) (keep []bool, scale []float64) {
	n := len(x)
	keep, scale = make([]bool, n), make([]float64, n)
	for e := range keep {
		keep[e], scale[e] = true, 1
	}
	d := c.density[i]
	if d >= 1 {
		return keep, scale
	}
	switch refSparsifier[c.method] {
	case "top":
		k := max(1, int(d*float64(n)))
		for r, e := range rankOrder(x) {
			keep[e] = r < k
		}
	case "outliers":
		top := int(c.gamma[i] * float64(n))
		bot := n - int(d*float64(n)) - top
		if bot < 0 {
			top, bot = top+bot, 0
		}
		for r, e := range rankOrder(x) { // r counts from the largest
			keep[e] = r >= top && r < n-bot
		}
	case "dare":
		for e := range keep {
			keep[e] = c.uniform(c.models[i], e) < d
		}
		if c.paperRescale {
			for e := range scale {
				scale[e] = 1 / d
			}
		}
	case "della":
		for row := 0; row < n; row += c.cols {
			order := rankOrder(x[row : row+c.cols])
			for r, j := range order { // r from the largest: ascending rank is cols−1−r
				p := d
				if c.cols > 1 {
					p = d - c.eps[i] + float64(c.cols-1-r)*2*c.eps[i]/float64(c.cols-1)
				}
				keep[row+j] = c.uniform(c.models[i], row+j) < p
				if c.paperRescale {
					scale[row+j] = 1 / p
				}
			}
		}
	}
	return keep, scale
}

// refThin applies clipping, the mask and the rescaling to every input.
func refThin(c refCfg, ds [][]float64) [][]float64 {
	out := make([][]float64, len(ds))
	for i, d := range ds {
		x := append([]float64(nil), d...)
		if c.clip > 0 {
			var sq float64
			for _, v := range x {
				sq += v * v
			}
			if norm := math.Sqrt(sq); norm > c.clip {
				for e := range x {
					x[e] *= c.clip / norm
				}
			}
		}
		if refSparsifier[c.method] != "" {
			keep, scale := refMask(c, i, x)
			var before, after float64
			for e, v := range x {
				before += math.Abs(v)
				if !keep[e] {
					x[e] = 0
				}
				x[e] *= scale[e]
				after += math.Abs(x[e])
			}
			if c.rescale && !c.paperRescale && before >= 1e-7 && after >= 1e-7 {
				for e := range x {
					x[e] *= before / after
				}
			}
		}
		out[i] = x
	}
	return out
}

// refMerge is the merged tensor, with the magnitude bound for checkValues:
// mag[e] is at least every partial result's magnitude. An element whose
// outcome turns on a sum within rounding of 0 (a sign election) gets an
// infinite bound: no decision there can be held against the engine.
func refMerge(c refCfg, base []float64, ds [][]float64) (ref, mag []float64) {
	xs := refThin(c, ds)
	n := len(base)
	ref, mag = make([]float64, n), make([]float64, n)
	switch c.method {
	case "median", "trimmed_mean":
		return refRobust(c, base, xs)
	case "model_stock":
		return refStock(c, base, xs)
	case "slerp":
		return refSlerp(c, base, xs[0])
	}
	w := append([]float64(nil), c.w...)
	switch c.method {
	case "fedavg":
		var total float64
		for _, s := range c.samples {
			total += s
		}
		for i, s := range c.samples {
			w[i] = s / total
		}
	case "krum":
		for i := range w {
			w[i] = 0
			if c.keep[i] {
				w[i] = 1 / float64(countTrue(c.keep))
			}
		}
	}
	for e := range base {
		ref[e], mag[e] = refElement(c, base[e], xs, w, e)
	}
	return ref, mag
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// refElement is one element of a task-vector method: θ₀ + λ·mix.
func refElement(c refCfg, b float64, xs [][]float64, w []float64, e int) (float64, float64) {
	var mix, div, abs, s, sAbs float64
	for i, x := range xs {
		v := w[i] * x[e]
		if c.paperConsensus {
			v = x[e]
		}
		s += v
		sAbs += math.Abs(v)
	}
	count := 0
	for i, x := range xs {
		v := w[i] * x[e]
		elect := v
		if c.paperConsensus {
			elect = x[e]
		}
		if refConsensus[c.method] && !(s >= 0 && elect > 0 || s < 0 && elect < 0) {
			continue
		}
		mix += v
		abs += math.Abs(v)
		div += w[i]
		count++
	}
	if !refConsensus[c.method] {
		div = 0
		for _, wi := range c.w {
			div += wi
		}
	}
	switch {
	case refConsensus[c.method] && c.paperConsensus && c.normalize && count > 0:
		mix, abs = mix/float64(count), abs/float64(count)
	case c.normalize && refConsensus[c.method] && div != 0, c.normalize && !refConsensus[c.method] && math.Abs(div) >= 1e-8:
		mix, abs = mix/div, abs/math.Abs(div)
	}
	m := math.Abs(b) + math.Abs(c.lambda)*abs
	if refConsensus[c.method] && math.Abs(s) <= float64(len(xs)+2)*0x1p-23*sAbs {
		m = math.Inf(1) // the election is within rounding of a tie
	}
	return b + c.lambda*mix, m
}

// refRobust is the coordinate-wise median or trimmed mean.
func refRobust(c refCfg, base []float64, xs [][]float64) (ref, mag []float64) {
	n := len(xs)
	ref, mag = make([]float64, len(base)), make([]float64, len(base))
	for e, b := range base {
		col := make([]float64, n)
		for i, x := range xs {
			col[i] = x[e]
		}
		sort.Float64s(col)
		var v, abs float64
		if c.method == "median" {
			v = col[n/2]
			if n%2 == 0 {
				v = (col[n/2-1] + col[n/2]) / 2
			}
			abs = math.Abs(col[0]) + math.Abs(col[n-1])
		} else {
			k := int(c.beta * float64(n))
			for _, x := range col[k : n-k] {
				v += x / float64(n-2*k)
				abs += math.Abs(x)
			}
		}
		ref[e], mag[e] = b+c.lambda*v, math.Abs(b)+math.Abs(c.lambda)*abs
	}
	return ref, mag
}

// refStock is model_stock: θ₀ + t·mean(δ), t = N·cos/(1+(N−1)·cos), cos the
// mean pairwise cosine of the deltas.
func refStock(c refCfg, base []float64, xs [][]float64) (ref, mag []float64) {
	n := float64(len(xs))
	var sum float64
	pairs := 0
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			cos := dot(xs[i], xs[j]) / max(math.Sqrt(dot(xs[i], xs[i]))*math.Sqrt(dot(xs[j], xs[j])), 1e-8)
			sum += max(-1, min(1, cos))
			pairs++
		}
	}
	cos := sum / float64(pairs)
	t := n * cos / (1 + (n-1)*cos)
	ref, mag = make([]float64, len(base)), make([]float64, len(base))
	for e, b := range base {
		var mean, abs float64
		for _, x := range xs {
			mean += x[e] / n
			abs += math.Abs(x[e])
		}
		ref[e], mag[e] = b+t*mean, math.Abs(b)+math.Abs(t)*abs
	}
	return ref, mag
}

// refSlerp is spherical interpolation between θ₀ and θ₁ = θ₀ + δ.
func refSlerp(c refCfg, base, x []float64) (ref, mag []float64) {
	th := make([]float64, len(base))
	for e := range th {
		th[e] = base[e] + x[e]
	}
	cos := dot(base, th) / (math.Sqrt(dot(base, base)) * math.Sqrt(dot(th, th)))
	s0, s1 := 1-c.t, c.t
	if math.Abs(cos) <= 0.9995 {
		om := math.Acos(cos)
		s0, s1 = math.Sin((1-c.t)*om)/math.Sin(om), math.Sin(c.t*om)/math.Sin(om)
	}
	ref, mag = make([]float64, len(base)), make([]float64, len(base))
	for e := range base {
		ref[e] = s0*base[e] + s1*th[e]
		mag[e] = math.Abs(s0*base[e]) + math.Abs(s1)*(math.Abs(base[e])+math.Abs(x[e]))
	}
	return ref, mag
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
