package merge

import "math"

// Elementary functions that give the same bits on every platform, for the
// statistics of nuslerp, multislerp, karcher and arcee_fusion (angles, a
// softmax). They are Go's own algorithms (math/exp.go, log.go, sin.go,
// asin.go, atan.go, from Cephes and FreeBSD's msun, BSD-licensed) with
// every product rounded (float64(a*b)) before it is added, so that no
// compiler fuses a multiply-add, and with no assembly: math.Exp and
// math.Log run assembly on amd64 (Exp on arm64 too), and arm64 fuses the
// pure-Go ones, so their last bit may differ between machines. Where the
// pure-Go function makes no fusable step the results are Go's, bit for bit.

// dExp is e**x.
func dExp(x float64) float64 {
	const (
		ln2Hi     = 6.93147180369123816490e-01
		ln2Lo     = 1.90821492927058770002e-10
		log2e     = 1.44269504088896338700e+00
		overflow  = 7.09782712893383973096e+02
		underflow = -7.45133219101941108420e+02
		nearZero  = 1.0 / (1 << 28)
		p1        = 1.66666666666666657415e-01
		p2        = -2.77777777770155933842e-03
		p3        = 6.61375632143793436117e-05
		p4        = -1.65339022054652515390e-06
		p5        = 4.13813679705723846039e-08
	)
	switch {
	case math.IsNaN(x):
		return x
	case x > overflow:
		return math.Inf(1)
	case x < underflow:
		return 0
	case -nearZero < x && x < nearZero:
		return 1 + x
	}
	var k int
	switch {
	case x < 0:
		k = int(float64(log2e*x) - 0.5)
	case x > 0:
		k = int(float64(log2e*x) + 0.5)
	}
	hi := x - float64(float64(k)*ln2Hi)
	lo := float64(k) * ln2Lo
	r := hi - lo
	t := r * r
	p := p4 + float64(t*p5)
	p = p3 + float64(t*p)
	p = p2 + float64(t*p)
	p = p1 + float64(t*p)
	c := r - float64(t*p)
	y := 1 - ((lo - float64(r*c)/(2-c)) - hi)
	return math.Ldexp(y, k)
}

// dLog is the natural logarithm of x.
func dLog(x float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
		l1    = 6.666666666666735130e-01
		l2    = 3.999999999940941908e-01
		l3    = 2.857142874366239149e-01
		l4    = 2.222219843214978396e-01
		l5    = 1.818357216161805012e-01
		l6    = 1.531383769920937332e-01
		l7    = 1.479819860511658591e-01
	)
	switch {
	case math.IsNaN(x) || math.IsInf(x, 1):
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	f1, ki := math.Frexp(x)
	if f1 < math.Sqrt2/2 {
		f1 *= 2
		ki--
	}
	f := f1 - 1
	k := float64(ki)
	s := f / (2 + f)
	s2 := s * s
	s4 := s2 * s2
	a := l5 + float64(s4*l7)
	a = l3 + float64(s4*a)
	a = l1 + float64(s4*a)
	b := l4 + float64(s4*l6)
	b = l2 + float64(s4*b)
	r := float64(s2*a) + float64(s4*b)
	hfsq := float64(float64(0.5*f) * f)
	return float64(k*ln2Hi) - ((hfsq - (float64(s*(hfsq+r)) + float64(k*ln2Lo))) - f)
}

var (
	sinCoef = [...]float64{1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
		-1.98412698295895385996e-4, 8.33333333332211858878e-3, -1.66666666666666307295e-1}
	cosCoef = [...]float64{-1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7,
		2.48015872888517045348e-5, -1.38888888888730564116e-3, 4.16666666666665929218e-2}
)

// dSinCos is sin x and cos x. Beyond |x| ≥ 2²⁹, which no method's angle
// reaches, it falls back to math.Sincos.
func dSinCos(x float64) (sin, cos float64) {
	const (
		pi4A = 7.85398125648498535156e-1
		pi4B = 3.77489470793079817668e-8
		pi4C = 2.69515142907905952645e-15
	)
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= 1<<29 {
		return math.Sincos(x)
	}
	sinSign, cosSign := x < 0, false
	x = math.Abs(x)
	j := uint64(x * (4 / math.Pi))
	y := float64(j)
	if j&1 == 1 {
		j++
		y++
	}
	j &= 7
	z := ((x - float64(y*pi4A)) - float64(y*pi4B)) - float64(y*pi4C)
	if j > 3 {
		j -= 4
		sinSign, cosSign = !sinSign, !cosSign
	}
	if j > 1 {
		cosSign = !cosSign
	}
	zz := z * z
	c := 1.0 - float64(0.5*zz) + float64(float64(zz*zz)*horner(cosCoef[:], zz))
	s := z + float64(float64(z*zz)*horner(sinCoef[:], zz))
	if j == 1 || j == 2 {
		s, c = c, s
	}
	if sinSign {
		s = -s
	}
	if cosSign {
		c = -c
	}
	return s, c
}

// horner is ((((c₀z + c₁)z + c₂)z + …)z + c₅, each product rounded.
func horner(c []float64, z float64) float64 {
	p := c[0]
	for _, ci := range c[1:] {
		p = float64(p*z) + ci
	}
	return p
}

// dAcos is the arccosine of x, in [0, π]: π/2 − asin x.
func dAcos(x float64) float64 {
	return math.Pi/2 - dAsin(x)
}

func dAsin(x float64) float64 {
	if x == 0 {
		return x
	}
	sign := x < 0
	x = math.Abs(x)
	if x > 1 {
		return math.NaN()
	}
	temp := math.Sqrt(1 - float64(x*x))
	if x > 0.7 {
		temp = math.Pi/2 - satan(temp/x)
	} else {
		temp = satan(x / temp)
	}
	if sign {
		temp = -temp
	}
	return temp
}

// satan reduces x ≥ 0 to [0, 0.66] for xatan.
func satan(x float64) float64 {
	const (
		morebits = 6.123233995736765886130e-17 // π/2 = PIO2 + morebits
		tan3pio8 = 2.41421356237309504880      // tan(3π/8)
	)
	if x <= 0.66 {
		return xatan(x)
	}
	if x > tan3pio8 {
		return math.Pi/2 - xatan(1/x) + morebits
	}
	return math.Pi/4 + xatan((x-1)/(x+1)) + 0.5*morebits
}

// xatan is atan x for x in [0, 0.66].
func xatan(x float64) float64 {
	z := x * x
	p := horner([]float64{-8.750608600031904122785e-01, -1.615753718733365076637e+01, -7.500855792314704667340e+01,
		-1.228866684490136173410e+02, -6.485021904942025371773e+01}, z)
	q := horner([]float64{1, 2.485846490142306297962e+01, 1.650270098316988542046e+02, 4.328810604912902668951e+02,
		4.853903996359136964868e+02, 1.945506571482613964425e+02}, z)
	z = float64(z*p) / q
	return float64(x*z) + x
}
