package hub_test

// End-to-end tests of the hub: a real hub.Hub on a temporary data folder,
// served over real gRPC on a loopback port, driven by node.Client (what a lab
// runs) or by a raw hubv1 client (what a hostile or broken client could
// send). Models, keys and the members file are real files in t.TempDir().
// Expected values are computed here, from the input files, never taken from
// the code under test.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/internal/wire"
	"github.com/potluck-hub/potluck/node"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/safetensors"
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

// models are a generated base and two fine-tunes of it.
type models struct{ base, ftA, ftB string }

func writeModels(t *testing.T, dir string) models {
	t.Helper()
	m := models{base: filepath.Join(dir, "base"), ftA: filepath.Join(dir, "ft-a"), ftB: filepath.Join(dir, "ft-b")}
	if err := testmodel.WriteBase(m.base, 1, testmodel.Small); err != nil {
		t.Fatal(err)
	}
	if err := testmodel.WriteFinetune(m.base, m.ftA, 10, 0.02); err != nil {
		t.Fatal(err)
	}
	if err := testmodel.WriteFinetune(m.base, m.ftB, 11, 0.02); err != nil {
		t.Fatal(err)
	}
	return m
}

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

func makeDelta(t *testing.T, base, ft, out, baseCID string) *potluck.Manifest {
	t.Helper()
	man, err := node.MakeDelta(context.Background(), node.DeltaOptions{BaseDir: base, FinetunedDir: ft, OutDir: out, BaseCID: baseCID})
	if err != nil {
		t.Fatal(err)
	}
	return man
}

