package web_test

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/browsertest"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/translog"
	"github.com/potluck-hub/potluck/web"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	testCID    = "bafytestrelease"
	testOrigin = "potluck.hub/log/test"
	logName    = "potluck.test"
)

// page is what testdata/release.html renders: a release page as the web
// view will serve it.
type page struct {
	Data   web.VerifyData
	Raw    string // when set, embedded instead of Data
	Shown  []potluck.File
	Mark   bool // mark the shown files for release.js
	Checks []string
}

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

var releaseTemplate = sync.OnceValues(func() (*template.Template, error) {
	b, err := os.ReadFile("testdata/release.html")
	if err != nil {
		return nil, err
	}
	return template.New("release").Funcs(nil).Parse(string(b))
})

// shownCheck is one item of the page's check list, as a reader sees it.
type shownCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Status string `json:"status"`
	Title  string `json:"title"`
	Reason string `json:"reason"`
}

const readChecks = `Array.from(document.querySelectorAll('#potluck-checks li'), (li) => ({
	name: li.dataset.check,
	ok: li.dataset.ok === 'true',
	status: li.querySelector('.check-status')?.textContent ?? '',
	title: li.querySelector('.check-title')?.textContent ?? '',
	reason: li.querySelector('.check-reason')?.textContent ?? '',
}))`

// site serves release pages under the CSP, in one tab the subtests share.
type site struct {
	url string
	tab *browsertest.Page

	mu    sync.Mutex
	pages [][]byte
}

func newSite(t *testing.T) *site {
	s := &site{}
	s.url = serve(t, map[string]http.Handler{
		"/release/{n}": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, err := strconv.Atoi(r.PathValue("n"))
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil || n < 0 || n >= len(s.pages) {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(s.pages[n])
		}),
	})
	s.tab = browsertest.Shared(t).Open(t, "about:blank")
	return s
}

// load renders p as a release page, lets release.js run its checks in
// Chromium and returns what the page shows: the checks and the verdict.
func (s *site) load(t *testing.T, p page) ([]shownCheck, string) {
	t.Helper()
	tmpl, err := releaseTemplate()
	if err != nil {
		t.Fatal(err)
	}
	var html bytes.Buffer
	if err := tmpl.Execute(&html, p); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.pages = append(s.pages, html.Bytes())
	n := len(s.pages) - 1
	s.mu.Unlock()
	s.tab.Navigate(t, fmt.Sprintf("%s/release/%d", s.url, n))
	s.tab.WaitFor(t, `#potluck-checks[data-state="done"]`)
	checkCSP(t, s.tab)
	shown := browsertest.Eval[struct {
		Checks  []shownCheck
		Verdict string
	}](t, s.tab, `({checks: `+readChecks+`, verdict: document.getElementById('potluck-verdict').textContent})`)
	return shown.Checks, shown.Verdict
}

// tamper is one way a hub (or someone between it and the reader) could
// change a release page, and the checks that must fail, each with a
// piece of its reason; every other check must pass.
type tamper struct {
	name   string
	change func(t *testing.T, f *fixture, p *page)
	fail   map[string]string
}

// everyCurve names the cases that run for each key curve, not only for
// P-256: those where the signature or the key changes.
var everyCurve = map[string]bool{
	"untouched": true, "a flipped signature byte": true, "a malformed bundle": true,
	"a valid bundle over other files": true, "another publisher key": true,
}

