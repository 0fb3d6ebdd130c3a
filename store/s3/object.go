package s3

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/minio/minio-go/v7"
)

// object reads one stored object by HTTP range requests. A read at a new
// place asks for exactly the bytes wanted; a read that carries on where the
// last one ended opens one request to the end of the object and keeps
// reading it, so a tensor or a whole file streams in one request instead of
// one per chunk.
type object struct {
	b    *Backend
	ctx  context.Context
	key  string
	size int64

	mu     sync.Mutex
	closed bool
	last   int64         // end of the last read, -1 for none
	stream io.ReadCloser // open to the end of the object, at pos
	pos    int64
}

func (o *object) Size() int64 { return o.size }

func (o *object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("s3: %s: negative offset %d", o.key, off)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	want := p[:min(int64(len(p)), o.size-off)]
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, errClosed
	}
	var n int
	var err error
	switch {
	case o.stream != nil && o.pos == off:
		n, err = io.ReadFull(o.stream, want)
	case o.last == off && off > 0:
		o.dropStream()
		if o.stream, err = o.get(off, 0); err == nil {
			n, err = io.ReadFull(o.stream, want)
		}
	default:
		o.dropStream()
		var r io.ReadCloser
		if r, err = o.get(off, off+int64(len(want))-1); err == nil {
			n, err = io.ReadFull(r, want)
			r.Close()
		}
	}
	if o.stream != nil {
		o.pos = off + int64(n)
	}
	o.last = off + int64(n)
	if err != nil {
		o.dropStream()
		return n, o.b.fail(fmt.Sprintf("read at %d of", off), o.key, err)
	}
	if len(want) < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// get opens bytes [start, end] of the object (end 0: to its end).
func (o *object) get(start, end int64) (io.ReadCloser, error) {
	opts := minio.GetObjectOptions{}
	if err := opts.SetRange(start, end); err != nil {
		return nil, err
	}
	return o.b.c.GetObject(o.ctx, o.b.opts.Bucket, o.b.key(o.key), opts)
}

func (o *object) dropStream() {
	if o.stream != nil {
		o.stream.Close()
		o.stream = nil
	}
}

func (o *object) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dropStream()
	o.closed = true
	return nil
}