// signDir signs dir (writing dir/model.sig) and returns the scan and bundle.
func signDir(t *testing.T, dir string, s *signing.Signer) (*store.Dir, []byte) {
	t.Helper()
	scan, bundle, err := node.SignDir(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	return scan, bundle
}

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

// fileSHA256 is the hex SHA-256 of a file's bytes.
func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// localFiles lists a release directory's files as the hub should record
// them: every regular, non-hidden file but model.sig, with its size and
// SHA-256 computed here.
func localFiles(t *testing.T, dir string) map[string]potluck.File {
	t.Helper()
	out := map[string]potluck.File{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == signing.SignatureFile || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		out[rel] = potluck.File{Path: rel, Size: st.Size(), SHA256: fileSHA256(t, p)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkReleaseFiles compares a release's file list with the local directory.
func checkReleaseFiles(t *testing.T, rel *potluck.Release, dir string) {
	t.Helper()
	want := localFiles(t, dir)
	if len(rel.Files) != len(want) {
		t.Errorf("release %s lists %d files, %s has %d", rel.CID, len(rel.Files), dir, len(want))
	}
	for _, f := range rel.Files {
		w, ok := want[f.Path]
		if !ok {
			t.Errorf("release lists %q, not in %s", f.Path, dir)
			continue
		}
		if int64(f.Size) != w.Size || f.SHA256 != w.SHA256 {
			t.Errorf("release file %q: %d bytes sha256 %s; local %d bytes sha256 %s", f.Path, f.Size, f.SHA256, w.Size, w.SHA256)
		}
		info, err := store.HashFileAt(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if f.CID != info.CID.String() {
			t.Errorf("release file %q: CID %s, the local file's is %s", f.Path, f.CID, info.CID)
		}
	}
}

// dirCID is the CID the hub must give a release directory: `ipfs add -r` of
// it without model.sig.
func dirCID(t *testing.T, dir string) string {
	t.Helper()
	d, err := store.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.CID()
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
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

// recipe is a task arithmetic recipe over base, one weight per delta.
func recipe(base string, deltas []string, weights []float64) []byte {
	s := fmt.Sprintf("merge_method: task_arithmetic\nbase_model: %s\nparameters:\n  lambda: 1.0\nmodels:\n", base)
	for i, d := range deltas {
		s += fmt.Sprintf("  - model: %s\n    parameters:\n      weight: %v\n", d, weights[i])
	}
	return []byte(s)
}

func TestHappyPath(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)

	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	if want := dirCID(t, m.base); base.CID != want {
		t.Fatalf("base CID %s, 'ipfs add -r' of the directory gives %s", base.CID, want)
	}
	if base.Kind != potluck.KindBase || base.Publisher != orgA {
		t.Errorf("base release: kind %v publisher %q, want BASE by %q", base.Kind, base.Publisher, orgA)
	}
	checkReleaseFiles(t, base, m.base)

	deltaA, deltaB := filepath.Join(hs.dir, "delta-a"), filepath.Join(hs.dir, "delta-b")
	makeDelta(t, m.base, m.ftA, deltaA, base.CID)
	makeDelta(t, m.base, m.ftB, deltaB, base.CID)
	relA, err := hs.publish(deltaA, hs.keyA, base.CID)
	if err != nil {
		t.Fatal(err)
	}
	relB, err := hs.publish(deltaB, hs.keyB, base.CID)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ListAndGetRelease", func(t *testing.T) {
		if want := dirCID(t, deltaA); relA.CID != want {
			t.Errorf("delta A CID %s, the directory's is %s", relA.CID, want)
		}
		deltas, err := hs.client.List(ctx, potluck.KindDelta, base.CID)
		if err != nil {
			t.Fatal(err)
		}
		var listed *potluck.Release
		for _, r := range deltas {
			if r.CID == relA.CID {
				listed = r
			}
			if r.Kind != potluck.KindDelta {
				t.Errorf("List(DELTA) returned a %v", r.Kind)
			}
		}
		if len(deltas) != 2 || listed == nil {
			t.Fatalf("List(DELTA, base) gave %d releases, delta A among them: %v", len(deltas), listed != nil)
		}
		got, err := hs.client.Release(ctx, relA.CID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []*potluck.Release{listed, got} {
			if r.Publisher != orgA || r.Base != base.CID || r.KeyHint != hs.pubA.Hint() {
				t.Errorf("delta A: publisher %q base %s key %s; want %q, %s, %s", r.Publisher, r.Base, r.KeyHint, orgA, base.CID, hs.pubA.Hint())
			}
			checkReleaseFiles(t, r, deltaA)
		}
		if relB.Publisher != orgB {
			t.Errorf("delta B publisher %q, want %q", relB.Publisher, orgB)
		}
		// The signature travels with the release: it verifies against A's key
		// over exactly the delta's files.
		v, err := signing.VerifyBundle(got.Bundle, []*signing.PublicKey{hs.pubA})
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Resources) != len(localFiles(t, deltaA)) {
			t.Errorf("the bundle signs %d files, the delta has %d", len(v.Resources), len(localFiles(t, deltaA)))
		}
	})

	t.Run("GetByteRange", func(t *testing.T) {
		shard := "model-00001-of-00002.safetensors"
		local, err := os.ReadFile(filepath.Join(deltaA, shard))
		if err != nil {
			t.Fatal(err)
		}
		// A range longer than one Get message (1 MiB), at an odd offset.
		off, n := uint64(12345), uint64(1<<20+777)
		if uint64(len(local)) < off+n {
			t.Fatalf("%s is %d bytes, too short for the test", shard, len(local))
		}
		got, err := hs.getRange(relA.CID, shard, off, n)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, local[off:off+n]) {
			t.Errorf("Get %s [%d, +%d): %d bytes that differ from the local file", shard, off, n, len(got))
		}
		// Length 0 reads to the end; by the file's own CID, without a path.
		var fileCID string
		for _, f := range relA.Files {
			if f.Path == shard {
				fileCID = f.CID
			}
		}
		tail, err := hs.getRange(fileCID, "", uint64(len(local))-100, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tail, local[len(local)-100:]) {
			t.Errorf("Get by file CID, last 100 bytes: got %d bytes that differ", len(tail))
		}
		// Past the end is refused.
		_, err = hs.getRange(relA.CID, shard, uint64(len(local))-10, 11)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("Get past the end: %v, want InvalidArgument", err)
		}
	})

	var merged *potluck.Release
	t.Run("Merge", func(t *testing.T) {
		rec := recipe(base.CID, []string{relA.CID, relB.CID}, []float64{0.5, 0.5})
		merged, err = hs.client.Merge(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		if merged.Kind != potluck.KindMerge || merged.Base != base.CID || merged.Publisher != hub.HubOrg {
			t.Errorf("merge release: kind %v base %s publisher %q", merged.Kind, merged.Base, merged.Publisher)
		}
		again, err := hs.client.Merge(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		if again.CID != merged.CID {
			t.Errorf("the same merge twice gave %s then %s", merged.CID, again.CID)
		}
		ms, err := hs.client.List(ctx, potluck.KindMerge, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 {
			t.Errorf("%d merge releases after merging the same recipe twice, want 1", len(ms))
		}
	})
	if merged == nil {
		t.FailNow()
	}

	t.Run("PullMergeAndCheckValues", func(t *testing.T) {
		hubKey, err := signing.LoadPublicKey(filepath.Join(hs.data, "hub.pub"))
		if err != nil {
			t.Fatal(err)
		}
		info, err := hs.client.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.HubKey.Hint() != hubKey.Hint() {
			t.Fatalf("hub announces key %s, DATA/hub.pub is %s", info.HubKey.Hint(), hubKey.Hint())
		}
		out := filepath.Join(hs.dir, "pulled-merge")
		p, err := hs.client.Pull(ctx, merged.CID, out, []*signing.PublicKey{hubKey}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Signed.Key.Hint() != hubKey.Hint() {
			t.Errorf("merge signed by %s, want the hub key %s", p.Signed.Key.Hint(), hubKey.Hint())
		}
		rep, err := node.VerifyDir(out, []*signing.PublicKey{hubKey})
		if err != nil {
			t.Fatalf("VerifyDir with the hub key: %v", err)
		}
		if rep.CID != merged.CID {
			t.Errorf("pulled directory has CID %s, the release %s", rep.CID, merged.CID)
		}
		if _, err := node.VerifyDir(out, []*signing.PublicKey{hs.pubA}); !errors.Is(err, signing.ErrUntrusted) {
			t.Errorf("VerifyDir of the merge with a member key only: %v, want ErrUntrusted", err)
		}
		checkMerge(t, readModel(t, m.base), readModel(t, out),
			[]map[string]tensorVals{readModel(t, m.ftA), readModel(t, m.ftB)}, []float64{0.5, 0.5})
	})

	t.Run("PullDelta", func(t *testing.T) {
		out := filepath.Join(hs.dir, "pulled-a")
		p, err := hs.client.Pull(ctx, relA.CID, out, []*signing.PublicKey{hs.pubA}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Signed.Key.Hint() != hs.pubA.Hint() {
			t.Errorf("delta A signed by %s, want A's key", p.Signed.Key.Hint())
		}
		for path := range localFiles(t, deltaA) {
			want, _ := os.ReadFile(filepath.Join(deltaA, path))
			got, err := os.ReadFile(filepath.Join(out, path))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("pulled %s differs from the published file (%v)", path, err)
			}
		}
		// Trusting only B's key, A's delta does not verify, and nothing appears.
		out2 := filepath.Join(hs.dir, "pulled-a-untrusted")
		if _, err := hs.client.Pull(ctx, relA.CID, out2, []*signing.PublicKey{hs.pubB}, nil); !errors.Is(err, signing.ErrUntrusted) {
			t.Errorf("pull of A's delta trusting B only: %v, want ErrUntrusted", err)
		}
		if _, err := os.Stat(out2); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused pull left %s: %v", out2, err)
		}
	})
}

// tensorVals is one tensor read straight from a model directory: float
// values decoded here (bf16 is the top half of a float32), other dtypes as
// raw bytes.
type tensorVals struct {
	dtype safetensors.DType
	shape []int64
	f     []float64
	raw   []byte
}

func readModel(t *testing.T, dir string) map[string]tensorVals {
	t.Helper()
	m, err := safetensors.OpenModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := map[string]tensorVals{}
	for _, mt := range m.Tensors() {
		raw, err := m.ReadTensor(mt.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		tv := tensorVals{dtype: mt.DType, shape: mt.Shape, raw: slices.Clone(raw)}
		switch mt.DType {
		case safetensors.BF16:
			for i := 0; i < len(raw); i += 2 {
				tv.f = append(tv.f, float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[i:]))<<16)))
			}
		case safetensors.F32:
			for i := 0; i < len(raw); i += 4 {
				tv.f = append(tv.f, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))))
			}
		case safetensors.I64:
		default:
			t.Fatalf("%s: tensor %q has dtype %s, which the test does not decode", dir, mt.Name, mt.DType)
		}
		out[mt.Name] = tv
	}
	return out
}

