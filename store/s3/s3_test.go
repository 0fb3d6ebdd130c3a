package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/potluck-hub/potluck/store"
	"github.com/potluck-hub/potluck/store/s3"
	"github.com/potluck-hub/potluck/store/storetest"
)

// TestMinIOConformance runs the backend conformance suite against a real
// MinIO server, which .ci/run builds and starts.
func TestMinIOConformance(t *testing.T) {
	NewTestBackend(t) // fails once, saying why, before the suite
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) store.Backend { return NewTestBackend(t) },
		Alter: func(t *testing.T, b store.Backend, key string, off int64) {
			alter(t, b.(*s3.Backend), key, off)
		},
	})
}

// NewTestBackend returns a backend on the test MinIO server named by
// POTLUCK_TEST_S3_* (set by scripts/test, which .ci/run calls), under a key
// prefix of its own. The test fails, saying how to get a server, when the
// variables are unset, and when the server cannot be reached: a MinIO test
// that did not run never passes.
func NewTestBackend(t testing.TB) *s3.Backend {
	t.Helper()
	opts, ok := testOptions()
	if !ok {
		t.Fatal("this test needs a MinIO server and POTLUCK_TEST_S3_ENDPOINT is not set: run `bash scripts/test` (it builds and starts MinIO and sets it), or start `minio server` and set POTLUCK_TEST_S3_ENDPOINT, _ACCESS_KEY and _SECRET_KEY")
	}
	b, err := s3.New(context.Background(), opts)
	if err != nil {
		t.Fatalf("MinIO test server at %s (POTLUCK_TEST_S3_ENDPOINT) cannot be reached: %v", opts.Endpoint, err)
	}
	return b
}

// testOptions reads the test server's address and credentials.
func testOptions() (s3.Options, bool) {
	var p [6]byte
	rand.Read(p[:])
	opts := s3.Options{
		Endpoint:     os.Getenv("POTLUCK_TEST_S3_ENDPOINT"),
		AccessKey:    os.Getenv("POTLUCK_TEST_S3_ACCESS_KEY"),
		SecretKey:    os.Getenv("POTLUCK_TEST_S3_SECRET_KEY"),
		Bucket:       "potluck-test",
		Prefix:       "t-" + hex.EncodeToString(p[:]) + "/",
		CreateBucket: true,
		MaxRetries:   2,
	}
	return opts, opts.Endpoint != ""
}

// alter rewrites one byte of an object behind the store's back, with a
// plain overwrite (no If-None-Match), as a meddling operator could.
func alter(t *testing.T, b *s3.Backend, key string, off int64) {
	ctx := context.Background()
	o, err := b.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(io.NewSectionReader(o, 0, o.Size()))
	o.Close()
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0x40
	_, err = b.Client().PutObject(ctx, "potluck-test", b.Key(key), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
}
