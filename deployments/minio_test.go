package deployments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// testMinIO is the real MinIO that stands in for the one each deployment
// runs: scripts/test (run by .ci/run) starts it and sets POTLUCK_TEST_S3_*
// to its address and root credentials. The store/s3 tests skip without it;
// these fail, since what they check is that the deployments start, and the
// deployments need their MinIO.
type testMinIO struct {
	endpoint, rootUser, rootSecret string
	root                           *minio.Client
}

func newTestMinIO(t *testing.T) *testMinIO {
	t.Helper()
	m := &testMinIO{
		endpoint:   os.Getenv("POTLUCK_TEST_S3_ENDPOINT"),
		rootUser:   os.Getenv("POTLUCK_TEST_S3_ACCESS_KEY"),
		rootSecret: os.Getenv("POTLUCK_TEST_S3_SECRET_KEY"),
	}
	if m.endpoint == "" {
		t.Fatal("POTLUCK_TEST_S3_ENDPOINT is not set: these tests start the hub as each deployment does, against a real MinIO. " +
			"scripts/test (run by .ci/run) builds and starts one and sets it; to run them here, run scripts/test, or start " +
			"`minio server` and set POTLUCK_TEST_S3_ENDPOINT (HOST:PORT), _ACCESS_KEY and _SECRET_KEY (its root user)")
	}
	var err error
	m.root, err = minio.New(m.endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.rootUser, m.rootSecret, "")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.root.ListBuckets(context.Background()); err != nil {
		t.Fatalf("MinIO test server at %s (POTLUCK_TEST_S3_ENDPOINT) cannot be reached with POTLUCK_TEST_S3_ACCESS_KEY: %v", m.endpoint, err)
	}
	return m
}

// hubCredentials does what the deployment's init step (compose's
// minio-init, the k8s Job) does with mc: makes the bucket and credentials
// that the policy file allows no more than that bucket.
//
// Making a MinIO user takes the admin API, whose client (madmin-go, or
// mc) is not a dependency of this module. The credentials are instead
// temporary ones from STS AssumeRole, made by the root user with the same
// policy as a session policy: MinIO grants them what the policy grants and
// nothing more, as it would the user. Unlike a user's, they come with a
// session token, which the test adds to the hub's environment as
// AWS_SESSION_TOKEN (the hub reads it; a deployment's user needs none).
func (m *testMinIO) hubCredentials(t *testing.T, bucket, policy string) (access, secret, session string) {
	t.Helper()
	ctx := context.Background()
	var p struct{ Statement []struct{ Resource []string } }
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		t.Fatalf("the hub's MinIO policy: %v", err)
	}
	for _, s := range p.Statement {
		for _, r := range s.Resource {
			if r != "arn:aws:s3:::"+bucket && r != "arn:aws:s3:::"+bucket+"/*" {
				t.Errorf("the hub's MinIO policy grants %s: want only bucket %s", r, bucket)
			}
		}
	}
	if err := m.root.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
		t.Fatalf("mc mb %s: %v", bucket, err)
	}
	sts, err := credentials.NewSTSAssumeRole("http://"+m.endpoint, credentials.STSAssumeRoleOptions{
		AccessKey: m.rootUser, SecretKey: m.rootSecret, Policy: strings.TrimSpace(policy), DurationSeconds: 3600,
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := sts.GetWithContext(nil)
	if err != nil {
		t.Fatalf("STS AssumeRole with the hub's policy at %s: %v", m.endpoint, err)
	}
	// The credentials reach the bucket and nothing else.
	c, err := minio.New(m.endpoint, &minio.Options{Creds: credentials.NewStaticV4(v.AccessKeyID, v.SecretAccessKey, v.SessionToken)})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := c.BucketExists(ctx, bucket); !ok || err != nil {
		t.Fatalf("the hub's credentials cannot see bucket %s: %v", bucket, err)
	}
	other := "potluck-not-" + randomHex(4)
	if err := c.MakeBucket(ctx, other, minio.MakeBucketOptions{}); err == nil {
		m.root.RemoveBucket(ctx, other)
		t.Errorf("the hub's credentials may make bucket %s: the policy is not scoped to %s", other, bucket)
	}
	if bs, err := c.ListBuckets(ctx); err != nil || len(bs) != 1 || bs[0].Name != bucket {
		t.Errorf("the hub's credentials list buckets %v (%v): want only %s", bs, err, bucket)
	}
	return v.AccessKeyID, v.SecretAccessKey, v.SessionToken
}

// hasObject reports whether the bucket holds key.
func (m *testMinIO) hasObject(t *testing.T, bucket, key string) bool {
	t.Helper()
	_, err := m.root.StatObject(context.Background(), bucket, key, minio.StatObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatal(err)
	}
	return err == nil
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