// ulp is the distance between x and the next representable value away from
// zero in a float format with the given significand bits (8 for bf16, 24
// for float32), floored at the smallest subnormal.
func ulp(x float64, bits, minExp int) float64 {
	_, e := math.Frexp(math.Abs(x)) // |x| in [2^(e-1), 2^e)
	return math.Max(math.Ldexp(1, e-bits), math.Ldexp(1, minExp))
}

func ulpBF16(x float64) float64 { return ulp(x, 8, -133) }
func ulpF32(x float64) float64  { return ulp(x, 24, -149) }

// checkMerge compares every tensor of merged with base + Σ wᵢ(ftᵢ − base)
// computed in float64 from the original files.
//
// Error bound. The hub computes in float32 from bf16 or f32 inputs, which it
// widens exactly. The only roundings that matter are:
//   - each delta was rounded once to its tensor's dtype when it was made:
//     |δᵢ − (ftᵢ − base)| ≤ ulp(δᵢ)/2, weighted by wᵢ in the sum;
//   - the output is rounded once to the tensor's dtype: at most half an ulp
//     of the float32 result, which lies within ulp(M) of ref and so at
//     most one binade above it: ≤ ulp(M);
//   - float32 sums and products (24-bit) before that, ~2⁻²⁴·M each.
//
// With M = max(|ref|, |ftᵢ − base|), weights of 0.5 that is ≤ 1.5·ulp(M) for
// a bf16 tensor; we allow 2 bf16 ulps of M (plus 2⁻²⁰·M for the float32
// steps). Float32 tensors also round the accumulator, ≤ 3 float32 ulps of M
// in all; we allow 4. A wrong weight or a delta left out moves elements by
// ~0.5·|δ| ≈ 10 bf16 ulps, far outside.
func checkMerge(t *testing.T, base, merged map[string]tensorVals, fts []map[string]tensorVals, w []float64) {
	t.Helper()
	if len(merged) != len(base) {
		t.Errorf("merged model has %d tensors, the base %d", len(merged), len(base))
	}
	var floats, moved, bad int
	for name, b := range base {
		m, ok := merged[name]
		if !ok {
			t.Errorf("merged model lacks tensor %q", name)
			continue
		}
		if m.dtype != b.dtype || !slices.Equal(m.shape, b.shape) {
			t.Errorf("tensor %q: merged %s%v, base %s%v", name, m.dtype, m.shape, b.dtype, b.shape)
			continue
		}
		if b.f == nil {
			if !bytes.Equal(m.raw, b.raw) {
				t.Errorf("integer tensor %q differs from the base's", name)
			}
			continue
		}
		for i, bv := range b.f {
			ref, mag := bv, 0.0
			for k, ft := range fts {
				d := ft[name].f[i] - bv // exact: both are float32s
				ref += w[k] * d
				mag = math.Max(mag, math.Abs(d))
			}
			mag = math.Max(mag, math.Abs(ref))
			tol := 2*ulpBF16(mag) + mag*0x1p-20
			if m.dtype == safetensors.F32 {
				tol = 4 * ulpF32(mag)
			}
			floats++
			if math.Abs(ref-bv) > tol {
				moved++
			}
			if diff := math.Abs(m.f[i] - ref); !(diff <= tol) {
				if bad++; bad <= 5 {
					t.Errorf("tensor %q element %d: merged %v, reference %v (base %v): off by %g, bound %g", name, i, m.f[i], ref, bv, diff, tol)
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d elements out of bounds in all", bad)
	}
	// The comparison means something only if the merge moved most elements
	// away from the base by more than the bound.
	if moved < floats/2 {
		t.Errorf("only %d of %d elements of the reference differ from the base beyond the bound", moved, floats)
	}
	t.Logf("checked %d float elements, %d moved beyond the bound", floats, moved)
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

// copyDir copies a release directory, leaving out model.sig.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if rel == signing.SignatureFile {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rewriteShard rewrites a safetensors file through edit, which may change
// specs (dtype, shape) and data (one slice per tensor, file order).
func rewriteShard(t *testing.T, path string, edit func(specs []safetensors.TensorSpec, data [][]byte)) {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var specs []safetensors.TensorSpec
	var data [][]byte
	for _, ti := range f.Tensors {
		b, err := f.ReadTensor(ti.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, safetensors.TensorSpec{Name: ti.Name, DType: ti.DType, Shape: slices.Clone(ti.Shape)})
		data = append(data, slices.Clone(b))
	}
	meta := f.Metadata
	f.Close()
	edit(specs, data)
	var buf bytes.Buffer
	w, err := safetensors.NewWriter(&buf, specs, meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range data {
		if _, err := w.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// remanifest rewrites dir/potluck.json so that it describes the files as
// they are now: every file's size, SHA-256 and CID, and every tensor of a
// readable shard where it lies, with the SHA-256 of its bytes. Tensors of a
// shard that does not parse keep their old entries.
func remanifest(t *testing.T, dir string) {
	t.Helper()
	man, err := potluck.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := man.Tensors
	man.Files, man.Tensors = nil, nil
	entries, err := store.WalkDir(dir, store.HashFileAt)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Dir || e.Path == potluck.ManifestFile || e.Path == signing.SignatureFile {
			continue
		}
		man.Files = append(man.Files, potluck.File{Path: e.Path, Size: e.File.Size, SHA256: fileSHA256(t, filepath.Join(dir, e.Path)), CID: e.File.CID.String()})
		if !strings.HasSuffix(e.Path, ".safetensors") {
			continue
		}
		f, err := safetensors.Open(filepath.Join(dir, e.Path))
		if err != nil {
			for _, ot := range old {
				if ot.File == e.Path {
					man.Tensors = append(man.Tensors, ot)
				}
			}
			continue
		}
		for _, ti := range f.Tensors {
			b, err := f.ReadTensor(ti.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			man.Tensors = append(man.Tensors, potluck.Tensor{Name: ti.Name, DType: string(ti.DType), Shape: ti.Shape, File: e.Path,
				Offset: ti.Start, Length: ti.End - ti.Start, SHA256: hex.EncodeToString(sum[:]), Encoding: "dense"})
		}
		f.Close()
	}
	if err := man.Write(dir); err != nil {
		t.Fatal(err)
	}
}

// uploadHeader is the header a correct client sends for dir: every file
// (model.sig aside) with its size, SHA-256 (computed here) and CID.
func uploadHeader(t *testing.T, dir string, bundle []byte, baseCID string) (*hubv1.UploadHeader, [][]byte) {
	t.Helper()
	scan, err := store.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := &hubv1.UploadHeader{Bundle: bundle, BaseCid: baseCID}
	var contents [][]byte
	for _, e := range scan.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		h.Files = append(h.Files, &hubv1.FileEntry{Path: e.Path, Size: uint64(len(b)), Sha256: sum[:], Cid: e.File.CID.String()})
		contents = append(contents, b)
	}
	return h, contents
}

// rawSession is an upload session driven by hand through the session RPCs
// (StartUpload, UploadChunks, CommitUpload), as a broken or hostile client
// could drive it.
type rawSession struct {
	raw hubv1.HubServiceClient
	id  string
}

// rawStart opens an upload session of kind for h; the hub must accept it.
func rawStart(t *testing.T, raw hubv1.HubServiceClient, kind hubv1.ReleaseKind, h *hubv1.UploadHeader) rawSession {
	t.Helper()
	resp, err := raw.StartUpload(context.Background(), &hubv1.StartUploadRequest{Kind: kind, Header: h})
	if err != nil {
		t.Fatal(err)
	}
	return rawSession{raw: raw, id: resp.GetUploadId()}
}

// send streams chunks into the session in one UploadChunks call and
// returns the hub's answer. A send error (the hub has already answered)
// stops it: the answer comes when the stream closes.
func (s rawSession) send(ctx context.Context, chunks ...*hubv1.Chunk) error {
	st, err := s.raw.UploadChunks(ctx)
	if err != nil {
		return err
	}
	for _, c := range chunks {
		if st.Send(&hubv1.UploadChunksRequest{UploadId: s.id, Chunk: c}) != nil {
			break
		}
	}
	_, err = st.CloseAndRecv()
	return err
}

func (s rawSession) commit(ctx context.Context) (*potluck.Release, error) {
	resp, err := s.raw.CommitUpload(ctx, &hubv1.CommitUploadRequest{UploadId: s.id})
	if err != nil {
		return nil, err
	}
	return wire.ReleaseOf(resp.GetRelease())
}

// chunksOf cuts files into chunks of at most n bytes, in order; an empty
// file gives none.
func chunksOf(files [][]byte, n int) []*hubv1.Chunk {
	var out []*hubv1.Chunk
	for i, b := range files {
		for off := 0; off < len(b); off += n {
			out = append(out, &hubv1.Chunk{FileIndex: uint32(i), Offset: uint64(off), Data: b[off:min(off+n, len(b))]})
		}
	}
	return out
}

// flipSignatureByte alters one byte inside the DSSE signature of a bundle.
func flipSignatureByte(t *testing.T, bundle []byte) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	sigs := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)
	s0 := sigs[0].(map[string]any)
	sig, err := base64.StdEncoding.DecodeString(s0["sig"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x01
	s0["sig"] = base64.StdEncoding.EncodeToString(sig)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRefusedUploadsLeaveNothing(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	baseCID := base.CID
	// good is a valid delta of the registered base, never published here.
	good := filepath.Join(hs.dir, "good-delta")
	man := makeDelta(t, m.base, m.ftA, good, baseCID)
	const shard0 = "model-00001-of-00002.safetensors"

	// variant copies the good delta, lets alter change it, rewrites the
	// manifest to describe the altered files and signs the result with A's
	// key: everything about it is right but the alteration.
	n := 0
	variant := func(t *testing.T, alter func(dir string)) (*store.Dir, []byte) {
		n++
		dir := filepath.Join(hs.dir, fmt.Sprintf("variant-%d", n))
		copyDir(t, good, dir)
		alter(dir)
		remanifest(t, dir)
		return signDir(t, dir, hs.keyA)
	}

	t.Run("UnknownSigner", func(t *testing.T) {
		scan, bundle := signDir(t, good, hs.keyX)
		hs.expectRefused(t, codes.PermissionDenied, []string{"no trusted key"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
			return err
		})
	})

	t.Run("BadSignature", func(t *testing.T) {
		scan, bundle := signDir(t, good, hs.keyA)
		bad := flipSignatureByte(t, bundle)
		hs.expectRefused(t, codes.PermissionDenied, []string{"signature does not verify"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bad, baseCID, nil)
			return err
		})
	})

	t.Run("UnregisteredBase", func(t *testing.T) {
		// A real CID (of the fine-tune's directory) that names no release.
		other := dirCID(t, m.ftB)
		dir := filepath.Join(hs.dir, "delta-other-base")
		makeDelta(t, m.base, m.ftA, dir, other)
		scan, bundle := signDir(t, dir, hs.keyA)
		hs.expectRefused(t, codes.InvalidArgument, []string{other}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, other, nil)
			return err
		})
	})

	t.Run("ShapeDiffersFromBase", func(t *testing.T) {
		const name = "model.layers.0.self_attn.q_proj.weight"
		scan, bundle := variant(t, func(dir string) {
			rewriteShard(t, filepath.Join(dir, shard0), func(specs []safetensors.TensorSpec, _ [][]byte) {
				for i := range specs {
					if specs[i].Name == name {
						if !slices.Equal(specs[i].Shape, []int64{256, 256}) {
							t.Fatalf("%s has shape %v, the test expects [256 256]", name, specs[i].Shape)
						}
						specs[i].Shape = []int64{128, 512} // same bytes, another shape
					}
				}
			})
		})
		hs.expectRefused(t, codes.InvalidArgument, []string{name, "[128 512]"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
			return err
		})
	})

	t.Run("HostileSafetensorsHeader", func(t *testing.T) {
		scan, bundle := variant(t, func(dir string) {
			p := filepath.Join(dir, shard0)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			binary.LittleEndian.PutUint64(b, uint64(len(b))+100) // header longer than the file
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		})
		hs.expectRefused(t, codes.InvalidArgument, []string{shard0, "header length"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
			return err
		})
	})

	t.Run("TruncatedShard", func(t *testing.T) {
		scan, bundle := variant(t, func(dir string) {
			p := filepath.Join(dir, shard0)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil { // header whole, data cut
				t.Fatal(err)
			}
		})
		hs.expectRefused(t, codes.InvalidArgument, []string{shard0, "truncated"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
			return err
		})
	})

	t.Run("HostileHeaderInBase", func(t *testing.T) {
		dir := filepath.Join(hs.dir, "hostile-base")
		copyDir(t, m.ftB, dir) // another model, so a new base
		p := filepath.Join(dir, "model-00002-of-00002.safetensors")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint64(b, 1<<62)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		hs.expectRefused(t, codes.InvalidArgument, []string{"model-00002-of-00002.safetensors", "header length"}, func() error {
			_, err := hs.registerBase(dir, hs.keyA)
			return err
		})
	})

	t.Run("CutOffUpload", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		const piece = 64 << 10
		chunks := (len(files[0]) + piece - 1) / piece
		if chunks < 4 {
			t.Fatalf("first file has %d chunks of 64 KiB; the test needs several", chunks)
		}
		half := chunks / 2 * piece
		want := fmt.Sprintf("file %q has %d of its %d bytes", h.Files[0].GetPath(), half, len(files[0]))
		hs.expectRefused(t, codes.FailedPrecondition, []string{want}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			if err := s.send(ctx, chunksOf([][]byte{files[0][:half]}, piece)...); err != nil {
				t.Fatal(err)
			}
			_, err := s.commit(ctx)
			return err
		})
	})

	t.Run("CancelledUpload", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		before := hs.snapshot()
		parts := len(uploadsLeft(t, hs))
		s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
		cctx, cancel := context.WithCancel(ctx)
		st, err := hs.raw.UploadChunks(cctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunksOf([][]byte{files[0][:len(files[0])/2]}, 64<<10) {
			if st.Send(&hubv1.UploadChunksRequest{UploadId: s.id, Chunk: c}) != nil {
				break
			}
		}
		// Let the hub write some of the bytes before the cancel.
		deadline := time.Now().Add(5 * time.Second)
		for len(uploadsLeft(t, hs)) == parts && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if _, err := st.CloseAndRecv(); status.Code(err) != codes.Canceled {
			t.Errorf("cancelled upload: %v, want Canceled", err)
		}
		// The hub notices the cancel on its own time: wait for the store to
		// settle, then compare.
		var d string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if d = before.diff(hs.snapshot()); d == "" {
				break
			}
		}
		if d != "" {
			t.Errorf("the cancelled upload left something behind: %s", d)
		}
	})

	t.Run("BytesDoNotMatchDigest", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		// Same length, other bytes: the header still declares (and the bundle
		// signs) the real file's digest.
		files[1] = slices.Clone(files[1])
		for i := range files[1] {
			files[1][i] ^= 0x5a
		}
		hs.expectRefused(t, codes.InvalidArgument, []string{"sha256", h.Files[1].GetPath()}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			if err := s.send(ctx, chunksOf(files, node.ChunkSize)...); err != nil {
				t.Fatal(err)
			}
			_, err := s.commit(ctx)
			return err
		})
	})

	t.Run("ChunkAtWrongOffset", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		want := fmt.Sprintf("chunk for file %q at 1, the hub holds 0 bytes of it", h.Files[0].GetPath())
		hs.expectRefused(t, codes.Aborted, []string{want}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			return s.send(ctx, &hubv1.Chunk{FileIndex: 0, Offset: 1, Data: files[0][1:1000]})
		})
	})

	t.Run("ChunkPastItsFile", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		size := len(files[0])
		want := fmt.Sprintf("chunk for file %q ends at %d, past its declared %d bytes", h.Files[0].GetPath(), size+1, size)
		hs.expectRefused(t, codes.InvalidArgument, []string{want}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			return s.send(ctx, &hubv1.Chunk{FileIndex: 0, Offset: 0, Data: append(slices.Clone(files[0]), 0)})
		})
	})

	t.Run("DataAfterTheLastFile", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		want := fmt.Sprintf("chunk for file %d (of %d) with 1 bytes", len(files), len(files))
		hs.expectRefused(t, codes.InvalidArgument, []string{want}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			extra := &hubv1.Chunk{FileIndex: uint32(len(files)), Offset: 0, Data: []byte{0}}
			return s.send(ctx, append(chunksOf(files, node.ChunkSize), extra)...)
		})
	})

	// big is a base with one file over 4 MiB, so that a chunk over the limit
	// still fits inside its file.
	big := filepath.Join(hs.dir, "big-base")
	if err := testmodel.WriteBase(big, 7, testmodel.Spec{Layers: 1, Hidden: 32, Vocab: 64, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(big, "blob.bin"), testgen.Bytes(9, 5<<20), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("ChunkOver4MiB", func(t *testing.T) {
		d, err := store.ScanDir(big)
		if err != nil {
			t.Fatal(err)
		}
		bundle, err := node.Bundle(d, hs.keyA)
		if err != nil {
			t.Fatal(err)
		}
		h, files := uploadHeader(t, big, bundle, "")
		if h.Files[0].GetPath() != "blob.bin" {
			t.Fatalf("first file is %s, want blob.bin", h.Files[0].GetPath())
		}
		hs.expectRefused(t, codes.InvalidArgument, []string{"at most 4194304"}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h)
			// Every byte right and in order, but the first chunk is one byte
			// over the limit.
			const over = 4<<20 + 1
			return s.send(ctx, append([]*hubv1.Chunk{
				{FileIndex: 0, Offset: 0, Data: files[0][:over]},
				{FileIndex: 0, Offset: over, Data: files[0][over:]},
			}, chunksOf(append([][]byte{nil}, files[1:]...), node.ChunkSize)...)...)
		})
	})

	t.Run("NaNInDelta", func(t *testing.T) {
		const name = "model.layers.1.mlp.up_proj.weight"
		var tensor potluck.Tensor
		for _, tt := range man.Tensors {
			if tt.Name == name {
				tensor = tt
			}
		}
		if tensor.DType != "BF16" {
			t.Fatalf("%s: dtype %q in the manifest, the test expects BF16", name, tensor.DType)
		}
		scan, bundle := variant(t, func(dir string) {
			p := filepath.Join(dir, tensor.File)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			binary.LittleEndian.PutUint16(b[tensor.Offset+2*1000:], 0x7fc0) // element 1000: a quiet NaN
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		})
		hs.expectRefused(t, codes.InvalidArgument, []string{name, "NaN"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
			return err
		})
	})

	// The controls: the same pipelines without the defect are accepted, so
	// the refusals above are the defects' doing.
	t.Run("Controls", func(t *testing.T) {
		scan, bundle := variant(t, func(string) {})
		rel, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
		if err != nil {
			t.Fatalf("an unaltered variant: %v", err)
		}
		if rel.CID != dirCID(t, good) {
			t.Errorf("unaltered variant published as %s, the good delta's CID is %s", rel.CID, dirCID(t, good))
		}
		if _, err := hs.registerBase(big, hs.keyA); err != nil {
			t.Errorf("the big base in chunks of 4 MiB: %v", err)
		}
		before := len(hs.snapshot().staging)
		if before != 0 {
			t.Errorf("staging holds %d entries after successful uploads", before)
		}
	})
}

