package store

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"runtime"

	cid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// Hashing is what limits an import: each byte is hashed twice, once for its
// chunk's CID and once for the file's SHA-256 (kubo does both on one core).
// The pipeline reads 256 KiB chunks ahead on a goroutine of its own and
// hands them, hashed, to boxo's balanced layout, which builds the DAG taking
// each leaf's CID from the pipeline instead of hashing it again
// (hashedBuilder): the layout, and so every CID, is boxo's. With the SHA
// extensions the importer's goroutine hashes each chunk into both digests in
// one pass (blocks2), at the speed of hashing once, leaving the other cores
// to read and write; without them the leaves are hashed on every core with
// crypto/sha256 while the importer feeds the file's digest. Chunks the
// layout is done with go to the staging writer (stagefile.go), or straight
// back to the pool.

// window is how many chunks may be in flight, read and not yet written: it
// bounds the pipeline's memory at window × 256 KiB whatever the file's size.
const window = 32

// piece is one chunk on its way through the pipeline.
type piece struct {
	data []byte
	leaf cid.Cid
	done chan struct{} // closed once leaf is set; nil when the importer hashes
}

// pipeline is a chunker.Splitter whose chunks arrive hashed.
type pipeline struct {
	r    io.Reader
	free chan []byte
	out  chan *piece
	quit chan struct{}
	err  error // the reader's error, valid once out is closed

	// Used by the importer's goroutine only.
	fused  *fileHash    // both digests in one pass, or nil
	file   hash.Hash    // otherwise the file's digest
	spent  func(*piece) // takes a chunk the layout is done with
	recent [3]*piece    // chunks handed to the layout and not yet spent
	n      int64        // bytes handed out
}

func newPipeline(r io.Reader) *pipeline {
	p := &pipeline{
		r:    r,
		free: make(chan []byte, window),
		out:  make(chan *piece, window),
		quit: make(chan struct{}),
	}
	p.spent = p.recycle
	for range window {
		p.free <- alignedBuf(ChunkSize)
	}
	var jobs chan *piece
	if fusedHashing {
		p.fused = newFileHash()
	} else {
		p.file = sha256.New()
		jobs = make(chan *piece, window)
		for range max(1, runtime.GOMAXPROCS(0)) {
			go func() {
				for pc := range jobs {
					pc.leaf = rawLeafCID(sha256.Sum256(pc.data))
					close(pc.done)
				}
			}()
		}
	}
	go p.read(jobs)
	return p
}

// read fills chunks in file order and hands each to the layout and, if
// there are leaf hashers, to them.
func (p *pipeline) read(jobs chan<- *piece) {
	defer close(p.out)
	if jobs != nil {
		defer close(jobs)
	}
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.quit:
			return
		}
		n, err := fill(p.r, buf)
		if n > 0 {
			pc := &piece{data: buf[:n]}
			if jobs != nil {
				pc.done = make(chan struct{})
				jobs <- pc
			}
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

// NextBytes hands the next chunk to the layout, hashed, feeding the file's
// digest on the way.
func (p *pipeline) NextBytes() ([]byte, error) {
	pc, ok := <-p.out
	if !ok {
		if p.err != nil {
			return nil, p.err
		}
		return nil, io.EOF
	}
	if p.fused != nil {
		pc.leaf = rawLeafCID(p.fused.chunk(pc.data))
	} else {
		p.file.Write(pc.data)
		<-pc.done
	}
	// boxo looks one chunk ahead, so a chunk handed out three calls ago is
	// hashed and added to the DAG: the layout is done with it.
	if old := p.recent[0]; old != nil {
		p.spent(old)
	}
	p.recent = [3]*piece{p.recent[1], p.recent[2], pc}
	p.n += int64(len(pc.data))
	return pc.data, nil
}

// flush spends, in order, the chunks the layout held when it finished.
func (p *pipeline) flush() {
	for i, pc := range p.recent {
		if pc != nil {
			p.spent(pc)
		}
		p.recent[i] = nil
	}
}

// recycle returns a chunk's buffer to the pool.
func (p *pipeline) recycle(pc *piece) { p.free <- pc.data[:cap(pc.data)] }

// close stops the reader if the layout gave up early.
func (p *pipeline) close() { close(p.quit) }

// digest is the file's SHA-256, once NextBytes has returned io.EOF.
func (p *pipeline) digest() [32]byte {
	if p.fused != nil {
		return p.fused.sum()
	}
	var d [32]byte
	p.file.Sum(d[:0])
	return d
}

// leafFor returns the pipeline's CID for data, if data is a chunk it handed
// out recently (the very slice, not equal bytes), or errUnknownLeaf.
func (p *pipeline) leafFor(data []byte) (cid.Cid, error) {
	if len(data) == 0 {
		return cid.Undef, errUnknownLeaf
	}
	for _, pc := range p.recent {
		if pc != nil && len(pc.data) == len(data) && &pc.data[0] == &data[0] {
			return pc.leaf, nil
		}
	}
	return cid.Undef, errUnknownLeaf
}

// rawLeafCID is the CID of a raw leaf whose SHA-256 is sum.
func rawLeafCID(sum [32]byte) cid.Cid {
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
	p      leafFinder
}

// leafFinder knows the CIDs of the chunks it handed the layout recently:
// leafFor returns errUnknownLeaf for data it does not know, which is then
// hashed, and any other error to stop the layout.
type leafFinder interface {
	leafFor(data []byte) (cid.Cid, error)
}

var errUnknownLeaf = errors.New("store: not a chunk the layout was handed")

func (b hashedBuilder) Sum(data []byte) (cid.Cid, error) {
	if b.prefix.Codec == cid.Raw {
		c, err := b.p.leafFor(data)
		if err == nil || !errors.Is(err, errUnknownLeaf) {
			return c, err
		}
	}
	return b.prefix.Sum(data)
}

func (b hashedBuilder) GetCodec() uint64 { return b.prefix.Codec }

func (b hashedBuilder) WithCodec(c uint64) cid.Builder {
	b.prefix.Codec = c
	return b
}
