package hub_test

// Resumable uploads, end to end over TLS on loopback: the node reaches the
// hub through a TCP proxy the test can cut, so a dropped connection is a
// real one, not a client giving up.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/node"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/store"
)

// proxy forwards TCP connections to a target it can be told to change,
// counting the bytes sent towards the hub; once they pass cutAt it closes
// every connection, once.
type proxy struct {
	lis   net.Listener
	up    atomic.Int64
	cutAt atomic.Int64
	cut   chan struct{}

	mu     sync.Mutex
	target string
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{lis: lis, target: target, cut: make(chan struct{})}
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() { lis.Close(); p.cutAll() })
	return p
}

func (p *proxy) addr() string { return p.lis.Addr().String() }

func (p *proxy) retarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

func (p *proxy) serve(c net.Conn) {
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	s, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, c, s)
	p.mu.Unlock()
	go func() { io.Copy(c, s); c.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			total := p.up.Add(int64(n))
			if at := p.cutAt.Load(); at > 0 && total >= at && p.cutAt.CompareAndSwap(at, 0) {
				p.cutAll()
				close(p.cut)
				return
			}
			if _, err := s.Write(buf[:n]); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	s.Close()
}

func (p *proxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// resumeOpts upload in small chunks, so a cut falls between many, and
// retry quickly.
func resumeOpts(progress node.Progress) node.UploadOptions {
	return node.UploadOptions{ChunkSize: 64 << 10, Backoff: 20 * time.Millisecond, Retries: 30, Progress: progress}
}

// uploadThroughCut registers dir's base through a proxy cut at a random
// byte; during the cut, restart (if set) runs. It returns the release and
// the least number of bytes the node was told the hub held after the cut.
func uploadThroughCut(t *testing.T, hs *harness, dir string, restart func(p *proxy)) (*potluck.Release, int64) {
	t.Helper()
	d, err := store.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := node.Bundle(d, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	cutAt := d.Size()/10 + int64(rand.New(rand.NewPCG(seed, 0)).Uint64N(uint64(d.Size()*8/10)))
	t.Logf("seed %d: cutting the connection after %d of %d bytes", seed, cutAt, d.Size())
	p := newProxy(t, hs.addr)
	p.cutAt.Store(cutAt)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-p.cut:
			if restart != nil {
				restart(p)
			}
		case <-time.After(30 * time.Second):
		}
	}()
	c, err := node.Dial(p.addr(), hs.dial)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	resumedAt := int64(-1)
	rel, err := c.Upload(context.Background(), potluck.KindBase, d, bundle, "", resumeOpts(func(sent, _ int64) {
		select {
		case <-p.cut:
			mu.Lock()
			if resumedAt < 0 || sent < resumedAt {
				resumedAt = sent
			}
			mu.Unlock()
		default:
		}
	}))
	<-done
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.cut:
	default:
		t.Fatal("the connection was never cut")
	}
	if sent := p.up.Load(); sent >= d.Size()+cutAt {
		t.Errorf("the node sent %d bytes for %d cut at %d: it started again from zero", sent, d.Size(), cutAt)
	}
	return rel, resumedAt
}

// checkSameRelease: the release is dir's, byte for byte.
func checkSameRelease(t *testing.T, hs *harness, rel *potluck.Release, dir string) {
	t.Helper()
	if want := dirCID(t, dir); rel.CID != want {
		t.Fatalf("release %s, the directory's CID is %s", rel.CID, want)
	}
	checkReleaseFiles(t, rel, dir)
	for _, f := range rel.Files {
		got, err := hs.getRange(rel.CID, f.Path, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("file %q: the hub serves %d bytes that differ from the %d uploaded", f.Path, len(got), len(want))
		}
	}
}

