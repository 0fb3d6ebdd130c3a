package merge

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/potluck-hub/potluck/merge/kernel"
)

// DARE and DELLA drop elements at random, from a counter-based generator
// keyed by (seed, model, tensor) and indexed by the element: a draw depends
// on nothing else, never on a shared stream, the chunking or the number of
// workers, so masks are the same on every run and every machine. Two
// schemes exist; a recipe's mask_scheme picks one (MaskScheme).
//
// Scheme 1 (every merge recorded before scheme 2, and a recipe without
// mask_scheme): element i of a tensor draws
//
//	u = mix(key + (i+1)·γ) >> 11,  a uniform integer in [0, 2⁵³)
//
// (SplitMix64: γ = 0x9E3779B97F4A7C15, mix its finaliser), and is kept when
// u < p·2⁵³. The key is mix(mix(seed) ⊕ FNV-1a(tensor name) ⊕ mix(model+1)),
// model the input's position in the recipe. That key is symmetric in seed
// and model+1 (seed 2's model 0 draws seed 1's model 1's mask), and each
// element costs a whole 64-bit draw.
//
// Scheme 2: one draw decides four elements. Element i draws
//
//	u = (mix(key + (⌊i/4⌋+1)·γ) >> (16·(i mod 4))) mod 2¹⁶
//
// and is kept when u < p·2¹⁶: with probability ⌈p·2¹⁶⌉/2¹⁶. The key is the
// first 8 bytes (little-endian) of SHA-256("potluck/mask/2" ‖ 0x00 ‖
// seed ‖ model ‖ tensor name), seed and model as 8 little-endian bytes
// each: seeds, models and tensors give unrelated keys.

// MaskSchemeLatest is the random-mask scheme new merges record
// (Recipe.PinMaskScheme).
const MaskSchemeLatest = 2

const golden = 0x9E3779B97F4A7C15

// mix is SplitMix64's finaliser.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// maskKey is the scheme-1 generator key of one input's tensor.
func maskKey(seed uint64, model int, tensor string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(tensor))
	return mix(mix(seed) ^ h.Sum64() ^ mix(uint64(model)+1))
}

// maskKey2 is the scheme-2 generator key of one input's tensor.
func maskKey2(seed uint64, model int, tensor string) uint64 {
	h := sha256.New()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(model))
	h.Write([]byte("potluck/mask/2\x00"))
	h.Write(b[:])
	h.Write([]byte(tensor))
	return binary.LittleEndian.Uint64(h.Sum(nil))
}

// draw is element i's 53-bit uniform integer in scheme 1.
func draw(key uint64, i int64) uint64 { return mix(key+uint64(i+1)*golden) >> 11 }

// keepBelow is the scheme-1 threshold for keep probability p: keep when
// u < p·2⁵³.
func keepBelow(p float64) float64 { return p * (1 << 53) }

// keep16 is the scheme-2 threshold for keep probability p: u < p·2¹⁶
// exactly when u < ⌈p·2¹⁶⌉, u an integer.
func keep16(p float64) uint32 { return uint32(min(max(math.Ceil(p*(1<<16)), 0), 1<<16)) }

// drawer is one input's random draws over one tensor.
type drawer struct {
	scheme int // 1 or 2
	key    uint64
}

// newDrawer is the drawer of model's tensor in scheme (0 is 1).
func newDrawer(scheme int, seed uint64, model int, tensor string) drawer {
	if scheme == 2 {
		return drawer{scheme: 2, key: maskKey2(seed, model, tensor)}
	}
	return drawer{scheme: 1, key: maskKey(seed, model, tensor)}
}

// keeps reports whether element e is kept with probability p.
func (d drawer) keeps(e int64, p float64) bool {
	if d.scheme == 2 {
		return float64(kernel.DARE2Uniform(d.key, uint64(e))) < p*(1<<16)
	}
	return float64(draw(d.key, e)) < keepBelow(p)
}

// mask zeroes each element of x (elements off, off+1, … of the tensor)
// that keep probability p drops.
func (d drawer) mask(x []float32, off int64, p float64) {
	if d.scheme == 2 {
		kernel.DAREMask2(x, d.key, off, keep16(p))
		return
	}
	dareMask(x, d.key, off, keepBelow(p))
}

// checkMaskScheme refuses a mask_scheme other than 1 or 2 (0: unset).
func checkMaskScheme(r *Recipe) error {
	if r.MaskScheme < 0 || r.MaskScheme > MaskSchemeLatest {
		return fmt.Errorf("%w: mask_scheme %d (supported: 1, 2)", ErrRecipe, r.MaskScheme)
	}
	return nil
}

// PinMaskScheme sets the recipe's mask_scheme to MaskSchemeLatest when it
// is unset and the method draws random masks. A recipe recorded without
// one (every merge published before scheme 2) keeps scheme 1, so that
// `verify --recompute` gives its bytes again; what starts a new merge (the
// CLI, the hub's job queue) calls this before it plans or records the
// recipe, so the canonical recipe says which scheme made the masks.
func (r *Recipe) PinMaskScheme() {
	if m, ok := methods[r.MergeMethod]; ok && m.randomMasks && r.MaskScheme == 0 {
		r.MaskScheme = MaskSchemeLatest
	}
}

func f32bits(v float32) uint32 { return math.Float32bits(v) }