func TestPullDetectsBytesAlteredOnHubDisk(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	delta := filepath.Join(hs.dir, "delta-a")
	makeDelta(t, m.base, m.ftA, delta, base.CID)
	rel, err := hs.publish(delta, hs.keyA, base.CID)
	if err != nil {
		t.Fatal(err)
	}
	var fileCID string
	for _, f := range rel.Files {
		if f.Path == "model-00002-of-00002.safetensors" {
			fileCID = f.CID
		}
	}
	if fileCID == "" {
		t.Fatal("delta has no model-00002-of-00002.safetensors")
	}
	// Before the damage, the pull works.
	if _, err := hs.client.Pull(ctx, rel.CID, filepath.Join(hs.dir, "ok"), []*signing.PublicKey{hs.pubA}, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(hs.data, "store", "files", fileCID)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}

	parent := filepath.Join(hs.dir, "pulls")
	if err := os.Mkdir(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(parent, "damaged")
	_, err = hs.client.Pull(ctx, rel.CID, out, []*signing.PublicKey{hs.pubA}, nil)
	if !errors.Is(err, node.ErrVerify) {
		t.Errorf("pull of a release altered on the hub's disk: %v, want node.ErrVerify", err)
	}
	if names := dirNames(t, parent); len(names) != 0 {
		t.Errorf("the failed pull left %v in %s", names, parent)
	}
}

func TestRestartKeepsReleasesAndKey(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	var deltas []string
	for i, ft := range []string{m.ftA, m.ftB} {
		dir := filepath.Join(hs.dir, fmt.Sprintf("delta-%d", i))
		makeDelta(t, m.base, ft, dir, base.CID)
		rel, err := hs.publish(dir, []*signing.Signer{hs.keyA, hs.keyB}[i], base.CID)
		if err != nil {
			t.Fatal(err)
		}
		deltas = append(deltas, rel.CID)
	}
	rec := recipe(base.CID, deltas, []float64{1, 1})
	merged, err := hs.client.Merge(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	info, err := hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keyBefore := info.HubKey.Hint()
	listBefore, err := hs.client.List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(listBefore) != 4 {
		t.Fatalf("%d releases before the restart, want 4", len(listBefore))
	}

	hs.stop()
	hs.start()

	info, err = hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.HubKey.Hint() != keyBefore {
		t.Errorf("hub key %s after the restart, %s before", info.HubKey.Hint(), keyBefore)
	}
	listAfter, err := hs.client.List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(listAfter) != len(listBefore) {
		t.Fatalf("%d releases after the restart, %d before", len(listAfter), len(listBefore))
	}
	for i := range listBefore {
		b, a := listBefore[i], listAfter[i]
		if a.CID != b.CID || a.Publisher != b.Publisher || a.Kind != b.Kind || !bytes.Equal(a.Bundle, b.Bundle) {
			t.Errorf("release %d: %s %v by %q after, %s %v by %q before", i, a.CID, a.Kind, a.Publisher, b.CID, b.Kind, b.Publisher)
		}
	}
	for _, c := range append([]string{base.CID, merged.CID}, deltas...) {
		out := filepath.Join(hs.dir, "pulled-"+c)
		if _, err := hs.client.Pull(ctx, c, out, info.TrustedKeys(), nil); err != nil {
			t.Errorf("pull %s after the restart: %v", c, err)
		}
	}
	if _, err := node.VerifyDir(filepath.Join(hs.dir, "pulled-"+merged.CID), []*signing.PublicKey{info.HubKey}); err != nil {
		t.Errorf("merge pulled after the restart does not verify with the hub key: %v", err)
	}
	again, err := hs.client.Merge(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if again.CID != merged.CID {
		t.Errorf("the merge after the restart gives %s, before %s", again.CID, merged.CID)
	}
}

// Malformed upload calls are bad input from the client, not a fault of
// the hub: a session opened with no header, a chunk stream with no chunk,
// a message carrying none (a second header, say) or naming another session.
func TestMalformedUploadCalls(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	d, err := store.ScanDir(m.base)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := node.Bundle(d, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := uploadHeader(t, m.base, bundle, "")
	t.Run("NoHeader", func(t *testing.T) {
		hs.expectRefused(t, codes.InvalidArgument, []string{"start upload: a header or an upload id is needed"}, func() error {
			_, err := hs.raw.StartUpload(ctx, &hubv1.StartUploadRequest{Kind: hubv1.ReleaseKind_RELEASE_KIND_BASE})
			return err
		})
	})
	t.Run("NoMessageAtAll", func(t *testing.T) {
		hs.expectRefused(t, codes.InvalidArgument, []string{"upload chunks: the stream is empty"}, func() error {
			return rawSession{raw: hs.raw}.send(ctx)
		})
	})
	const notAChunk = "upload chunks: every message must carry a chunk of the stream's session"
	t.Run("MessageWithoutChunk", func(t *testing.T) {
		hs.expectRefused(t, codes.InvalidArgument, []string{notAChunk}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h)
			return s.send(ctx, &hubv1.Chunk{Data: []byte("x")}, nil)
		})
	})
	t.Run("ChunkOfAnotherSession", func(t *testing.T) {
		hs.expectRefused(t, codes.InvalidArgument, []string{notAChunk}, func() error {
			s, other := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h), rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h)
			st, err := hs.raw.UploadChunks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			st.Send(&hubv1.UploadChunksRequest{UploadId: s.id, Chunk: &hubv1.Chunk{Data: []byte("x")}})
			st.Send(&hubv1.UploadChunksRequest{UploadId: other.id, Chunk: &hubv1.Chunk{FileIndex: 1, Data: []byte("x")}})
			_, err = st.CloseAndRecv()
			return err
		})
	})
}

