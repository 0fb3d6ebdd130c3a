package web_test

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/translog"
	"github.com/potluck-hub/potluck/web"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// fixture is a release signed with the repo's signing package and logged
// in a translog.Log, with what the tampering cases need.
type fixture struct {
	page                 page
	curve                string
	signer               *signing.Signer
	resources            []signing.Resource
	skey                 string
	proofOfTwo           [][]byte // entry 2's inclusion proof in the final tree
	keyEntry             *potluck.Receipt
	checkpointAtRelease  []byte // the checkpoint right after the release was logged
	otherPublisherKeyPEM string
}

var testFiles = map[string]string{
	"config.json":          `{"dim": 8, "layers": 2}`,
	"model.safetensors":    "pretend these are 1.3 GB of weights",
	"tokenizer/vocab.json": `{"a": 0, "b": 1}`,
}

func newFixture(t *testing.T, curve elliptic.Curve) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{curve: curve.Params().Name}
	f.signer = newSigner(t, dir, "publisher", curve)
	f.otherPublisherKeyPEM = string(newSigner(t, dir, "other", curve).Public().PEM)
	var files []potluck.File
	for name, content := range testFiles {
		d := potluck.Digest([]byte(content))
		files = append(files, potluck.File{Path: name, Size: int64(len(content)), SHA256: d, CID: "bafyfile" + d[:8]})
		var digest [32]byte
		copy(digest[:], mustHex(t, d))
		f.resources = append(f.resources, signing.Resource{Name: name, Digest: digest})
	}
	slices.SortFunc(f.resources, func(a, b signing.Resource) int { return signing.ComparePaths(a.Name, b.Name) })
	slices.SortFunc(files, func(a, b potluck.File) int { return signing.ComparePaths(a.Path, b.Path) })
	bundle, err := signing.Sign(f.signer, "tiny-delta", f.resources, nil)
	if err != nil {
		t.Fatal(err)
	}
	rel := &potluck.Release{
		CID: testCID, Kind: potluck.KindDelta, Base: "bafytestbase", Publisher: "org-a", Files: files,
		Bundle: bundle, KeyHint: f.signer.Public().Hint(), Created: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
	}
	vkey := f.logRelease(t, rel)
	f.page = page{
		Data:  web.VerifyData{Release: rel, PublisherKey: string(f.signer.Public().PEM), LogOrigin: testOrigin, LogKey: vkey},
		Shown: files, Mark: true, Checks: []string{"signature", "files", "checkpoint", "inclusion", "entry"},
	}
	f.checkInGo(t)
	return f
}

func newSigner(t *testing.T, dir, name string, curve elliptic.Curve) *signing.Signer {
	t.Helper()
	priv, pub := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := signing.GenerateKeyCurve(priv, pub, curve); err != nil {
		t.Fatal(err)
	}
	s, err := signing.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// logRelease logs three key entries, the release's entry (index 3) and
// three more, as a hub would, and gives the release its receipt against
// the final checkpoint. It returns the log's verifier key.
func (f *fixture) logRelease(t *testing.T, rel *potluck.Release) string {
	t.Helper()
	skey, vkey, err := translog.GenerateKey(logName)
	if err != nil {
		t.Fatal(err)
	}
	f.skey = skey
	l, err := translog.Open(t.TempDir(), testOrigin, skey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	keyEntry := func(i int) []byte {
		return encode(t, &potluck.KeyEntry{Key: fmt.Sprintf("%064x", i), Action: potluck.KeyAction("add"), Org: "org-a"})
	}
	var entries [][]byte
	for i := range 3 {
		entries = append(entries, keyEntry(i))
	}
	releaseEntry := encode(t, &potluck.ReleaseEntry{
		EntryHeader: potluck.EntryHeader{Time: rel.Created}, Release: rel.CID, Kind: rel.Kind, Base: rel.Base,
		Publisher: rel.Publisher, Key: rel.KeyHint, Bundle: potluck.Digest(rel.Bundle),
	})
	entries = append(entries, releaseEntry)
	for i := range 3 {
		entries = append(entries, keyEntry(10+i))
	}
	for i, e := range entries {
		inc, err := l.Append(e)
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			f.checkpointAtRelease = inc.Checkpoint
		}
	}
	proof := func(i int64) [][]byte {
		p, err := l.InclusionProof(i, l.Size())
		if err != nil {
			t.Fatal(err)
		}
		out := make([][]byte, len(p))
		for k, h := range p {
			out[k] = bytes.Clone(h[:])
		}
		return out
	}
	rel.Receipt = &potluck.Receipt{Index: 3, Entry: releaseEntry, Proof: proof(3), Checkpoint: l.Checkpoint()}
	f.keyEntry = &potluck.Receipt{Index: 0, Entry: entries[0], Proof: proof(0), Checkpoint: l.Checkpoint()}
	f.proofOfTwo = proof(2)
	return vkey
}

func encode(t *testing.T, e potluck.Entry) []byte {
	t.Helper()
	b, err := potluck.EncodeEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkInGo checks the fixture with the Go packages, so that the browser
// is held to what they accept.
func (f *fixture) checkInGo(t *testing.T) {
	t.Helper()
	d := f.page.Data
	v, err := signing.VerifyBundle(d.Release.Bundle, []*signing.PublicKey{f.signer.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Match(f.resources); err != nil {
		t.Fatal(err)
	}
	verifier, err := translog.NewVerifier(d.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := translog.ParseCheckpoint(d.Release.Receipt.Checkpoint, d.LogOrigin, verifier)
	if err != nil {
		t.Fatal(err)
	}
	r := d.Release.Receipt
	proof := make([]tlog.Hash, len(r.Proof))
	for i, p := range r.Proof {
		copy(proof[i][:], p)
	}
	if err := translog.VerifyInclusion(r.Entry, r.Index, proof, cp); err != nil {
		t.Fatal(err)
	}
}

// clone deep-copies the page, so a case can tamper with its copy.
func (f *fixture) clone(t *testing.T) page {
	t.Helper()
	b, err := json.Marshal(f.page)
	if err != nil {
		t.Fatal(err)
	}
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// resign signs a checkpoint's text again with the given signing keys.
func resign(t *testing.T, checkpoint []byte, text string, skeys ...string) []byte {
	t.Helper()
	if text == "" {
		text = string(checkpoint[:bytes.Index(checkpoint, []byte("\n\n"))+1])
	}
	var signers []note.Signer
	for _, k := range skeys {
		s, err := note.NewSigner(k)
		if err != nil {
			t.Fatal(err)
		}
		signers = append(signers, s)
	}
	b, err := note.Sign(&note.Note{Text: text}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newLogKey(t *testing.T, name string) string {
	t.Helper()
	skey, _, err := translog.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	return skey
}

// flipSignature flips the last byte of the bundle's signature, in place in
// the bundle's bytes: the DER stays well formed, the signature is wrong.
func flipSignature(t *testing.T, bundle []byte) []byte {
	t.Helper()
	var b struct {
		DSSEEnvelope struct {
			Signatures []struct {
				Sig []byte `json:"sig"`
			} `json:"signatures"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	sig := b.DSSEEnvelope.Signatures[0].Sig
	old := base64.StdEncoding.EncodeToString(sig)
	sig[len(sig)-1] ^= 1
	out := bytes.Replace(bundle, []byte(old), []byte(base64.StdEncoding.EncodeToString(sig)), 1)
	if bytes.Equal(out, bundle) {
		t.Fatal("signature not found in the bundle")
	}
	return out
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	var b []byte
	if _, err := fmt.Sscanf(s, "%x", &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func otherDigest() string {
	var b [32]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

func mustRand(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
