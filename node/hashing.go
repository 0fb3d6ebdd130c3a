package node

import (
	"errors"
	"io"

	"github.com/potluck-hub/potluck/store"
)

// hasher hashes bytes as they are handed to it, on store's hashing
// goroutines, so a file is hashed while it is received or written rather
// than read again afterwards.
type hasher struct {
	pw   *io.PipeWriter
	done chan hashed
}

type hashed struct {
	info store.FileInfo
	err  error
}

// hashing starts a hasher.
func hashing() *hasher {
	pr, pw := io.Pipe()
	h := &hasher{pw: pw, done: make(chan hashed, 1)}
	go func() {
		info, err := store.HashFile(pr)
		pr.CloseWithError(err) // a hash that failed stops the writer too
		h.done <- hashed{info, err}
	}()
	return h
}

// write hands p to the hash; it returns once the hasher has taken a copy.
func (h *hasher) write(p []byte) error {
	_, err := h.pw.Write(p)
	return err
}

// sum ends the input and returns what it hashed to.
func (h *hasher) sum() (store.FileInfo, error) {
	h.pw.Close()
	r := <-h.done
	return r.info, r.err
}

// abandon stops the hash and waits for its goroutine.
func (h *hasher) abandon() {
	h.pw.CloseWithError(errAbandoned)
	<-h.done
}

var errAbandoned = errors.New("node: hash abandoned")
