package store

import (
	"crypto/sha256"
	"hash"
	"io"
	"runtime"

	cid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// Hashing is what limits an import: each byte is hashed twice, once for its
// chunk's CID and once for the file's SHA-256. kubo does both on one core.
// The pipeline here reads 256 KiB chunks ahead and hashes their leaf CIDs on
// every core while the importer's goroutine feeds the file's SHA-256 and the
// staging file in order; boxo's own balanced layout then builds the DAG,
// taking each leaf's CID from the pipeline instead of hashing it again
// (hashedBuilder). The layout, and so every CID, is boxo's.

// window is how many chunks may be in flight: it bounds the pipeline's
// memory at window × 256 KiB whatever the file's size.
const window = 16

// piece is one chunk on its way through the pipeline.
type piece struct {
	data []byte
	leaf cid.Cid
	done chan struct{} // closed once leaf is set
}

// pipeline is a chunker.Splitter whose chunks arrive hashed.
type pipeline struct {
	r      io.Reader
	free   chan []byte
	out    chan *piece
	quit   chan struct{}
	err    error     // the reader's error, valid once out is closed
	file   hash.Hash // the whole file's SHA-256
	w      io.Writer // receives the bytes in order, or nil
	recent [3]*piece // chunks handed to the layout and not yet recycled
	n      int64     // bytes handed out
}

func newPipeline(r io.Reader, w io.Writer) *pipeline {
	p := &pipeline{
		r:    r,
		free: make(chan []byte, window),
		out:  make(chan *piece, window),
		quit: make(chan struct{}),
		file: sha256.New(),
		w:    w,
	}
	for range window {
		p.free <- make([]byte, ChunkSize)
	}
	jobs := make(chan *piece, window)
	for range max(1, runtime.GOMAXPROCS(0)) {
		go func() {
			for pc := range jobs {
				pc.leaf = rawLeafCID(pc.data)
				close(pc.done)
			}
		}()
	}
	go p.read(jobs)
	return p
}

// read fills chunks in file order and hands each to the hashers and, in
// order, to the layout.
func (p *pipeline) read(jobs chan<- *piece) {
	defer close(p.out)
	defer close(jobs)
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.quit:
			return
		}
		n, err := fill(p.r, buf)
		if n > 0 {
			pc := &piece{data: buf[:n], done: make(chan struct{})}
			jobs <- pc
			select {
			case p.out <- pc:
			case <-p.quit:
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				p.err = err
			}
			return
		}
	}
}

// fill reads until buf is full or r ends. Unlike io.ReadFull it keeps a
// reader's own io.ErrUnexpectedEOF an error rather than a short last chunk.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Reader is part of chunker.Splitter; the layout never calls it.
func (p *pipeline) Reader() io.Reader { return p.r }

// NextBytes hands the next hashed chunk to the layout, feeding the file's
// digest and the writer on the way.
func (p *pipeline) NextBytes() ([]byte, error) {
	pc, ok := <-p.out
	if !ok {
		if p.err != nil {
			return nil, p.err
		}
		return nil, io.EOF
	}
	p.file.Write(pc.data)
	if p.w != nil {
		if _, err := p.w.Write(pc.data); err != nil {
			return nil, err
		}
	}
	<-pc.done
	// boxo looks one chunk ahead, so a chunk handed out three calls ago is
	// hashed and added to the DAG: its buffer can be read into again.
	if old := p.recent[0]; old != nil {
		p.free <- old.data[:cap(old.data)]
	}
	p.recent = [3]*piece{p.recent[1], p.recent[2], pc}
	p.n += int64(len(pc.data))
	return pc.data, nil
}

// close stops the reader if the layout gave up early.
func (p *pipeline) close() { close(p.quit) }

// leafFor returns the pipeline's CID for data, if data is a chunk it handed
// out recently (the very slice, not equal bytes).
func (p *pipeline) leafFor(data []byte) (cid.Cid, bool) {
	if len(data) == 0 {
		return cid.Undef, false
	}
	for _, pc := range p.recent {
		if pc != nil && len(pc.data) == len(data) && &pc.data[0] == &data[0] {
			return pc.leaf, true
		}
	}
	return cid.Undef, false
}

func rawLeafCID(data []byte) cid.Cid {
	sum := sha256.Sum256(data)
	m, err := mh.Encode(sum[:], mh.SHA2_256)
	if err != nil {
		panic(err) // SHA2_256 with a 32-byte digest cannot fail
	}
	return cid.NewCidV1(cid.Raw, m)
}

// hashedBuilder is the cid.Builder the layout uses: CIDv1 with SHA-256, but
// a raw leaf the pipeline already hashed gets that CID without hashing again.
// Anything else (interior nodes, a chunk it does not know) is hashed as
// usual, so the result never depends on the shortcut.
type hashedBuilder struct {
	prefix cid.Prefix
	p      *pipeline
}

func (b hashedBuilder) Sum(data []byte) (cid.Cid, error) {
	if b.prefix.Codec == cid.Raw {
		if c, ok := b.p.leafFor(data); ok {
			return c, nil
		}
	}
	return b.prefix.Sum(data)
}

func (b hashedBuilder) GetCodec() uint64 { return b.prefix.Codec }

func (b hashedBuilder) WithCodec(c uint64) cid.Builder {
	b.prefix.Codec = c
	return b
}