// A float64 delta tensor whose first element is finite but beyond float32's
// range must not hide a NaN that follows it: admission promises "every value
// is finite". The control (NaN alone) shows the hand-built float64 delta is
// otherwise checked.
func TestNaNAfterLargeFloat64IsRefused(t *testing.T) {
	hs := newHarness(t)
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	const name = "model.norm.weight"
	for _, tc := range []struct {
		name  string
		first float64
	}{{"NaNAlone", 0.25}, {"NaNAfterLargeFinite", 1e300}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(hs.dir, "delta-"+tc.name)
			makeDelta(t, m.base, m.ftA, dir, base.CID)
			rewriteShard(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), func(specs []safetensors.TensorSpec, data [][]byte) {
				for i := range specs {
					if specs[i].Name != name {
						continue
					}
					specs[i].DType = safetensors.F64
					vals := make([]byte, 8*specs[i].Shape[0])
					binary.LittleEndian.PutUint64(vals[0:], math.Float64bits(tc.first))
					binary.LittleEndian.PutUint64(vals[8:], math.Float64bits(math.NaN()))
					data[i] = vals
				}
			})
			remanifest(t, dir)
			hs.expectRefused(t, codes.InvalidArgument, []string{name, "NaN"}, func() error {
				_, err := hs.publish(dir, hs.keyA, base.CID)
				return err
			})
		})
	}
}