func tampers() []tamper {
	notChecked := "not checked: "
	return []tamper{
		{"untouched", func(*testing.T, *fixture, *page) {}, nil},
		{"untouched, files not marked on the page", func(_ *testing.T, _ *fixture, p *page) { p.Mark = false }, nil},
		{"a checkpoint cosigned by a witness", func(t *testing.T, f *fixture, p *page) {
			r := p.Data.Release.Receipt
			r.Checkpoint = resign(t, r.Checkpoint, "", f.skey, newLogKey(t, "witness.test"))
		}, nil},
		{"a flipped signature byte", func(t *testing.T, _ *fixture, p *page) {
			p.Data.Release.Bundle = flipSignature(t, p.Data.Release.Bundle)
		}, map[string]string{
			"signature": "the DSSE signature does not verify with the publisher's P-",
			"files":     notChecked + "the signature did not verify",
			"entry":     "the log entry records bundle sha256",
		}},
		{"a statement digest that differs from a listed file", func(_ *testing.T, _ *fixture, p *page) {
			p.Shown[1].SHA256 = "00" + p.Shown[1].SHA256[2:]
		}, map[string]string{"files": "file model.safetensors: sha256 "}},
		{"a file listed but not signed", func(_ *testing.T, _ *fixture, p *page) {
			p.Shown = append(p.Shown, potluck.File{Path: "extra.bin", SHA256: otherDigest()})
		}, map[string]string{"files": "file extra.bin: listed but not signed (sha256 "}},
		{"a signed file not listed", func(_ *testing.T, _ *fixture, p *page) {
			p.Shown = p.Shown[:2]
		}, map[string]string{"files": "file tokenizer/vocab.json: signed (sha256 "}},
		{"a changed digest in the release's files, none marked", func(_ *testing.T, _ *fixture, p *page) {
			p.Mark = false
			p.Data.Release.Files[0].SHA256 = otherDigest()
		}, map[string]string{"files": "file config.json: sha256 "}},
		{"a wrong proof hash", func(_ *testing.T, _ *fixture, p *page) {
			p.Data.Release.Receipt.Proof[1][7] ^= 0x10
		}, map[string]string{"inclusion": "entry 3's proof leads to root "}},
		{"a proof for another index", func(_ *testing.T, f *fixture, p *page) {
			p.Data.Release.Receipt.Proof = f.proofOfTwo
		}, map[string]string{"inclusion": "entry 3's proof leads to root "}},
		{"another index for the proof", func(_ *testing.T, _ *fixture, p *page) {
			p.Data.Release.Receipt.Index = 2
		}, map[string]string{"inclusion": "entry 2's proof leads to root "}},
		{"a proof against an older checkpoint", func(_ *testing.T, f *fixture, p *page) {
			p.Data.Release.Receipt.Checkpoint = f.checkpointAtRelease
		}, map[string]string{"inclusion": "the proof has 3 hashes; entry 3 of a tree of 4 entries needs 2"}},
		{"a checkpoint signed by another key", func(t *testing.T, _ *fixture, p *page) {
			r := p.Data.Release.Receipt
			r.Checkpoint = resign(t, r.Checkpoint, "", newLogKey(t, logName))
		}, map[string]string{
			"checkpoint": "the checkpoint is not signed by the log key " + logName + "+",
			"inclusion":  notChecked + "the checkpoint did not verify",
		}},
		{"a checkpoint with a changed size", func(_ *testing.T, _ *fixture, p *page) {
			r := p.Data.Release.Receipt
			r.Checkpoint = bytes.Replace(r.Checkpoint, []byte("\n7\n"), []byte("\n8\n"), 1)
		}, map[string]string{
			"checkpoint": "the checkpoint's signature by the log key " + logName + "+",
			"inclusion":  notChecked,
		}},
		{"a checkpoint with a changed root", func(_ *testing.T, _ *fixture, p *page) {
			r := p.Data.Release.Receipt
			lines := bytes.SplitN(r.Checkpoint, []byte("\n"), 4)
			lines[2] = []byte(base64.StdEncoding.EncodeToString(mustRand(32)))
			r.Checkpoint = bytes.Join(lines, []byte("\n"))
		}, map[string]string{
			"checkpoint": "does not verify",
			"inclusion":  notChecked,
		}},
		{"a checkpoint with a changed root, signed by the log key", func(t *testing.T, f *fixture, p *page) {
			r := p.Data.Release.Receipt
			text := fmt.Sprintf("%s\n7\n%s\n", testOrigin, base64.StdEncoding.EncodeToString(mustRand(32)))
			r.Checkpoint = resign(t, nil, text, f.skey)
		}, map[string]string{"inclusion": "entry 3's proof leads to root "}},
		{"another log origin", func(_ *testing.T, _ *fixture, p *page) {
			p.Data.LogOrigin = "potluck.hub/log/other"
		}, map[string]string{
			"checkpoint": `checkpoint origin "` + testOrigin + `", want "potluck.hub/log/other"`,
			"inclusion":  notChecked,
		}},
		{"a malformed bundle", func(_ *testing.T, _ *fixture, p *page) {
			p.Data.Release.Bundle = p.Data.Release.Bundle[:len(p.Data.Release.Bundle)/2]
		}, map[string]string{
			"signature": "bundle: not JSON",
			"files":     notChecked,
			"entry":     "the log entry records bundle sha256",
		}},
		{"a valid bundle over other files", func(t *testing.T, f *fixture, p *page) {
			rs := append([]signing.Resource(nil), f.resources...)
			rs[0].Digest[0] ^= 1
			b, err := signing.Sign(f.signer, "tiny-delta", rs, nil)
			if err != nil {
				t.Fatal(err)
			}
			p.Data.Release.Bundle = b
		}, map[string]string{
			"files": "file config.json: sha256 ",
			"entry": "the log entry records bundle sha256",
		}},
		{"another publisher key", func(_ *testing.T, f *fixture, p *page) {
			p.Data.PublisherKey = f.otherPublisherKeyPEM
		}, map[string]string{
			"signature": "; the bundle names key hint ",
			"files":     notChecked,
			"entry":     "the log entry records signing key ",
		}},
		{"another release's CID", func(_ *testing.T, _ *fixture, p *page) {
			p.Data.Release.CID = "bafyotherrelease"
		}, map[string]string{"entry": "the log entry is for release " + testCID + ", the page shows bafyotherrelease"}},
		{"the receipt of a key entry", func(_ *testing.T, f *fixture, p *page) {
			p.Data.Release.Receipt = f.keyEntry
		}, map[string]string{"entry": `log entry 0 is a "key" entry, not a release's`}},
		{"no receipt", func(_ *testing.T, _ *fixture, p *page) {
			p.Data.Release.Receipt = nil
		}, map[string]string{
			"checkpoint": "the release has no log receipt",
			"inclusion":  notChecked,
			"entry":      "the release has no log receipt",
		}},
		{"page data that is not a release", func(_ *testing.T, _ *fixture, p *page) {
			p.Raw = "</script><script>document.documentElement.dataset.inline='ran'</script>"
		}, map[string]string{
			"signature": "page data: want an object, got string", "files": "page data: ",
			"checkpoint": "page data: ", "inclusion": "page data: ", "entry": "page data: ",
		}},
	}
}

