package kernel

// The fused masked merges: SumScaled's one pass over the encoded inputs,
// with each input first thinned by its mask (a magnitude window, a random
// DARE mask, or a precomputed one) and rescaled, then summed or combined
// by TIES sign election. Each input byte is read once; masking happens on
// the encoded bits, before widening.
//
// The arithmetic is the slice kernels' in the engine's order: for input k
// and element j, with x the widened, masked value,
//
//	x = float32(R·x)         (R = 1 leaves x as it is)
//
// then for MergeSum the sum of SumScaled, and for MergeTIES and
// MergeTIESPaper the loops of TIESWeighted and TIESPaper, the result
// narrowed to the format.

// MaskKind is how an input of a masked merge is thinned.
type MaskKind uint32

const (
	MaskNone   MaskKind = iota // every element kept
	MaskWindow                 // kept when Lo ≤ key < Hi
	MaskDARE2                  // kept when its DAREMask2 uniform is below Keep
	MaskWords                  // kept where Words is all ones, dropped where it is 0
)

// MaskedInput is one input of a masked merge. Its layout is read by the
// assembly: do not reorder the fields.
type MaskedInput struct {
	Src  []byte  // the encoded elements
	W, R float32 // the weight, and the rescaling after the mask
	Kind MaskKind
	// Lo and Hi bound MaskWindow's keys: for BF16 and F16 the element's
	// bits without the sign (0 … 0x7FFF), bounds in [0, 0x8000]; for F32
	// the float32 magnitude key, bounds in [0, 2³¹].
	Lo, Hi uint32
	Keep   uint32 // MaskDARE2's threshold, below 2¹⁶
	// Z is MaskDARE2's counter of the first element's draw, key +
	// (e/4+1)·γ for element e of the tensor, e a multiple of 4.
	Z uint64
	// Words is MaskWords' mask, one word per element.
	Words []uint32
}

// MergeKind is how a masked merge combines its inputs.
type MergeKind uint32

const (
	MergeSum       MergeKind = iota // SumScaled's sum over the base
	MergeTIES                       // TIESWeighted: mergekit's election
	MergeTIESPaper                  // TIESPaper: the paper's election
)

// Merge is a masked merge's combination: for MergeSum, Div (1: none) and
// Lambda as SumScaled takes them; for the TIES kinds, Lambda and
// Normalize as TIESWeighted takes them.
type Merge struct {
	Kind      MergeKind
	Div       float32
	Lambda    float32
	Normalize bool
}

// MaskedScratch is the most float32s MergeMasked's scratch needs per
// input.
const MaskedScratch = 64

// MergeMasked computes dst from the encoded base and inputs, each input
// thinned and rescaled as its MaskedInput says, then combined as m says.
// It reports false when some input element (dropped or kept), some TIES
// election sum or some narrowed result is not finite; dst is then partly
// written and the caller redoes the block through the slice kernels, which
// name the culprit. scratch holds at least MaskedScratch·len(ins) float32s.
// It panics unless every Src (and every Words of a MaskWords input) and
// base hold as many elements as dst, every Lo and Hi is within the
// format's keys ([0, 0x8000], or [0, 2³¹] for F32) and every Keep below
// 2¹⁶.
func MergeMasked(f Format, dst, base []byte, ins []MaskedInput, m Merge, scratch []float32) bool {
	checkFused("MergeMasked", f, dst, base, nil, nil)
	n := len(dst) / f.Size()
	end := uint32(1 << 15)
	if f == F32 {
		end = 1 << 31
	}
	for _, in := range ins {
		mustLen("MergeMasked", len(in.Src), len(dst))
		switch in.Kind {
		case MaskWords:
			mustLen("MergeMasked", len(in.Words), n)
		case MaskWindow:
			if in.Lo > end || in.Hi > end {
				panic("kernel: MergeMasked: window bound beyond the format's keys")
			}
		case MaskDARE2:
			if in.Keep >= 1<<16 {
				panic("kernel: MergeMasked: DARE2 threshold not below 2¹⁶")
			}
		case MaskNone:
		default:
			panic("kernel: MergeMasked: unknown mask kind")
		}
	}
	if len(scratch) < MaskedScratch*len(ins) {
		panic("kernel: MergeMasked: scratch too short")
	}
	return mergeMasked(f, dst, base, ins, m, scratch)
}

// CountKeys returns how many encoded elements of raw have a key (as
// MaskedInput's Lo and Hi take them) below below, and how many equal eq.
func CountKeys(f Format, raw []byte, below, eq uint32) (nBelow, nEq int) {
	if f != BF16 && f != F16 && f != F32 {
		panic("kernel: CountKeys: unknown format")
	}
	mustLen("CountKeys", len(raw)%f.Size(), 0)
	return countKeys(f, raw, below, eq)
}
