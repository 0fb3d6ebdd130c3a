package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/potluck-hub/potluck/store"
	"github.com/potluck-hub/potluck/store/s3"
)

// With RetainFor set, the backend makes its bucket with object lock and
// puts every object under governance retention until then: the stored
// version cannot be removed, while a delete (the store's GC) only hides it
// behind a delete marker, so the bytes stay recoverable until the lock
// expires.
func TestMinIOObjectLock(t *testing.T) {
	opts, ok := testOptions()
	if !ok {
		NewTestBackend(t) // fails, saying why, without a server
	}
	var p [4]byte
	rand.Read(p[:])
	opts.Bucket = "potluck-lock-" + hex.EncodeToString(p[:])
	opts.RetainFor = time.Hour
	ctx := context.Background()
	b, err := s3.New(ctx, opts)
	if err != nil {
		t.Fatalf("MinIO test server at %s: a bucket with object lock: %v", opts.Endpoint, err)
	}
	c := b.Client()
	if enabled, _, _, _, err := c.GetObjectLockConfig(ctx, opts.Bucket); err != nil || enabled != "Enabled" {
		t.Fatalf("bucket %s: object lock %q, %v; want it enabled", opts.Bucket, enabled, err)
	}
	data := []byte("locked bytes")
	before := time.Now()
	if err := b.Put(ctx, "obj", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	st, err := c.StatObject(ctx, opts.Bucket, b.Key("obj"), minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mode, until, err := c.GetObjectRetention(ctx, opts.Bucket, b.Key("obj"), st.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	if mode == nil || *mode != minio.Governance || until == nil || until.Before(before.Add(59*time.Minute)) || until.After(time.Now().Add(61*time.Minute)) {
		t.Fatalf("retention %v until %v, want GOVERNANCE for an hour", mode, until)
	}
	// The version itself cannot be removed while the lock holds.
	err = c.RemoveObject(ctx, opts.Bucket, b.Key("obj"), minio.RemoveObjectOptions{VersionID: st.VersionID})
	if err == nil {
		t.Fatal("removing the locked version succeeded")
	}
	// The store's delete hides it: Stat says it is gone...
	if err := b.Delete(ctx, "obj"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "obj"); err == nil || !errorsIsNotFound(err) {
		t.Fatalf("Stat after Delete: %v, want not found", err)
	}
	// ...while the locked version keeps its bytes.
	o, err := c.GetObject(ctx, opts.Bucket, b.Key("obj"), minio.GetObjectOptions{VersionID: st.VersionID})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := got.ReadFrom(o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("the retained version holds %q, want %q", got.Bytes(), data)
	}
}

func errorsIsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
