package trimstats

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
	"github.com/potluck-hub/potluck/safetensors"
)

var dtypes = []safetensors.DType{safetensors.BF16, safetensors.F16, safetensors.F32}

// rawTensor is n elements of dt: random bits (specials included), runs of
// one value, and a few magnitudes of both signs.
func rawTensor(r *rand.Rand, dt safetensors.DType, n int) []byte {
	b := make([]byte, n*dt.Size())
	for i := 0; i < n; i++ {
		var bits uint32
		switch r.IntN(3) {
		case 0:
			bits = simdtest.RandBits(r)
		case 1:
			bits = 0x3C00_3C00
		default:
			bits = uint32(r.IntN(5)) << 20
			if r.IntN(2) == 0 {
				bits |= 0x8000_8000
			}
		}
		if dt == safetensors.F32 {
			binary.LittleEndian.PutUint32(b[4*i:], bits)
		} else {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(bits>>8))
		}
	}
	return b
}

// bruteHistogram counts every element's key.
func bruteHistogram(dt safetensors.DType, b []byte) []int64 {
	h := make([]int64, Bins)
	for i := 0; i < len(b); i += dt.Size() {
		var k uint32
		if dt == safetensors.F32 {
			k = binary.LittleEndian.Uint32(b[i:]) & 0x7FFFFFFF >> 16
		} else {
			k = uint32(binary.LittleEndian.Uint16(b[i:]) & 0x7FFF)
		}
		h[k]++
	}
	return h
}

func TestComputeMatchesBrute(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, dt := range dtypes {
		for _, n := range []int{0, 1, 3, 4, 5, 7, 8, 9, 1000, 4097} {
			raw := rawTensor(r, dt, n)
			h, err := Compute(dt, raw)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]int64, Bins)
			h.Dense(got)
			want := bruteHistogram(dt, raw)
			for k := range want {
				if got[k] != want[k] {
					t.Fatalf("%s n=%d: key %#x: %d, want %d", dt, n, k, got[k], want[k])
				}
			}
			if h.N != int64(n) || h.check() != nil {
				t.Fatalf("%s n=%d: N %d, check %v", dt, n, h.N, h.check())
			}
			// Written in random pieces, split inside elements too.
			b, _ := NewBuilder(dt, int64(n))
			for rest := raw; len(rest) > 0; {
				k := min(len(rest), r.IntN(9))
				if _, err := b.Write(rest[:k]); err != nil {
					t.Fatal(err)
				}
				rest = rest[k:]
			}
			h2, err := b.Histogram()
			if err != nil {
				t.Fatal(err)
			}
			if !sameHistogram(h, h2) {
				t.Fatalf("%s n=%d: written in pieces, the histogram differs", dt, n)
			}
		}
	}
}

func sameHistogram(a, b *Histogram) bool {
	if a.DType != b.DType || a.N != b.N || len(a.Keys) != len(b.Keys) {
		return false
	}
	for i := range a.Keys {
		if a.Keys[i] != b.Keys[i] || a.Counts[i] != b.Counts[i] {
			return false
		}
	}
	return true
}

func TestBuilderRefusesWrongLength(t *testing.T) {
	b, _ := NewBuilder(safetensors.BF16, 3)
	if _, err := b.Write(make([]byte, 8)); err == nil {
		t.Error("8 bytes into a 3-element bfloat16 tensor accepted")
	}
	b, _ = NewBuilder(safetensors.BF16, 3)
	b.Write(make([]byte, 5))
	if _, err := b.Histogram(); err == nil {
		t.Error("a histogram of 5 of 6 bytes")
	}
	if _, err := NewBuilder(safetensors.I64, 3); err == nil {
		t.Error("I64 accepted")
	}
	if _, err := Compute(safetensors.F32, make([]byte, 6)); err == nil {
		t.Error("6 bytes accepted as float32 elements")
	}
}

func TestFinite(t *testing.T) {
	for _, c := range []struct {
		dt   safetensors.DType
		bits uint16
		ok   bool
	}{{safetensors.BF16, 0x7F7F, true}, {safetensors.BF16, 0xFF80, false}, {safetensors.F16, 0x7BFF, true}, {safetensors.F16, 0x7C00, false}, {safetensors.F16, 0xFE00, false}} {
		raw := binary.LittleEndian.AppendUint16(nil, c.bits)
		h, _ := Compute(c.dt, raw)
		if h.Finite() != c.ok {
			t.Errorf("%s %#04x: finite %v", c.dt, c.bits, h.Finite())
		}
	}
	h, _ := Compute(safetensors.F32, binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(math.Inf(-1)))))
	if h.Finite() {
		t.Error("float32 -Inf counted finite")
	}
}

