package hub_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testmodel"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
	"github.com/potluck-hub/potluck/store/s3"
)

// cutProxy forwards TCP connections to a server until it is cut: then it
// drops every connection, open or new, until it is mended. It stands
// between the hub and MinIO, as MinIO stopping and starting again would.
type cutProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
	// delay, when set, holds back each new connection and every read from
	// the server by that long: a slow or congested MinIO.
	delay atomic.Int64
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { l.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[u] = true, true
		p.mu.Unlock()
		go func() { io.Copy(u, c); u.Close() }()
		go func() { p.slowCopy(c, u); c.Close() }()
	}
}

// slowCopy copies the server's replies, each read held back by the delay.
func (p *cutProxy) slowCopy(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if d := time.Duration(p.delay.Load()); d > 0 && n > 0 {
			time.Sleep(d)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// setCut cuts (closing every open connection) or mends the proxy.
func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		p.conns = map[net.Conn]bool{}
	}
}

// With MinIO as the store, MinIO going away during an upload's commit
// fails the commit, with nothing recorded or logged; the session is kept,
// and once MinIO is back the same commit is accepted.
// minioHarness is a harness whose store is MinIO (POTLUCK_TEST_S3_*)
// reached through a cutProxy; configure, if set, adjusts the hub further.
func minioHarness(t *testing.T, configure func(*hub.Options)) (*harness, *cutProxy) {
	endpoint := os.Getenv("POTLUCK_TEST_S3_ENDPOINT")
	if endpoint == "" {
		t.Fatal("this test needs a MinIO server and POTLUCK_TEST_S3_ENDPOINT is not set: run `bash scripts/test` (it builds and starts MinIO and sets it), or start `minio server` and set POTLUCK_TEST_S3_ENDPOINT, _ACCESS_KEY and _SECRET_KEY")
	}
	proxy := newCutProxy(t, endpoint)
	var p [6]byte
	rand.Read(p[:])
	backend, err := s3.New(context.Background(), s3.Options{Endpoint: proxy.l.Addr().String(), Bucket: "potluck-test", Prefix: "hub-" + hex.EncodeToString(p[:]) + "/",
		AccessKey: os.Getenv("POTLUCK_TEST_S3_ACCESS_KEY"), SecretKey: os.Getenv("POTLUCK_TEST_S3_SECRET_KEY"), CreateBucket: true, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	hs := newHarness(t)
	hs.stop()
	hs.data = filepath.Join(hs.dir, "hub-data-s3")
	hs.configure = func(o *hub.Options) {
		o.Backend = backend
		if configure != nil {
			configure(o)
		}
	}
	hs.start()
	return hs, proxy
}

func TestMinIOGoneAtCommit(t *testing.T) {
	ctx := context.Background()
	hs, proxy := minioHarness(t, nil)
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(hs.dir, "delta")
	makeDelta(t, m.base, m.ftA, dir, base.CID)
	_, bundle := signDir(t, dir, hs.keyA)
	h, files := uploadHeader(t, dir, bundle, base.CID)
	s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
	if err := s.send(ctx, chunksOf(files, 1<<20)...); err != nil {
		t.Fatal(err)
	}

	proxy.setCut(true)
	_, err = s.commit(ctx)
	if err == nil {
		t.Fatal("committed with MinIO gone")
	}
	// It said DataLoss: "stored bytes do not match their CID".
	if st := grpcStatus(t, err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "the storage backend cannot be reached (try again when it is back)") {
		t.Errorf("commit with MinIO gone: %v %q; want Unavailable saying the store cannot be reached", st.Code(), st.Message())
	}
	if got := hs.mustList(); len(got) != 1 {
		t.Errorf("listed %v with MinIO gone; want the base alone", got)
	}
	hs.checkLedger()

	proxy.setCut(false)
	r, err := s.commit(ctx)
	if err != nil {
		t.Fatalf("the same commit with MinIO back: %v", err)
	}
	if want := dirCID(t, dir); r.CID != want {
		t.Errorf("committed %s, want %s", r.CID, want)
	}
	if listed := hs.checkLedger(); !listed[r.CID] {
		t.Errorf("release %s not listed after MinIO came back", r.CID)
	}
}

// MinIO going away while a merge reads its inputs and writes its output
// fails the merge job with Unavailable, recording nothing; the same merge
// once MinIO is back gives the release.
func TestMinIOGoneDuringMerge(t *testing.T) {
	ctx := context.Background()
	var cutAt sync.Once
	var proxy *cutProxy
	var armed atomic.Bool
	hs, proxy := minioHarness(t, func(o *hub.Options) {
		o.MergeProgress = func(_ context.Context, _ string, done, _ int) {
			if done >= 1 && armed.Load() {
				cutAt.Do(func() { proxy.setCut(true) })
			}
		}
	})
	_, base, d, _ := hs.baseAndDelta(t)
	rec := recipe(base.CID, []string{d.CID}, []float64{0.5})
	armed.Store(true)
	_, err := hs.client.Merge(ctx, rec)
	if err == nil {
		t.Fatal("merged with MinIO gone")
	}
	if st := grpcStatus(t, err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "the storage backend cannot be reached") {
		t.Errorf("merge with MinIO gone: %v %q; want Unavailable saying the store cannot be reached", st.Code(), st.Message())
	}
	proxy.setCut(false)
	if got := hs.mustList(); len(got) != 2 {
		t.Errorf("listed %v after the failed merge; want the base and the delta", got)
	}
	armed.Store(false)
	r, err := hs.client.Merge(ctx, rec)
	if err != nil {
		t.Fatalf("the same merge with MinIO back: %v", err)
	}
	if listed := hs.checkLedger(); !listed[r.CID] {
		t.Errorf("merge %s not listed", r.CID)
	}
}

// Sixteen publishers at once against MinIO, as against disk: every delta
// accepted, each listed and logged once.
func TestMinIOConcurrentPublishers(t *testing.T) {
	hs, _ := minioHarness(t, nil)
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	dirs := make([]string, n)
	for i := range dirs {
		ft := filepath.Join(hs.dir, fmt.Sprintf("ft-%d", i))
		if err := testmodel.WriteFinetune(m.base, ft, uint64(100+i), 0.02); err != nil {
			t.Fatal(err)
		}
		dirs[i] = filepath.Join(hs.dir, fmt.Sprintf("delta-%d", i))
		makeDelta(t, m.base, ft, dirs[i], base.CID)
		signDir(t, dirs[i], []*signing.Signer{hs.keyA, hs.keyB}[i%2])
	}
	errs := make([]error, n)
	cids := make([]string, n)
	var wg sync.WaitGroup
	for i := range dirs {
		wg.Go(func() {
			scan, err := store.ScanDir(dirs[i])
			if err != nil {
				errs[i] = err
				return
			}
			bundle, err := os.ReadFile(filepath.Join(dirs[i], signing.SignatureFile))
			if err != nil {
				errs[i] = err
				return
			}
			r, err := hs.client.Publish(context.Background(), scan, bundle, base.CID, nil)
			if err == nil {
				cids[i] = r.CID
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("publisher %d: %v", i, err)
		}
	}
	listed := hs.checkLedger()
	for i, c := range cids {
		if c != "" && !listed[c] {
			t.Errorf("publisher %d's release %s is not listed", i, c)
		}
	}
	if len(listed) != n+1 {
		t.Errorf("%d releases listed, want the base and %d deltas", len(listed), n)
	}
}

// With MinIO gone, GC fails saying the store cannot be reached and
// deletes nothing; once MinIO is back it runs, and every release is still
// whole: pulled and verified against its signature.
func TestMinIOGoneDuringGC(t *testing.T) {
	ctx := context.Background()
	hs, proxy := minioHarness(t, nil)
	_, base, d, _ := hs.baseAndDelta(t)
	proxy.setCut(true)
	_, err := hs.h.GC(ctx, 0)
	if err == nil || !strings.Contains(err.Error(), "cannot be reached") {
		t.Errorf("gc with MinIO gone: %v; want an error saying the store cannot be reached", err)
	}
	proxy.setCut(false)
	if _, err := hs.h.GC(ctx, 0); err != nil {
		t.Fatalf("gc with MinIO back: %v", err)
	}
	info, err := hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{base.CID, d.CID} {
		if _, err := hs.client.Pull(ctx, c, filepath.Join(hs.dir, "pulled-"+c), info.TrustedKeys(), nil); err != nil {
			t.Errorf("pull %s after gc: %v", c, err)
		}
	}
}

// With MinIO slow (every reply held back), the hub is slow too but right:
// a base, a delta and a merge are accepted, listed and logged once, and the
// merge's bytes pull and verify.
func TestMinIOSlow(t *testing.T) {
	ctx := context.Background()
	hs, proxy := minioHarness(t, nil)
	proxy.delay.Store(int64(5 * time.Millisecond))
	_, base, d, _ := hs.baseAndDelta(t)
	r, err := hs.client.Merge(ctx, recipe(base.CID, []string{d.CID}, []float64{0.5}))
	if err != nil {
		t.Fatalf("merge with MinIO slow: %v", err)
	}
	listed := hs.checkLedger()
	for _, c := range []string{base.CID, d.CID, r.CID} {
		if !listed[c] {
			t.Errorf("%s not listed", c)
		}
	}
	info, err := hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hs.client.Pull(ctx, r.CID, filepath.Join(hs.dir, "pulled"), info.TrustedKeys(), nil); err != nil {
		t.Errorf("pull of the merge with MinIO slow: %v", err)
	}
}
