package store

import (
	"context"
	"io"
	"time"
)

// Backend holds a store's durable objects: every file whole under
// "files/<cid>", and beside it the small records that make it visible
// ("nodes/<cid>": its interior nodes and leaf sizes; "dirs/<cid>": directory
// nodes; "pins/<cid>": roots kept by GC). Local disk (DiskBackend) and S3
// (package store/s3) implement it, and the same conformance suite
// (store/storetest) runs against both.
//
// Objects are write-once: content addressing means a key's bytes never
// change, so a second writer of a key loses cleanly (ErrExists) instead of
// racing the first.
type Backend interface {
	// Put writes size bytes from r under key, all or nothing: a failed or
	// interrupted Put leaves no object under key. If key already exists Put
	// returns an error matching ErrExists and leaves the object alone.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open opens an object for range reads (ErrNotFound if absent).
	Open(ctx context.Context, key string) (Object, error)
	// Stat describes one object (ErrNotFound if absent).
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List calls fn for every object whose key starts with prefix, in
	// lexical key order, stopping at fn's first error.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Delete removes an object; removing an absent one is not an error.
	Delete(ctx context.Context, key string) error
}

// Object is an open stored object. ReadAt may be called concurrently;
// sequential ReadAt calls should cost one request (S3), not one each.
type Object interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key      string
	Size     int64
	Modified time.Time
}

// Keys of a store's objects, by kind.
const (
	filesPrefix = "files/"
	nodesPrefix = "nodes/"
	dirsPrefix  = "dirs/"
	pinsPrefix  = "pins/"
)
