// Package trimstats computes, encodes and decodes trim statistics: the
// magnitude histogram of each float tensor of a delta. TIES and
// breadcrumbs keep each delta's elements above a magnitude cut that only
// the whole tensor decides, so without statistics a merge reads every
// input once to find its cuts and once more to merge. The histogram is
// cheap to take where every byte is read anyway (a delta's publication,
// the hub's admission, the local hash cache); with it a merge knows every
// cut of a bfloat16 or half tensor before it reads a value, and merges in
// one pass. A merge checks the statistics as it goes (it counts the
// elements below and on each cut it took from them) and fails, naming the
// tensor, when they do not match.
//
// The histogram has Bins bins over a magnitude key: for bfloat16 and half
// the element's 16 bits without the sign, for float32 the high 16 bits of
// its bits without the sign (which bfloat16's key equals after widening).
// For float32 the cut's exact key then still takes one read of the bin
// that holds it.
package trimstats

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/potluck-hub/potluck/safetensors"
)

// Bins is the number of bins of a histogram: every 15-bit magnitude key.
const Bins = 1 << 15

// ErrFormat reports statistics that cannot be decoded.
var ErrFormat = errors.New("trimstats: malformed statistics")

// Histogram is one tensor's magnitude histogram: its N elements of DType
// counted by key, only the non-empty bins kept, keys ascending.
type Histogram struct {
	DType  safetensors.DType
	N      int64
	Keys   []uint16
	Counts []int64
}

// Key is the histogram key of an element's encoded bits (little-endian
// bytes of dt): its magnitude's 15-bit key.
func Key(dt safetensors.DType, b []byte) uint16 {
	if dt == safetensors.F32 {
		return binary.LittleEndian.Uint16(b[2:]) & 0x7FFF
	}
	return binary.LittleEndian.Uint16(b) & 0x7FFF
}

// InfKey is the least key of dt's values that are not finite (±Inf, NaN).
func InfKey(dt safetensors.DType) uint16 {
	if dt == safetensors.F16 {
		return 0x7C00
	}
	return 0x7F80
}

// Dense adds the histogram's counts to h, indexed by key (len(h) ≥ Bins).
func (h *Histogram) Dense(dst []int64) {
	for i, k := range h.Keys {
		dst[k] += h.Counts[i]
	}
}

// Finite reports whether every counted element is finite.
func (h *Histogram) Finite() bool {
	return len(h.Keys) == 0 || h.Keys[len(h.Keys)-1] < InfKey(h.DType)
}

// check validates a histogram: a supported dtype, keys ascending below
// Bins, positive counts that sum to N.
func (h *Histogram) check() error {
	if !supported(h.DType) {
		return fmt.Errorf("%w: dtype %s (want BF16, F16 or F32)", ErrFormat, h.DType)
	}
	if len(h.Keys) != len(h.Counts) {
		return fmt.Errorf("%w: %d keys and %d counts", ErrFormat, len(h.Keys), len(h.Counts))
	}
	var sum int64
	for i, k := range h.Keys {
		c := h.Counts[i]
		switch {
		case k >= Bins:
			return fmt.Errorf("%w: key %#x out of range", ErrFormat, k)
		case i > 0 && k <= h.Keys[i-1]:
			return fmt.Errorf("%w: keys not ascending at %#x", ErrFormat, k)
		case c <= 0 || c > h.N-sum:
			return fmt.Errorf("%w: key %#x: count %d (of %d elements, %d counted before)", ErrFormat, k, c, h.N, sum)
		}
		sum += c
	}
	if sum != h.N {
		return fmt.Errorf("%w: counts sum to %d, the tensor has %d elements", ErrFormat, sum, h.N)
	}
	return nil
}

func supported(dt safetensors.DType) bool {
	return dt == safetensors.BF16 || dt == safetensors.F16 || dt == safetensors.F32
}

// Builder takes one tensor's histogram from its bytes, written in order in
// pieces of any length.
type Builder struct {
	dt      safetensors.DType
	size    int
	n, seen int64
	part    [4]byte // an element split between writes
	nPart   int
	tables  [4][]uint32 // interleaved counts: runs of equal keys do not serialise
	pending int64       // elements counted into tables since they were folded
	counts  []int64
}

// NewBuilder starts the histogram of a tensor of n elements of dt, which
// must be BF16, F16 or F32.
func NewBuilder(dt safetensors.DType, n int64) (*Builder, error) {
	if !supported(dt) {
		return nil, fmt.Errorf("trimstats: dtype %s has no statistics (want BF16, F16 or F32)", dt)
	}
	if n < 0 {
		return nil, fmt.Errorf("trimstats: %d elements", n)
	}
	b := &Builder{dt: dt, size: dt.Size(), n: n, counts: make([]int64, Bins)}
	for i := range b.tables {
		b.tables[i] = make([]uint32, Bins)
	}
	return b, nil
}

