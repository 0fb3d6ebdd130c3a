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
	// ErrExists reports a Backend.Put of a key that already holds an object:
	// objects are write-once, so the first writer wins and the rest learn it.
	ErrExists = errors.New("store: object exists")
	// ErrPinned reports a GC root that must stay: an Unpin refused because
	// something still refers to the release.
	ErrPinned = errors.New("store: still referenced")
	// ErrUnavailable reports a backend that cannot be reached (MinIO down,
	// the network cut): nothing is wrong with the bytes; try again later.
	ErrUnavailable = errors.New("store: the storage backend cannot be reached (try again when it is back)")
)
