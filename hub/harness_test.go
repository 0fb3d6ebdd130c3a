package hub_test

// The harness of the end-to-end tests: a real hub.Hub on a temporary data
// folder, served over real gRPC on a loopback port, driven by node.Client
// (what a lab runs) or by a raw hubv1 client (what a hostile or broken
// client could send). Models, keys and the members file are real files in
// t.TempDir(). Expected values are computed in the tests, from the input
// files, never taken from the code under test.
//
// This file offers the hub's life (newHarness, start, stop), its clients
// (client, raw, conn), the common calls (registerBase, publish, mustList,
// getRange) and what a refusal must look like (grpcStatus, expectRefused,
// snapshot). harness_upload_test.go builds and sends uploads by hand;
// fixtures_test.go makes the models and deltas; checks_test.go computes
// what the hub must answer from the files.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/node"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// The member orgs of the test consortium, as members.yaml names them.
const (
	orgA = "lab-a"
	orgB = "lab-b"
)

// harness is a hub on a temporary data folder, served on loopback, with two
// member keys (A, B) and one key of an outsider (X).
type harness struct {
	t       *testing.T
	dir     string // everything lives under it
	data    string // the hub's data folder
	members string // members.yaml

	keyA, keyB, keyX *signing.Signer
	pubA, pubB, pubX *signing.PublicKey

	// configure, when set, adjusts the hub's options before each start;
	// dial is how the harness's clients reached it (TLS, pinned).
	configure func(*hub.Options)
	dial      node.DialOptions
	addr      string

	h       *hub.Hub
	unserve func() // stops serving h
	client  *node.Client
	conn    *grpc.ClientConn
	raw     hubv1.HubServiceClient
}

// newHarness starts a hub whose members are lab-a (key A) and lab-b (key
// B); it stops when the test ends.
func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	hs := &harness{t: t, dir: dir, data: filepath.Join(dir, "hub-data"), members: filepath.Join(dir, "members.yaml")}
	hs.keyA, hs.pubA = genKey(t, dir, "a")
	hs.keyB, hs.pubB = genKey(t, dir, "b")
	hs.keyX, hs.pubX = genKey(t, dir, "x")
	members := fmt.Sprintf("orgs:\n  - name: %s\n    keys:\n      - file: a.pub\n  - name: %s\n    keys:\n      - file: b.pub\n", orgA, orgB)
	if err := os.WriteFile(hs.members, []byte(members), 0o644); err != nil {
		t.Fatal(err)
	}
	hs.start()
	t.Cleanup(hs.stop)
	return hs
}

// newHarnessWith is newHarness with the hub's options adjusted by
// configure from its first start on.
func newHarnessWith(t *testing.T, configure func(*hub.Options)) *harness {
	t.Helper()
	hs := newHarness(t)
	hs.stop()
	hs.configure = configure
	hs.start()
	return hs
}