// A release's CID is the one `ipfs add -r --cid-version=1` gives its
// directory, nested or not.
func TestDirectoriesInRelease(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	spec := testmodel.Spec{Layers: 1, Hidden: 32, Vocab: 64, Shards: 1}
	t.Run("NestedFiles", func(t *testing.T) {
		dir := filepath.Join(hs.dir, "nested")
		if err := testmodel.WriteBase(dir, 5, spec); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "tokenizer", "extra"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tokenizer", "extra", "merges.txt"), []byte("a b\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		rel, err := hs.registerBase(dir, hs.keyA)
		if err != nil {
			t.Fatal(err)
		}
		want, err := store.HashDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if rel.CID != want.String() {
			t.Errorf("hub CID %s, 'ipfs add -r' gives %s", rel.CID, want)
		}
		out := filepath.Join(hs.dir, "nested-pulled")
		if _, err := hs.client.Pull(ctx, rel.CID, out, []*signing.PublicKey{hs.pubA}, nil); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(out, "tokenizer", "extra", "merges.txt")); err != nil || string(b) != "a b\n" {
			t.Errorf("pulled nested file: %q, %v", b, err)
		}
	})
	t.Run("EmptyDirectory", func(t *testing.T) {
		dir := filepath.Join(hs.dir, "with-empty")
		if err := testmodel.WriteBase(dir, 6, spec); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
			t.Fatal(err)
		}
		// A release is its files: the hub could not give the CID 'ipfs add
		// -r' gives a tree with an empty folder, so the node refuses it,
		// naming the folder, before anything is sent.
		_, err := hs.registerBase(dir, hs.keyA)
		if err == nil || !strings.Contains(err.Error(), `"empty"`) || !strings.Contains(err.Error(), "empty directory") {
			t.Fatalf("register a base holding an empty directory: %v, want an error naming it", err)
		}
	})
}