func TestUploadResumesAfterDroppedConnection(t *testing.T) {
	hs := newHarness(t)
	m := writeModels(t, hs.dir)
	rel, resumedAt := uploadThroughCut(t, hs, m.base, nil)
	checkSameRelease(t, hs, rel, m.base)
	if resumedAt <= 0 {
		t.Errorf("after the cut the hub held %d bytes: the upload started again", resumedAt)
	}
	if left := uploadsLeft(t, hs); len(left) > 0 {
		t.Errorf("committed session left staging behind: %v", left)
	}
}

func TestUploadResumesAfterHubRestart(t *testing.T) {
	hs := newHarness(t)
	m := writeModels(t, hs.dir)
	before := hs.mustList()
	rel, resumedAt := uploadThroughCut(t, hs, m.base, func(p *proxy) {
		hs.stop()
		if got := len(uploadsLeft(t, hs)); got == 0 {
			t.Error("the stopped hub kept no staged bytes")
		}
		hs.start()
		if got := hs.mustList(); !slices.Equal(got, before) {
			t.Errorf("a half-sent upload is visible after the restart: %v", got)
		}
		p.retarget(hs.addr)
	})
	checkSameRelease(t, hs, rel, m.base)
	if resumedAt <= 0 {
		t.Errorf("after the restart the hub held %d bytes: the upload started again", resumedAt)
	}
}

func TestUploadSessionBelongsToItsOrg(t *testing.T) {
	hs, tokA, tokB, _ := tokenHarness(t, hub.Access{RequireToken: true})
	m := writeModels(t, hs.dir)
	a, b := hs.as(tokA), hs.as(tokB)
	defer a.Close()
	defer b.Close()
	id := startRaw(t, hubv1.NewHubServiceClient(a.Conn()), m.base, hs.keyA, 3)
	rawB := hubv1.NewHubServiceClient(b.Conn())
	ctx := context.Background()
	_, err := rawB.StartUpload(ctx, &hubv1.StartUploadRequest{UploadId: id})
	if c := grpcStatus(t, err).Code(); c != codes.PermissionDenied {
		t.Errorf("lab-b resuming lab-a's session: %v, want PermissionDenied", err)
	}
	_, err = rawB.CommitUpload(ctx, &hubv1.CommitUploadRequest{UploadId: id})
	if c := grpcStatus(t, err).Code(); c != codes.PermissionDenied {
		t.Errorf("lab-b committing lab-a's session: %v, want PermissionDenied", err)
	}
	st, err := rawB.UploadChunks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Send(&hubv1.UploadChunksRequest{UploadId: id, Chunk: &hubv1.Chunk{Data: []byte("x")}})
	_, err = st.CloseAndRecv()
	if c := grpcStatus(t, err).Code(); c != codes.PermissionDenied {
		t.Errorf("lab-b writing into lab-a's session: %v, want PermissionDenied", err)
	}
	// lab-a finishes its own session: CommitUpload before every byte is
	// refused as incomplete, then the node resumes it.
	rawA := hubv1.NewHubServiceClient(a.Conn())
	_, err = rawA.CommitUpload(ctx, &hubv1.CommitUploadRequest{UploadId: id})
	if c := grpcStatus(t, err).Code(); c != codes.FailedPrecondition {
		t.Errorf("committing an incomplete session: %v, want FailedPrecondition", err)
	}
	d, err := store.ScanDir(m.base)
	if err != nil {
		t.Fatal(err)
	}
	o := resumeOpts(nil)
	o.ResumeID = id
	rel, err := a.Upload(ctx, potluck.KindBase, d, nil, "", o)
	if err != nil {
		t.Fatal(err)
	}
	checkSameRelease(t, hs, rel, m.base)
}