func genKey(t *testing.T, dir, name string) (*signing.Signer, *signing.PublicKey) {
	t.Helper()
	priv, pub := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := signing.GenerateKey(priv, pub); err != nil {
		t.Fatal(err)
	}
	s, err := signing.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := signing.LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

// start opens the hub on hs.data and serves it on a fresh loopback port.
func (hs *harness) start() {
	t := hs.t
	t.Helper()
	opts := hub.Options{DataDir: hs.data, MembersFile: hs.members, Screen: hub.Screening{MaxNormRatio: hub.DefaultMaxNormRatio}}
	if hs.configure != nil {
		hs.configure(&opts)
	}
	h, err := hub.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	// No ShutdownTimeout: stopping cancels the calls in flight at once.
	l, unserve := serve(t, h, hub.ServeOptions{GRPCAddr: "127.0.0.1:0"})
	hs.addr = l.GRPCAddr()
	hs.dial = node.DialOptions{Fingerprint: h.Info().TLSFingerprint, Plaintext: opts.Plaintext}
	client, err := node.Dial(hs.addr, hs.dial)
	if err != nil {
		unserve()
		h.Close()
		t.Fatal(err)
	}
	dopts, err := hs.dial.GRPCOptions()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(hs.addr, dopts...)
	if err != nil {
		client.Close()
		unserve()
		h.Close()
		t.Fatal(err)
	}
	hs.h, hs.unserve, hs.client, hs.conn, hs.raw = h, unserve, client, conn, hubv1.NewHubServiceClient(conn)
}

// stop closes the clients, the server and the hub; safe to call twice.
func (hs *harness) stop() {
	if hs.h == nil {
		return
	}
	hs.client.Close()
	hs.conn.Close()
	hs.unserve()
	if err := hs.h.Close(); err != nil {
		hs.t.Errorf("closing the hub: %v", err)
	}
	hs.h = nil
}

// registerBase registers dir as a base signed by s.
func (hs *harness) registerBase(dir string, s *signing.Signer) (*potluck.Release, error) {
	d, err := store.ScanDir(dir)
	if err != nil {
		return nil, err
	}
	bundle, err := node.Bundle(d, s)
	if err != nil {
		return nil, err
	}
	return hs.client.RegisterBase(context.Background(), d, bundle, nil)
}

// publish signs dir with s (writing dir/model.sig) and publishes it as a
// delta of baseCID.
func (hs *harness) publish(dir string, s *signing.Signer, baseCID string) (*potluck.Release, error) {
	scan, bundle := signDir(hs.t, dir, s)
	return hs.client.Publish(context.Background(), scan, bundle, baseCID, nil)
}

// mustList lists every release's CID, sorted.
func (hs *harness) mustList() []string {
	hs.t.Helper()
	rs, err := hs.client.List(context.Background(), "", "")
	if err != nil {
		hs.t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.CID)
	}
	sort.Strings(out)
	return out
}

// getRange fetches bytes of a release file through the raw Get stream,
// checking that the pieces come in order.
func (hs *harness) getRange(cid, path string, off, n uint64) ([]byte, error) {
	stream, err := hs.raw.Get(context.Background(), &hubv1.GetRequest{Cid: cid, Path: path, Offset: off, Length: n})
	if err != nil {
		return nil, err
	}
	var got []byte
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		if m.GetOffset() != off+uint64(len(got)) {
			return got, fmt.Errorf("piece at offset %d, expected %d", m.GetOffset(), off+uint64(len(got)))
		}
		got = append(got, m.GetData()...)
	}
}

// snapshot is what the hub holds on disk and lists.
type snapshot struct {
	files, staging, releases, listed []string
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func (hs *harness) snapshot() snapshot {
	t := hs.t
	return snapshot{
		files:    dirNames(t, filepath.Join(hs.data, "store", "files")),
		staging:  dirNames(t, filepath.Join(hs.data, "store", "staging")),
		releases: dirNames(t, filepath.Join(hs.data, "releases")),
		listed:   hs.mustList(),
	}
}

func (s snapshot) diff(after snapshot) string {
	var out []string
	for _, c := range []struct {
		what          string
		before, after []string
	}{
		{"store/files", s.files, after.files},
		{"store/staging", s.staging, after.staging},
		{"releases/", s.releases, after.releases},
		{"List", s.listed, after.listed},
	} {
		if !slices.Equal(c.before, c.after) {
			out = append(out, fmt.Sprintf("%s: %d entries before, %d after: %v", c.what, len(c.before), len(c.after), c.after))
		}
	}
	return strings.Join(out, "; ")
}

// grpcStatus is the gRPC status err carries, wrapped or not.
func grpcStatus(t *testing.T, err error) *status.Status {
	t.Helper()
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		t.Fatalf("error carries no gRPC status: %v", err)
	}
	return se.GRPCStatus()
}

// expectRefused runs do, which must fail with code and a message containing
// every one of want, and leave the hub's store and index exactly as they were.
func (hs *harness) expectRefused(t *testing.T, code codes.Code, want []string, do func() error) {
	t.Helper()
	before := hs.snapshot()
	err := do()
	if err == nil {
		t.Fatalf("accepted; want %v", code)
	}
	st := grpcStatus(t, err)
	if st.Code() != code {
		t.Errorf("code %v, want %v (message: %s)", st.Code(), code, st.Message())
	}
	for _, w := range want {
		if !strings.Contains(st.Message(), w) {
			t.Errorf("message %q does not mention %q", st.Message(), w)
		}
	}
	if d := before.diff(hs.snapshot()); d != "" {
		t.Errorf("the refused upload left something behind: %s", d)
	}
}
