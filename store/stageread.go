package store

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// A commit to a remote backend reads the staged bytes back once, as the
// upload's parallel part streams ask for them. Where the file system allows
// (Linux), they are read with direct I/O in large aligned blocks instead of
// through the page cache: the staging writer left nothing there, and filling
// it for bytes read once costs more CPU than the disk does, CPU the upload
// needs. Each stream reads on in the block it is in while the next one is
// read ahead, so the disk works while the network sends.

const (
	readBlock  = 2 << 20 // bytes per direct read
	readBlocks = 8       // blocks kept: the current and the next of a few streams
)

// stagedFile is what a commit uploads from: Put's reader, with ReadAt for
// uploaders that read parts in parallel.
type stagedFile interface {
	io.Reader
	io.ReaderAt
	io.Closer
}

// blockReader serves reads of a file opened for direct I/O from aligned
// blocks of it, reading ahead of each reader.
type blockReader struct {
	f    *os.File
	size int64
	wg   sync.WaitGroup // block reads in flight

	mu     sync.Mutex
	closed bool  // Close was called: reads fail, no block read starts
	pos    int64 // Read's offset
	blocks [readBlocks]block
	tick   uint64
}

// block is one aligned block of the file. Its fields change under the
// reader's mu; buf, while the block is being read, only by the goroutine
// reading it.
type block struct {
	buf   []byte
	off   int64         // file offset of buf[0]
	n     int           // bytes of the file in buf
	ready chan struct{} // closed once read; nil for a block never used
	err   error
	used  uint64
}

func (b *block) loading() bool {
	if b.ready == nil {
		return false
	}
	select {
	case <-b.ready:
		return false
	default:
		return true
	}
}

func (r *blockReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.readAt(p, r.pos)
	r.pos += int64(n)
	return n, err
}

func (r *blockReader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readAt(p, off)
}

func (r *blockReader) readAt(p []byte, off int64) (int, error) {
	if r.closed {
		// An HTTP client may still read a request's body after the
		// response came (a refused conditional put) and Put returned.
		return 0, fmt.Errorf("store: read %s: %w", r.f.Name(), os.ErrClosed)
	}
	if off < 0 {
		return 0, fmt.Errorf("store: read %s: negative offset %d", r.f.Name(), off)
	}
	n := 0
	for n < len(p) {
		if off >= r.size {
			return n, io.EOF
		}
		b, err := r.block(off &^ (readBlock - 1))
		if err != nil {
			return n, err
		}
		c := copy(p[n:], b.buf[off-b.off:b.n])
		n += c
		off += int64(c)
		if next := b.off + readBlock; next < r.size && r.find(next) == nil {
			r.start(next, false)
		}
	}
	return n, nil
}

// block returns the block at start, once read, reading it if no block has
// it. It waits without holding mu.
func (r *blockReader) block(start int64) (*block, error) {
	for {
		b := r.find(start)
		if b == nil {
			b = r.start(start, true)
		}
		r.tick++
		b.used = r.tick
		if !b.loading() {
			return b, b.err
		}
		ready := b.ready
		r.mu.Unlock()
		<-ready
		r.mu.Lock()
		if r.closed {
			return nil, fmt.Errorf("store: read %s: %w", r.f.Name(), os.ErrClosed)
		}
	}
}

// find returns the block at start, read or being read, or nil.
func (r *blockReader) find(start int64) *block {
	for i := range r.blocks {
		if b := &r.blocks[i]; b.ready != nil && b.off == start && (b.loading() || b.err == nil) {
			return b
		}
	}
	return nil
}

// start begins reading the block at start into the least recently used
// block not being read. If every block is being read, it waits for one
// when wait is set, and otherwise (a read ahead) does nothing.
func (r *blockReader) start(start int64, wait bool) *block {
	for {
		var lru *block
		for i := range r.blocks {
			if b := &r.blocks[i]; !b.loading() && (lru == nil || b.used < lru.used) {
				lru = b
			}
		}
		if lru != nil {
			r.tick++
			*lru = block{buf: lru.buf, off: start, n: int(min(readBlock, r.size-start)), ready: make(chan struct{}), used: r.tick}
			if lru.buf == nil {
				lru.buf = alignedBuf(readBlock)
			}
			r.wg.Add(1)
			go r.fill(lru)
			return lru
		}
		if !wait {
			return nil
		}
		ready := r.blocks[0].ready
		r.mu.Unlock()
		<-ready
		r.mu.Lock()
	}
}

// fill reads block b from the file.
func (r *blockReader) fill(b *block) {
	defer r.wg.Done()
	want := b.n
	m, err := r.pread(b.buf[:(want+dioAlign-1)&^(dioAlign-1)], b.off)
	if m >= want {
		err = nil
	} else if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF // the file shrank
	}
	r.mu.Lock()
	if err != nil {
		b.err = fmt.Errorf("store: read %s at %d: %w", r.f.Name(), b.off, err)
	}
	close(b.ready)
	r.mu.Unlock()
}

// Close waits for reads ahead in flight, then closes the file.
func (r *blockReader) Close() error {
	r.mu.Lock()
	r.closed = true // after this no read starts a block, so no wg.Add
	r.mu.Unlock()
	r.wg.Wait()
	return r.f.Close()
}