func mustRand(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// A release page, served under the CSP, runs every check in Chromium:
// an untouched release passes all five, and each tampering fails the
// checks it should, with the reason, and only those. With a P-384 key
// only the cases that touch the signature or the key run again.
func TestReleasePage(t *testing.T) {
	s := newSite(t)
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		f := newFixture(t, curve)
		for _, tc := range tampers() {
			if !everyCurve[tc.name] && f.curve != "P-256" {
				continue
			}
			t.Run(f.curve+"/"+tc.name, func(t *testing.T) {
				p := f.clone(t)
				tc.change(t, f, &p)
				checks, verdict := s.load(t, p)
				checkShown(t, checks, verdict, tc.fail)
				if tc.name == "untouched" && !strings.Contains(checks[0].Reason, f.curve) {
					t.Errorf("signature reason %q does not name the curve %s", checks[0].Reason, f.curve)
				}
			})
		}
	}
}

func checkShown(t *testing.T, checks []shownCheck, verdict string, fail map[string]string) {
	t.Helper()
	want := []string{"signature", "files", "checkpoint", "inclusion", "entry"}
	if len(checks) != len(want) {
		t.Fatalf("the page shows %d checks, want %d: %+v", len(checks), len(want), checks)
	}
	for i, c := range checks {
		if c.Name != want[i] {
			t.Errorf("check %d is %q, want %q", i, c.Name, want[i])
		}
		reason, mustFail := fail[c.Name]
		status := map[bool]string{true: "passed", false: "failed"}[c.OK]
		switch {
		case c.Status != status || c.Title == "" || c.Reason == "":
			t.Errorf("check %s shows %q %q: %q (ok=%v)", c.Name, c.Status, c.Title, c.Reason, c.OK)
		case mustFail && c.OK:
			t.Errorf("check %s passed (%s), want it to fail with %q", c.Name, c.Reason, reason)
		case mustFail && !strings.Contains(c.Reason, reason):
			t.Errorf("check %s failed with %q, want a reason containing %q", c.Name, c.Reason, reason)
		case !mustFail && !c.OK:
			t.Errorf("check %s failed: %s", c.Name, c.Reason)
		}
	}
	wantVerdict := "All 5 checks passed in your browser."
	if len(fail) > 0 {
		wantVerdict = fmt.Sprintf("%d of 5 checks failed in your browser.", len(fail))
	}
	if verdict != wantVerdict {
		t.Errorf("verdict %q, want %q", verdict, wantVerdict)
	}
	if testing.Verbose() {
		for _, c := range checks {
			t.Logf("%s %s: %s", c.Status, c.Title, c.Reason)
		}
	}
}