func TestUploadSessionsExpire(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().Unix())
	hs := newHarnessWith(t, func(o *hub.Options) {
		o.Now = func() time.Time { return time.Unix(clock.Load(), 0) }
		o.UploadTTL = time.Hour
		o.UploadReapEvery = 10 * time.Millisecond
	})
	m := writeModels(t, hs.dir)
	// Reclaimed while the hub runs.
	id := startRaw(t, hs.raw, m.base, hs.keyA, 2)
	if len(uploadsLeft(t, hs)) == 0 {
		t.Fatal("no staged bytes")
	}
	clock.Add(2 * 3600)
	deadline := time.Now().Add(5 * time.Second)
	for len(uploadsLeft(t, hs)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if left := uploadsLeft(t, hs); len(left) > 0 {
		t.Fatalf("an expired session's staging is still there: %v", left)
	}
	resp, err := hs.raw.StartUpload(context.Background(), &hubv1.StartUploadRequest{UploadId: id})
	if err == nil {
		ents, _ := os.ReadDir(filepath.Join(hs.data, "uploads", id))
		t.Fatalf("resuming an expired session: %v; left: %v", resp, ents)
	}
	if c := grpcStatus(t, err).Code(); c != codes.NotFound {
		t.Errorf("resuming an expired session: %v, want NotFound", err)
	}
	// Reclaimed at start.
	startRaw(t, hs.raw, m.base, hs.keyA, 2)
	hs.stop()
	clock.Add(2 * 3600)
	hs.configure = func(o *hub.Options) {
		o.Now = func() time.Time { return time.Unix(clock.Load(), 0) }
		o.UploadTTL = time.Hour
		o.UploadReapEvery = time.Hour
	}
	hs.start()
	if left := uploadsLeft(t, hs); len(left) > 0 {
		t.Fatalf("an expired session's staging survived a restart: %v", left)
	}
}

func TestSixteenConcurrentPublishers(t *testing.T) {
	hs := newHarness(t)
	const n = 16
	tiny := testmodel.Spec{Layers: 1, Hidden: 64, Vocab: 256, Shards: 1}
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = filepath.Join(hs.dir, fmt.Sprintf("base-%d", i))
		if err := testmodel.WriteBase(dirs[i], uint64(100+i), tiny); err != nil {
			t.Fatal(err)
		}
	}
	rels := make([]*potluck.Release, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := hs.keyA
			if i%2 == 1 {
				key = hs.keyB
			}
			c, err := node.Dial(hs.addr, hs.dial)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			d, err := store.ScanDir(dirs[i])
			if err != nil {
				errs[i] = err
				return
			}
			bundle, err := node.Bundle(d, key)
			if err != nil {
				errs[i] = err
				return
			}
			rels[i], errs[i] = c.Upload(context.Background(), potluck.KindBase, d, bundle, "", resumeOpts(nil))
		})
	}
	wg.Wait()
	listed := hs.mustList()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("publisher %d: %v", i, errs[i])
			continue
		}
		checkSameRelease(t, hs, rels[i], dirs[i])
		if _, ok := slices.BinarySearch(listed, rels[i].CID); !ok {
			t.Errorf("publisher %d: release %s is not listed", i, rels[i].CID)
		}
	}
	if len(listed) != n {
		t.Errorf("the hub lists %d releases, want %d", len(listed), n)
	}
}

// TestUploadResumesAfterTornWrite: bytes past a session's last checkpoint
// (a hub killed while writing) are dropped at restart and sent again.
func TestUploadResumesAfterTornWrite(t *testing.T) {
	hs := newHarness(t)
	m := writeModels(t, hs.dir)
	id := startRaw(t, hs.raw, m.base, hs.keyA, 5)
	hs.stop()
	parts := uploadsLeft(t, hs)
	if len(parts) == 0 {
		t.Fatal("no staged bytes")
	}
	for _, p := range parts {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(bytes.Repeat([]byte{0xAB}, 1000)) // garbage the state never claimed
		f.Close()
	}
	hs.start()
	d, err := store.ScanDir(m.base)
	if err != nil {
		t.Fatal(err)
	}
	o := resumeOpts(nil)
	o.ResumeID = id
	rel, err := hs.client.Upload(context.Background(), potluck.KindBase, d, nil, "", o)
	if err != nil {
		t.Fatal(err)
	}
	checkSameRelease(t, hs, rel, m.base)
}
