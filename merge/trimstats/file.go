package trimstats

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"github.com/potluck-hub/potluck/safetensors"
)

// FileName is the statistics sidecar of a release: a regular file beside
// its shards, listed in its manifest like every file (so its SHA-256 and
// CID are signed with the release).
const FileName = "potluck.stats"

// The encoding, version 1 (all integers unsigned LEB128 varints):
//
//	"PLKSTATS"  magic, 8 bytes
//	1           version
//	T           the number of tensors
//	T records, by name ascending (bytewise):
//	  len(name), name (UTF-8)
//	  dtype: 1 BF16, 2 F16, 3 F32
//	  N, the elements
//	  B, the non-empty bins
//	  B pairs (gap, count): the bin's key is the previous key + 1 + gap
//	  (the first: gap), count ≥ 1; the counts sum to N
//
// Nothing follows the last record. The encoding is canonical: the same
// histograms give the same bytes. A later version changes the version
// number; a reader refuses versions it does not know.

const (
	magic   = "PLKSTATS"
	version = 1
)

var dtypeCodes = []safetensors.DType{1: safetensors.BF16, 2: safetensors.F16, 3: safetensors.F32}

func dtypeCode(dt safetensors.DType) byte {
	for c, d := range dtypeCodes {
		if d == dt && c > 0 {
			return byte(c)
		}
	}
	return 0
}

// Stats is the histograms of a release's tensors, by name: what FileName
// holds. A parsed Stats decodes each histogram when it is asked for.
type Stats struct {
	names []string // sorted
	hists map[string]*Histogram
	raw   map[string][]byte // a parsed record, decoded on demand
}

// New returns empty statistics.
func New() *Stats { return &Stats{hists: map[string]*Histogram{}, raw: map[string][]byte{}} }

// Add records tensor name's histogram, replacing any before.
func (s *Stats) Add(name string, h *Histogram) {
	if _, ok := s.hists[name]; !ok {
		if _, ok := s.raw[name]; !ok {
			i := sort.SearchStrings(s.names, name)
			s.names = append(s.names, "")
			copy(s.names[i+1:], s.names[i:])
			s.names[i] = name
		}
	}
	delete(s.raw, name)
	s.hists[name] = h
}

// Names lists the tensors, sorted.
func (s *Stats) Names() []string { return s.names }

// Histogram returns tensor name's histogram. A record that fails to decode
// is reported as absent (Parse checked its framing, not its bins).
func (s *Stats) Histogram(name string) (*Histogram, bool) {
	if h, ok := s.hists[name]; ok {
		return h, true
	}
	rec, ok := s.raw[name]
	if !ok {
		return nil, false
	}
	h, err := decodeHistogram(rec)
	if err != nil {
		return nil, false
	}
	return h, true
}

// Encode writes the statistics in the version-1 encoding.
func (s *Stats) Encode(w io.Writer) error {
	var b []byte
	b = append(b, magic...)
	b = binary.AppendUvarint(b, version)
	b = binary.AppendUvarint(b, uint64(len(s.names)))
	for _, name := range s.names {
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		if rec, ok := s.raw[name]; ok {
			b = append(b, rec...)
			continue
		}
		h := s.hists[name]
		if err := h.check(); err != nil {
			return fmt.Errorf("trimstats: tensor %q: %w", name, err)
		}
		b = appendHistogram(b, h)
	}
	_, err := w.Write(b)
	return err
}

// MarshalBinary is Encode into a byte slice.
func (s *Stats) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	err := s.Encode(&buf)
	return buf.Bytes(), err
}

func appendHistogram(b []byte, h *Histogram) []byte {
	b = append(b, dtypeCode(h.DType))
	b = binary.AppendUvarint(b, uint64(h.N))
	b = binary.AppendUvarint(b, uint64(len(h.Keys)))
	next := 0
	for i, k := range h.Keys {
		b = binary.AppendUvarint(b, uint64(int(k)-next))
		b = binary.AppendUvarint(b, uint64(h.Counts[i]))
		next = int(k) + 1
	}
	return b
}

// Parse reads statistics in the version-1 encoding. It checks the framing
// (magic, version, names in order, every record's length) at once; each
// histogram is decoded and checked when it is asked for.
func Parse(b []byte) (*Stats, error) {
	if !bytes.HasPrefix(b, []byte(magic)) {
		return nil, fmt.Errorf("%w: no %q magic", ErrFormat, magic)
	}
	r := &reader{b: b[len(magic):]}
	if v := r.uvarint(); r.err == nil && v != version {
		return nil, fmt.Errorf("%w: version %d (this reader knows %d)", ErrFormat, v, version)
	}
	count := r.uvarint()
	s := New()
	for i := uint64(0); i < count && r.err == nil; i++ {
		name := string(r.bytes(r.uvarint()))
		start := len(r.b)
		r.skipHistogram()
		if r.err != nil {
			break
		}
		if len(s.names) > 0 && name <= s.names[len(s.names)-1] {
			return nil, fmt.Errorf("%w: tensor %q out of order", ErrFormat, name)
		}
		s.names = append(s.names, name)
		rec := b[len(b)-start : len(b)-len(r.b)]
		s.raw[name] = rec
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last record", ErrFormat, len(r.b))
	}
	return s, nil
}

// decodeHistogram decodes and checks one record after its name.
func decodeHistogram(rec []byte) (*Histogram, error) {
	r := &reader{b: rec}
	code := r.byte()
	h := &Histogram{N: int64(r.uvarint())}
	if int(code) < len(dtypeCodes) {
		h.DType = dtypeCodes[code]
	}
	bins := r.uvarint()
	if bins > Bins {
		return nil, fmt.Errorf("%w: %d bins", ErrFormat, bins)
	}
	next := uint64(0)
	for range bins {
		k := next + r.uvarint()
		c := r.uvarint()
		if r.err != nil || k >= Bins || c > 1<<62 {
			return nil, fmt.Errorf("%w: bad bin", ErrFormat)
		}
		h.Keys, h.Counts = append(h.Keys, uint16(k)), append(h.Counts, int64(c))
		next = k + 1
	}
	if r.err != nil {
		return nil, r.err
	}
	if h.N > 1<<62 {
		return nil, fmt.Errorf("%w: %d elements", ErrFormat, h.N)
	}
	return h, h.check()
}

// reader reads varints and bytes, keeping the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() { r.err, r.b = fmt.Errorf("%w: truncated", ErrFormat), nil }

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// skipHistogram steps over one record after its name.
func (r *reader) skipHistogram() {
	r.byte()
	r.uvarint()
	bins := r.uvarint()
	if bins > Bins {
		r.err, r.b = fmt.Errorf("%w: %d bins", ErrFormat, bins), nil
		return
	}
	for range 2 * bins {
		r.uvarint()
	}
}
