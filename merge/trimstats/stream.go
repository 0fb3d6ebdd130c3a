package trimstats

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/potluck-hub/potluck/safetensors"
)

// FileBuilder takes the histograms of every BF16, F16 and F32 tensor of a
// safetensors file from its bytes written in order from the first, in
// pieces of any length: a writer to tee beside a hash or an upload, so the
// statistics cost no read of their own.
type FileBuilder struct {
	size   int64 // the file's
	at     int64 // bytes written so far
	head   []byte
	header *safetensors.Header
	next   int // the tensor at or after at
	cur    *Builder
	stats  *Stats
}

// NewFileBuilder starts the statistics of a safetensors file of size
// bytes.
func NewFileBuilder(size int64) *FileBuilder {
	return &FileBuilder{size: size, stats: New()}
}

// Write feeds the file's next bytes.
func (f *FileBuilder) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if f.header == nil {
			n, err := f.readHeader(p)
			if err != nil {
				return 0, err
			}
			p = p[n:]
			continue
		}
		if f.next >= len(f.header.Tensors) {
			f.at += int64(len(p))
			break
		}
		t := f.header.Tensors[f.next]
		if f.at < t.Start { // bytes between tensors
			k := min(int64(len(p)), t.Start-f.at)
			f.at += k
			p = p[k:]
			continue
		}
		k := min(int64(len(p)), t.End-f.at)
		if f.cur == nil && t.DType.IsFloat() && supported(t.DType) {
			b, err := NewBuilder(t.DType, t.NumElements())
			if err != nil {
				return 0, err
			}
			f.cur = b
		}
		if f.cur != nil {
			if _, err := f.cur.Write(p[:k]); err != nil {
				return 0, fmt.Errorf("trimstats: tensor %q: %w", t.Name, err)
			}
		}
		f.at += k
		p = p[k:]
		if f.at == t.End {
			if err := f.finish(t); err != nil {
				return 0, err
			}
		}
	}
	if f.at > f.size {
		return 0, fmt.Errorf("trimstats: more than the file's %d bytes", f.size)
	}
	return total, f.finishEmpty()
}

// finishEmpty closes the empty tensors that start where the bytes so far
// end (which no byte will close).
func (f *FileBuilder) finishEmpty() error {
	for f.header != nil && f.next < len(f.header.Tensors) {
		t := f.header.Tensors[f.next]
		if t.Start != t.End || t.Start != f.at {
			return nil
		}
		if t.DType.IsFloat() && supported(t.DType) {
			f.cur, _ = NewBuilder(t.DType, 0)
		}
		if err := f.finish(t); err != nil {
			return err
		}
	}
	return nil
}

// readHeader gathers the 8-byte length and the header, then parses it.
func (f *FileBuilder) readHeader(p []byte) (int, error) {
	want := int64(8)
	if len(f.head) >= 8 {
		want = 8 + int64(binary.LittleEndian.Uint64(f.head))
		if want-8 > safetensors.MaxHeaderSize || want > f.size {
			return 0, fmt.Errorf("trimstats: header length %d in a file of %d bytes", want-8, f.size)
		}
	}
	k := int(min(int64(len(p)), want-int64(len(f.head))))
	f.head = append(f.head, p[:k]...)
	f.at += int64(k)
	if int64(len(f.head)) == want && want > 8 {
		h, err := safetensors.ReadHeader(bytes.NewReader(f.head), f.size)
		if err != nil {
			return 0, err
		}
		f.header, f.head = h, nil
	}
	return k, nil
}

// finish closes tensor t: its histogram, if it has one, joins the stats.
func (f *FileBuilder) finish(t safetensors.TensorInfo) error {
	f.next++
	if f.cur == nil {
		return nil
	}
	h, err := f.cur.Histogram()
	if err != nil {
		return fmt.Errorf("trimstats: tensor %q: %w", t.Name, err)
	}
	f.stats.Add(t.Name, h)
	f.cur = nil
	return nil
}

// Stats returns the histograms, once the whole file has been written.
func (f *FileBuilder) Stats() (*Stats, error) {
	if f.header == nil || f.at != f.size {
		return nil, fmt.Errorf("trimstats: %d of the file's %d bytes written", f.at, f.size)
	}
	return f.stats, f.finishEmpty()
}

// Merge adds every histogram of o to s (the statistics of a release's
// shards are one Stats: tensor names are unique across shards).
func (s *Stats) Merge(o *Stats) {
	for _, name := range o.Names() {
		if h, ok := o.Histogram(name); ok {
			s.Add(name, h)
		}
	}
}
