package store

import (
	"os"
	"unsafe"
)

// The staging data file is written by a goroutine of its own, fed by the
// pipeline in file order with chunks already hashed, so the disk works while
// the cores hash; the chunk buffers then go back to the pipeline's pool, so
// memory stays at window × 256 KiB whatever the file's size. Where the file
// system allows (stagefile_linux.go) the file is written with direct I/O, up
// to 4 MiB a call, straight from those buffers: on a VM, filling fresh
// page-cache pages costs more than the disk itself, and an import need not
// leave gigabytes of one file in the cache. (Preallocating the file when its
// size is known measured no faster, so it is not done.)

const (
	dioAlign = 4096 // offsets, lengths and buffers of direct writes align to this
	minBatch = 4    // chunks the writer waits for before a write (1 MiB)
	maxBatch = 16   // chunks it writes at most in one call (4 MiB)
)

// stageWriter writes chunks to the staging data file in order.
type stageWriter struct {
	f      *os.File
	free   chan<- []byte // where written buffers go back
	in     chan *piece
	done   chan struct{}
	off    int64 // bytes written
	direct bool  // direct I/O is on (Linux)
	err    error // the first write error; later chunks are dropped
}

func newStageWriter(f *os.File, free chan<- []byte) *stageWriter {
	w := &stageWriter{f: f, free: free, in: make(chan *piece, window), done: make(chan struct{})}
	w.start()
	go w.run()
	return w
}

// put queues the next chunk; the writer owns its buffer from now on.
func (w *stageWriter) put(pc *piece) { w.in <- pc }

// finish waits for every queued chunk to be written and returns the first
// error.
func (w *stageWriter) finish() error {
	close(w.in)
	<-w.done
	return w.err
}

func (w *stageWriter) run() {
	defer close(w.done)
	batch := make([][]byte, 0, maxBatch)
	open := true
	for open {
		batch, open = w.gather(batch[:0])
		if len(batch) == 0 {
			continue
		}
		if w.err == nil {
			w.err = w.write(batch)
		}
		for _, b := range batch {
			w.free <- b[:cap(b)]
		}
	}
}

// gather waits for minBatch chunks (or the end) and takes what else is
// queued, up to maxBatch; it reports whether more chunks may come.
func (w *stageWriter) gather(batch [][]byte) ([][]byte, bool) {
	for len(batch) < maxBatch {
		var pc *piece
		var ok bool
		if len(batch) < minBatch {
			pc, ok = <-w.in
		} else {
			select {
			case pc, ok = <-w.in:
			default:
				return batch, true
			}
		}
		if !ok {
			return batch, false
		}
		batch = append(batch, pc.data)
		if len(pc.data) < ChunkSize {
			break // the file's last chunk
		}
	}
	return batch, true
}

// alignedBuf returns n bytes whose start is aligned for direct I/O.
func alignedBuf(n int) []byte {
	b := make([]byte, n+dioAlign)
	off := 0
	if rem := int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) % dioAlign); rem != 0 {
		off = dioAlign - rem
	}
	return b[off : off+n : off+n]
}
