package half

import (
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

// Benchmarks. go test -bench . ./half measures each slice conversion on
// 256 Ki elements (cache-resident: compute speed), generic beside SIMD.

const benchN = 256 << 10

func BenchmarkWidenBF16(b *testing.B) {
	src, dst := make([]byte, 2*benchN), make([]float32, benchN)
	simdtest.BenchLevels(b, atLevel, func(b *testing.B) {
		b.SetBytes(2 * benchN)
		for b.Loop() {
			widenBF16(dst, src)
		}
	})
}

func BenchmarkWidenF16(b *testing.B) {
	src, dst := simdtest.Halves(rand.New(rand.NewPCG(1, 1)), benchN), make([]float32, benchN)
	simdtest.BenchLevels(b, atLevel, func(b *testing.B) {
		b.SetBytes(2 * benchN)
		for b.Loop() {
			widenF16(dst, src)
		}
	})
}

func BenchmarkNarrowBF16(b *testing.B) {
	src, dst := simdtest.RandFloats(rand.New(rand.NewPCG(1, 1)), benchN), make([]byte, 2*benchN)
	simdtest.BenchLevels(b, atLevel, func(b *testing.B) {
		b.SetBytes(4 * benchN)
		for b.Loop() {
			narrowBF16(dst, src)
		}
	})
}

func BenchmarkNarrowF16(b *testing.B) {
	src, dst := simdtest.RandFloats(rand.New(rand.NewPCG(1, 1)), benchN), make([]byte, 2*benchN)
	simdtest.BenchLevels(b, atLevel, func(b *testing.B) {
		b.SetBytes(4 * benchN)
		for b.Loop() {
			narrowF16(dst, src)
		}
	})
}
