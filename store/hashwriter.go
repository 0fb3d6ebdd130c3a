package store

import (
	"errors"
	"io"
)

// HashWriter hashes a file's bytes (SHA-256 and CID, as HashFile does) as
// they are written to it, on HashFile's own goroutines: a caller that
// writes or receives a file itself (a pulled release, a delta being
// computed) has its hashes when the last byte is written, instead of
// reading the file again afterwards, and the hashing runs beside its work
// rather than after it. Unlike Hasher, which hashes on the caller's
// goroutine, Write returns as soon as the hashing has taken its copy of p.
//
// Sum or Abandon must be called once, to end the hashing goroutines.
type HashWriter struct {
	pw   *io.PipeWriter
	done chan hashResult
}

type hashResult struct {
	info FileInfo
	err  error
}

// errAbandoned ends a HashWriter's input when the caller gives it up.
var errAbandoned = errors.New("store: hash abandoned")

// NewHashWriter starts hashing an empty file.
func NewHashWriter() *HashWriter {
	pr, pw := io.Pipe()
	h := &HashWriter{pw: pw, done: make(chan hashResult, 1)}
	go func() {
		info, err := HashFile(pr)
		pr.CloseWithError(err) // a hash that failed stops the writer too
		h.done <- hashResult{info, err}
	}()
	return h
}

// Write hands p, the file's next bytes, to the hashing.
func (h *HashWriter) Write(p []byte) (int, error) { return h.pw.Write(p) }

// Sum ends the file and returns what it hashed to.
func (h *HashWriter) Sum() (FileInfo, error) {
	h.pw.Close()
	r := <-h.done
	return r.info, r.err
}

// Abandon stops the hashing and waits for its goroutines.
func (h *HashWriter) Abandon() {
	h.pw.CloseWithError(errAbandoned)
	<-h.done
}