// The hub signs its merges: it must not sign one computed from stored bytes
// that no longer match their CIDs (DESIGN: a stored file is read by range
// and re-hashed). The bytes below are changed inside a delta's tensor data,
// where no header check can notice.
func TestMergeRefusesInputsAlteredOnHubDisk(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(hs.dir, "delta")
	man := makeDelta(t, m.base, m.ftA, dir, base.CID)
	rel, err := hs.publish(dir, hs.keyA, base.CID)
	if err != nil {
		t.Fatal(err)
	}
	var tensor potluck.Tensor
	for _, tt := range man.Tensors {
		if tt.Name == "lm_head.weight" {
			tensor = tt
		}
	}
	var fileCID string
	for _, f := range rel.Files {
		if f.Path == tensor.File {
			fileCID = f.CID
		}
	}
	p := filepath.Join(hs.data, "store", "files", fileCID)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[tensor.Offset+4*100+1] ^= 0x01 // a low mantissa bit of element 100: still finite
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	before := hs.snapshot()
	merged, err := hs.client.Merge(ctx, recipe(base.CID, []string{rel.CID}, []float64{1}))
	if err == nil {
		t.Fatalf("the hub merged and signed %s from a delta whose stored bytes do not match its CID", merged.CID)
	}
	if c := grpcStatus(t, err).Code(); c != codes.DataLoss {
		t.Errorf("merge over altered bytes: %v, want DataLoss", err)
	}
	if d := before.diff(hs.snapshot()); d != "" {
		t.Errorf("the refused merge left something behind: %s", d)
	}
}