func sampleStats(t *testing.T, r *rand.Rand) *Stats {
	s := New()
	for i, name := range []string{"b.weight", "a.weight", "model.layers.0.mlp.up_proj.weight", "z", ""} {
		dt := dtypes[i%3]
		h, err := Compute(dt, rawTensor(r, dt, 1+r.IntN(3000)))
		if err != nil {
			t.Fatal(err)
		}
		s.Add(name, h)
	}
	return s
}

func TestEncodeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := sampleStats(t, r)
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Names(), s.Names(); len(got) != len(want) {
		t.Fatalf("names %q, want %q", got, want)
	}
	for _, name := range s.Names() {
		a, _ := s.Histogram(name)
		c, ok := p.Histogram(name)
		if !ok || !sameHistogram(a, c) {
			t.Fatalf("tensor %q: decoded histogram differs", name)
		}
	}
	again, err := p.MarshalBinary() // undecoded records pass through
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoding differs (err %v)", err)
	}
	for _, name := range p.Names() { // and decoded ones encode the same
		h, _ := p.Histogram(name)
		p.Add(name, h)
	}
	if again, _ := p.MarshalBinary(); !bytes.Equal(again, b) {
		t.Fatal("the encoding is not canonical")
	}
}

func TestParseRefuses(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	b, _ := sampleStats(t, r).MarshalBinary()
	for cut := range len(b) {
		if _, err := Parse(b[:cut]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: accepted", cut, len(b))
		}
	}
	if _, err := Parse(append(append([]byte(nil), b...), 0)); err == nil {
		t.Error("a trailing byte accepted")
	}
	v2 := append([]byte(nil), b...)
	v2[len(magic)] = 2
	if _, err := Parse(v2); !errors.Is(err, ErrFormat) {
		t.Errorf("version 2: %v", err)
	}
	// A record whose counts do not sum to N parses (framing) but does not
	// decode.
	s := New()
	s.hists["t"], s.names = &Histogram{DType: safetensors.BF16, N: 5, Keys: []uint16{1}, Counts: []int64{4}}, []string{"t"}
	if _, err := s.MarshalBinary(); err == nil {
		t.Error("an inconsistent histogram encoded")
	}
	enc := append([]byte(magic), 1, 1, 1, 't', 1, 5, 1, 1, 4)
	p, err := Parse(enc)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Histogram("t"); ok {
		t.Error("a histogram counting 4 of 5 elements decoded")
	}
	// Names out of order.
	enc = append([]byte(magic), 1, 2, 1, 'b', 1, 1, 1, 0, 1, 1, 'a', 1, 1, 1, 0, 1)
	if _, err := Parse(enc); err == nil {
		t.Error("names out of order accepted")
	}
}

func FuzzParse(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	b, _ := sampleStats(&testing.T{}, r).MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		for _, name := range s.Names() {
			if h, ok := s.Histogram(name); ok {
				if err := h.check(); err != nil {
					t.Fatalf("tensor %q decoded but fails its check: %v", name, err)
				}
			}
		}
		if _, err := s.MarshalBinary(); err != nil {
			t.Fatalf("parsed statistics do not encode: %v", err)
		}
	})
}

func TestFileBuilder(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	specs := []safetensors.TensorSpec{
		{Name: "w.bf16", DType: safetensors.BF16, Shape: []int64{33, 7}},
		{Name: "ids", DType: safetensors.I64, Shape: []int64{5}},
		{Name: "w.f32", DType: safetensors.F32, Shape: []int64{101}},
		{Name: "w.f16", DType: safetensors.F16, Shape: []int64{3, 3, 3}},
		{Name: "empty", DType: safetensors.BF16, Shape: []int64{0}},
	}
	var file bytes.Buffer
	w, err := safetensors.NewWriter(&file, specs, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := New()
	for _, info := range w.Tensors() {
		raw := rawTensor(r, info.DType, int(info.NumElements()))
		if info.DType == safetensors.I64 {
			raw = make([]byte, info.Size())
		} else {
			h, _ := Compute(info.DType, raw)
			want.Add(info.Name, h)
		}
		if _, err := w.Write(raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fb := NewFileBuilder(int64(file.Len()))
	for rest := file.Bytes(); len(rest) > 0; {
		k := min(len(rest), 1+r.IntN(50))
		if _, err := fb.Write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	got, err := fb.Stats()
	if err != nil {
		t.Fatal(err)
	}
	gb, _ := got.MarshalBinary()
	wb, _ := want.MarshalBinary()
	if !bytes.Equal(gb, wb) {
		t.Fatalf("file statistics %q differ from the tensors' %q", got.Names(), want.Names())
	}
	if _, err := NewFileBuilder(int64(file.Len()) - 1).Write(file.Bytes()); err == nil {
		t.Error("a file longer than its size accepted")
	}
}
