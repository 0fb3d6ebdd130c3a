package store

import "errors"

var (
	// ErrNotFound reports a CID the store does not hold (or has not committed).
	ErrNotFound = errors.New("store: not found")
	// ErrCorrupt reports stored bytes that no longer hash to their CID.
	ErrCorrupt = errors.New("store: stored bytes do not match their CID")
	// ErrInvalid reports input the store refuses: a bad path, a directory too
	// large for a basic UnixFS directory, a range outside a file.
	ErrInvalid = errors.New("store: invalid input")
)