// foldEvery is how many elements the interleaved uint32 tables take before
// they are added into the int64 counts: never enough to overflow one.
const foldEvery = 1 << 31

// Write counts the elements in p. It fails once more bytes come than the
// tensor holds.
func (b *Builder) Write(p []byte) (int, error) {
	total := len(p)
	if rest := (b.n - b.seen) * int64(b.size); int64(len(p)+b.nPart) > rest {
		return 0, fmt.Errorf("trimstats: more than the tensor's %d bytes", b.n*int64(b.size))
	}
	if b.nPart > 0 {
		k := copy(b.part[b.nPart:b.size], p)
		b.nPart += k
		p = p[k:]
		if b.nPart < b.size {
			return total, nil
		}
		b.tables[0][Key(b.dt, b.part[:b.size])]++
		b.seen++
		b.pending++
		b.nPart = 0
	}
	whole := len(p) / b.size * b.size
	for whole > 0 {
		// At most foldEvery elements between folds.
		take := min(whole, int((foldEvery-b.pending)*int64(b.size)))
		if take == 0 {
			b.fold()
			continue
		}
		countRaw(&b.tables, b.dt, p[:take])
		b.seen += int64(take / b.size)
		b.pending += int64(take / b.size)
		p, whole = p[take:], whole-take
	}
	b.nPart = copy(b.part[:], p)
	return total, nil
}

// fold adds the interleaved tables into the counts.
func (b *Builder) fold() {
	for t := range b.tables {
		for k, c := range b.tables[t] {
			b.counts[k] += int64(c)
		}
		clear(b.tables[t])
	}
	b.pending = 0
}

// Histogram returns the histogram, once exactly the tensor's bytes have
// been written.
func (b *Builder) Histogram() (*Histogram, error) {
	if b.seen != b.n || b.nPart != 0 {
		return nil, fmt.Errorf("trimstats: %d of the tensor's %d bytes written", b.seen*int64(b.size)+int64(b.nPart), b.n*int64(b.size))
	}
	b.fold()
	h := &Histogram{DType: b.dt, N: b.n}
	for k, c := range b.counts {
		if c != 0 {
			h.Keys = append(h.Keys, uint16(k))
			h.Counts = append(h.Counts, c)
		}
	}
	return h, nil
}

// Compute is the histogram of one tensor's bytes, all of them.
func Compute(dt safetensors.DType, raw []byte) (*Histogram, error) {
	if !supported(dt) {
		return nil, fmt.Errorf("trimstats: dtype %s has no statistics (want BF16, F16 or F32)", dt)
	}
	if len(raw)%dt.Size() != 0 {
		return nil, fmt.Errorf("trimstats: %d bytes are not whole %s elements", len(raw), dt)
	}
	b, err := NewBuilder(dt, int64(len(raw)/dt.Size()))
	if err != nil {
		return nil, err
	}
	if _, err := b.Write(raw); err != nil {
		return nil, err
	}
	return b.Histogram()
}

// countRaw counts whole encoded elements of dt in p, element i in table
// i mod 4 (four elements per 8-byte word for the 16-bit dtypes, two for
// float32).
func countRaw(t *[4][]uint32, dt safetensors.DType, p []byte) {
	t0, t1, t2, t3 := t[0][:Bins], t[1][:Bins], t[2][:Bins], t[3][:Bins]
	i := 0
	if dt == safetensors.F32 {
		for ; i+16 <= len(p); i += 16 {
			v, w := binary.LittleEndian.Uint64(p[i:]), binary.LittleEndian.Uint64(p[i+8:])
			t0[(v>>16)&0x7FFF]++
			t1[(v>>48)&0x7FFF]++
			t2[(w>>16)&0x7FFF]++
			t3[(w>>48)&0x7FFF]++
		}
		for ; i+4 <= len(p); i += 4 {
			t0[Key(dt, p[i:])]++
		}
		return
	}
	for ; i+8 <= len(p); i += 8 {
		v := binary.LittleEndian.Uint64(p[i:])
		t0[v&0x7FFF]++
		t1[(v>>16)&0x7FFF]++
		t2[(v>>32)&0x7FFF]++
		t3[(v>>48)&0x7FFF]++
	}
	for ; i+2 <= len(p); i += 2 {
		t0[Key(dt, p[i:])]++
	}
}
