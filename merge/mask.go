package merge

import (
	"hash/fnv"
	"math"
)

// DARE and DELLA drop elements at random, from a counter-based generator:
// element i of a tensor draws
//
//	u = mix(key + (i+1)·γ) >> 11,  a uniform integer in [0, 2⁵³)
//
// (SplitMix64: γ = 0x9E3779B97F4A7C15, mix its finaliser), and is kept when
// u < p·2⁵³. The key is mix(mix(seed) ⊕ FNV-1a(tensor name) ⊕ mix(model+1)),
// model the input's position in the recipe. A draw depends on nothing but
// (seed, model, tensor, i): never on a shared stream, the chunking or the
// number of workers, so masks are the same on every run and every machine.

const golden = 0x9E3779B97F4A7C15

// mix is SplitMix64's finaliser.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// maskKey is the generator key of one input's tensor.
func maskKey(seed uint64, model int, tensor string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(tensor))
	return mix(mix(seed) ^ h.Sum64() ^ mix(uint64(model)+1))
}

// draw is element i's 53-bit uniform integer.
func draw(key uint64, i int64) uint64 { return mix(key+uint64(i+1)*golden) >> 11 }

// keepBelow is the threshold for keep probability p: keep when u < p·2⁵³.
func keepBelow(p float64) float64 { return p * (1 << 53) }

func f32bits(v float32) uint32 { return math.Float32bits(v) }
