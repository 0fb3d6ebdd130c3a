package web_test

import (
	"bytes"
	"crypto/elliptic"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/browsertest"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/web"
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

var releaseTemplate = sync.OnceValues(func() (*template.Template, error) {
	b, err := os.ReadFile("testdata/release.html")
	if err != nil {
		return nil, err
	}
	return template.New("release").Parse(string(b))
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
