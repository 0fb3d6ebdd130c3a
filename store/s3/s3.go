// Package s3 keeps a store's objects in a MinIO or other S3 bucket, for
// operators whose releases outgrow one disk or whose hubs share storage.
//
// Each stored file is one object, written once with its size known (or in
// parts of a fixed size), so memory stays bounded however large the file;
// If-None-Match: * makes every write a create-only write, and reads are
// HTTP range requests.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/potluck-hub/potluck/store"
)

// Options name the bucket and how to reach it. Credentials are the
// caller's to find (the command line reads the usual AWS_ and MINIO_
// variables); this package reads no environment.
type Options struct {
	Endpoint     string // host:port of the S3 API
	Bucket       string
	Prefix       string // prepended to every key, so hubs can share a bucket
	AccessKey    string
	SecretKey    string
	SessionToken string
	Region       string
	Secure       bool // HTTPS
	// CreateBucket makes the bucket if it does not exist.
	CreateBucket bool
	// PartSize is the part size of multipart uploads (default 64 MiB).
	// Parts are streamed from the staged file, not buffered.
	PartSize uint64
	// MaxRetries bounds the client's retries of a failed request (0: the
	// client's default, 10).
	MaxRetries int
	// RetainFor, when set, puts every object under governance-mode object
	// lock for that long (the bucket must have object lock enabled, which
	// CreateBucket does): no version can be removed before then, and a
	// delete (GC's) only hides an object behind a delete marker, its bytes
	// kept in the locked version until the lock expires.
	RetainFor time.Duration
}

// Backend is a store.Backend over one bucket.
type Backend struct {
	c    *minio.Client
	opts Options
}

var _ store.Backend = (*Backend)(nil)

// New connects to the bucket, checking that it exists (or making it).
func New(ctx context.Context, opts Options) (*Backend, error) {
	if opts.Endpoint == "" || opts.Bucket == "" {
		return nil, fmt.Errorf("%w: s3 needs an endpoint and a bucket", store.ErrInvalid)
	}
	if opts.PartSize == 0 {
		opts.PartSize = 64 << 20
	}
	c, err := minio.New(opts.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, opts.SessionToken),
		Secure:     opts.Secure,
		Region:     opts.Region,
		MaxRetries: opts.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %s: %w", opts.Endpoint, err)
	}
	ok, err := c.BucketExists(ctx, opts.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: cannot reach bucket %s at %s: %w", opts.Bucket, opts.Endpoint, err)
	}
	if !ok {
		if !opts.CreateBucket {
			return nil, fmt.Errorf("s3: bucket %s at %s does not exist", opts.Bucket, opts.Endpoint)
		}
		err := c.MakeBucket(ctx, opts.Bucket, minio.MakeBucketOptions{Region: opts.Region, ObjectLocking: opts.RetainFor > 0})
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return nil, fmt.Errorf("s3: making bucket %s: %w", opts.Bucket, err)
		}
	}
	return &Backend{c: c, opts: opts}, nil
}

// Client returns the underlying MinIO client, for tests and tools.
func (b *Backend) Client() *minio.Client { return b.c }

func (b *Backend) key(k string) string { return b.opts.Prefix + k }

// Put streams size bytes from r into a create-only write. An *os.File (a
// staged import) is read by range, part by part, in parallel.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	opts := minio.PutObjectOptions{
		PartSize:    b.opts.PartSize,
		NumThreads:  2,
		ContentType: "application/octet-stream",
		// Integrity is the store's business (every block is re-hashed on
		// read); signing each payload would hash every byte a third time.
		DisableContentSha256: true,
	}
	opts.SetMatchETagExcept("*")
	if b.opts.RetainFor > 0 {
		opts.Mode = minio.Governance
		opts.RetainUntilDate = time.Now().Add(b.opts.RetainFor)
	}
	_, err := b.c.PutObject(ctx, b.opts.Bucket, b.key(key), r, size, opts)
	if isExists(err) {
		return fmt.Errorf("%w: %s", store.ErrExists, key)
	}
	if err != nil {
		return b.fail("put", key, err)
	}
	return nil
}

// fail wraps a request's error: one that got no answer from the server,
// or a 5xx, is store.ErrUnavailable, naming the endpoint.
func (b *Backend) fail(op, key string, err error) error {
	if r := minio.ToErrorResponse(err); r.StatusCode == 0 || r.StatusCode >= 500 {
		return fmt.Errorf("%w: s3 %s: %s %s: %v", store.ErrUnavailable, b.opts.Endpoint, op, key, err)
	}
	return fmt.Errorf("s3: %s %s: %w", op, key, err)
}

func isExists(err error) bool {
	if err == nil {
		return false
	}
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusPreconditionFailed || r.Code == "PreconditionFailed"
}

func isNotFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusNotFound || r.Code == "NoSuchKey"
}

// Stat asks for an object's size and time.
func (b *Backend) Stat(ctx context.Context, key string) (store.ObjectInfo, error) {
	info, err := b.c.StatObject(ctx, b.opts.Bucket, b.key(key), minio.StatObjectOptions{})
	if isNotFound(err) {
		return store.ObjectInfo{}, fmt.Errorf("%w: object %s", store.ErrNotFound, key)
	}
	if err != nil {
		return store.ObjectInfo{}, b.fail("stat", key, err)
	}
	return store.ObjectInfo{Key: key, Size: info.Size, Modified: info.LastModified}, nil
}

// List pages through the keys under prefix, in the bucket's (lexical) order.
func (b *Backend) List(ctx context.Context, prefix string, fn func(store.ObjectInfo) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the lister if fn fails
	for o := range b.c.ListObjects(ctx, b.opts.Bucket, minio.ListObjectsOptions{Prefix: b.key(prefix), Recursive: true}) {
		if o.Err != nil {
			return b.fail("list", prefix, o.Err)
		}
		if err := fn(store.ObjectInfo{Key: strings.TrimPrefix(o.Key, b.opts.Prefix), Size: o.Size, Modified: o.LastModified}); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes an object (S3 does not mind an absent one).
func (b *Backend) Delete(ctx context.Context, key string) error {
	err := b.c.RemoveObject(ctx, b.opts.Bucket, b.key(key), minio.RemoveObjectOptions{})
	if err != nil && !isNotFound(err) {
		return b.fail("delete", key, err)
	}
	return nil
}

// Open asks for the object's size; reads are range requests (object.go).
func (b *Backend) Open(ctx context.Context, key string) (store.Object, error) {
	info, err := b.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	return &object{b: b, ctx: context.WithoutCancel(ctx), key: key, size: info.Size}, nil
}

var errClosed = errors.New("s3: object closed")

// Key returns the bucket key of a store key (the prefix prepended).
func (b *Backend) Key(k string) string { return b.key(k) }
