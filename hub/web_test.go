package hub_test

// The web view in a real browser: headless Chromium (internal/browsertest)
// loads the pages of a real hub, served by hub.HTTPHandler on loopback,
// holding the study group's chain (chain_test.go) with an attestation, a
// yank, a refused upload, and a second base with a file called
// "<script>.txt". Tampered pages are served through a wrapping handler
// here, in the test: the hub has no way to serve them.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/browsertest"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/web"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// yankReason is dD's: markup in it must show as text.
const yankReason = `broke the eval <script>alert("yank")</script> & more`

// oddFile is a file of the second base whose name is markup.
const oddFile = "<script>.txt"

// webHub is a hub with everything a page can show, served on loopback.
type webHub struct {
	hs     *harness
	c      *chain
	odd    *potluck.Release // lab-b's tiny base holding oddFile
	tokens []string         // the members' tokens (the file lists their hashes)
	url    string
	tab    *browsertest.Page
}

func newWebHub(t *testing.T) *webHub {
	t.Helper()
	ctx := context.Background()
	hs, tokA, tokB, tokOp := tokenHarness(t, hub.Access{})
	w := &webHub{hs: hs, tokens: []string{tokA, tokB, tokOp}}
	w.c = firstRound(t, hs)
	w.c.secondRound(t, hs)
	if _, err := hs.client.Attest(ctx, hs.keyA, w.c.m1.CID, mmlu); err != nil {
		t.Fatal(err)
	}
	if _, err := hs.client.Attest(ctx, hs.keyB, w.c.m1.CID, potluck.Evaluation{Task: "mmlu", Metric: "accuracy", Value: 0.71}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := hs.as(tokB).Yank(ctx, w.c.dD.CID, yankReason); err != nil {
		t.Fatal(err)
	}
	w.odd = w.oddBase(t)
	w.url = browsertest.Serve(t, hub.HTTPHandler(hs.h))
	w.tab = browsertest.Shared(t).Open(t, "about:blank")
	return w
}

// oddBase registers a tiny base of lab-b's holding oddFile, then has a
// zeroed delta of it refused, so that the log holds a verdict.
func (w *webHub) oddBase(t *testing.T) *potluck.Release {
	t.Helper()
	hs := w.hs
	m := tinyModels(t, filepath.Join(hs.dir, "odd"))
	if err := os.WriteFile(filepath.Join(m.base, oddFile), []byte("not a script\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := hs.registerBase(m.base, hs.keyB)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(hs.dir, "odd", "zero-delta")
	man := makeDelta(t, m.base, m.ftA, dir, base.CID)
	rewriteShard(t, filepath.Join(dir, man.Tensors[0].File), func(_ []safetensors.TensorSpec, data [][]byte) {
		for _, d := range data {
			clear(d)
		}
	})
	remanifest(t, dir)
	if _, err := hs.publish(dir, hs.keyB, base.CID); err == nil {
		t.Fatal("the hub accepted a delta of zeros")
	}
	return base
}

// all are the chain's releases, oldest first.
func (w *webHub) all() []*potluck.Release {
	c := w.c
	return []*potluck.Release{c.base, c.dA, c.dB, c.m1, c.dC, c.dD, c.m2}
}

// get fetches a page as a client without JavaScript sees it.
func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// visit loads path in the tab and checks the page broke no rule: no
// script error, no CSP violation, no failed load.
func (w *webHub) visit(t *testing.T, path string) {
	t.Helper()
	w.tab.Navigate(t, w.url+path)
	quiet(t, w.tab)
}

func quiet(t *testing.T, p *browsertest.Page) {
	t.Helper()
	for _, line := range p.Console() {
		if strings.HasPrefix(line, "exception") || strings.HasPrefix(line, "error") || strings.Contains(line, "Refused") {
			t.Errorf("page console: %s", line)
		}
	}
}

// shownCheck is one item of a page's list of browser checks.
type shownCheck struct {
	Name, Status, Reason string
	OK                   bool
}

// checksOf waits for the page's checks to finish and reads them, with the
// verdict line.
func checksOf(t *testing.T, p *browsertest.Page) ([]shownCheck, string) {
	t.Helper()
	p.WaitFor(t, `#potluck-checks[data-state="done"]`)
	got := browsertest.Eval[struct {
		Checks  []shownCheck
		Verdict string
	}](t, p, `({checks: Array.from(document.querySelectorAll('#potluck-checks li'), (li) => ({
		name: li.dataset.check, ok: li.dataset.ok === 'true',
		status: li.querySelector('.check-status')?.textContent ?? '',
		reason: li.querySelector('.check-reason')?.textContent ?? '',
	})), verdict: document.getElementById('potluck-verdict').textContent})`)
	return got.Checks, got.Verdict
}

// expectChecks compares the checks shown with the failures expected (a
// check's name and a piece of its reason); every other check must pass.
func expectChecks(t *testing.T, got []shownCheck, names []string, fail map[string]string) {
	t.Helper()
	var seen []string
	for _, c := range got {
		seen = append(seen, c.Name)
		want, bad := fail[c.Name]
		switch {
		case bad && (c.OK || c.Status != "failed" || !strings.Contains(c.Reason, want)):
			t.Errorf("check %s: %s (%s), want failed with %q", c.Name, c.Status, c.Reason, want)
		case !bad && (!c.OK || c.Status != "passed"):
			t.Errorf("check %s: %s: %s, want passed", c.Name, c.Status, c.Reason)
		}
	}
	if !slices.Equal(seen, names) {
		t.Errorf("checks shown %v, want %v", seen, names)
	}
}

var releaseChecks = []string{"signature", "files", "checkpoint", "inclusion", "entry"}

func TestWebView(t *testing.T) {
	w := newWebHub(t)
	c := w.c

	t.Run("Home", func(t *testing.T) {
		w.visit(t, "/")
		type base struct {
			CID                          string
			Deltas, Merges, Orgs, Yanked string
		}
		got := browsertest.Eval[[]base](t, w.tab, `Array.from(document.querySelectorAll('#bases tbody tr'), (tr) => ({
			cid: tr.dataset.base,
			deltas: tr.querySelector('[data-count=deltas]').textContent, merges: tr.querySelector('[data-count=merges]').textContent,
			orgs: tr.querySelector('[data-count=orgs]').textContent, yanked: tr.querySelector('[data-count=yanked]').textContent}))`)
		want := []base{{c.base.CID, "4", "2", "2", "1"}, {w.odd.CID, "0", "0", "0", "0"}}
		if !slices.Equal(got, want) {
			t.Errorf("bases %+v, want %+v", got, want)
		}
		kinds := browsertest.Eval[[]string](t, w.tab, `Array.from(document.querySelectorAll('table.entries tbody tr'), (tr) => tr.dataset.type)`)
		if len(kinds) == 0 || kinds[0] != "verdict" || !slices.Contains(kinds, "yank") || !slices.Contains(kinds, "attestation") {
			t.Errorf("recent log entries, newest first: %v", kinds)
		}
	})

	t.Run("Lineage", func(t *testing.T) {
		w.visit(t, "/releases/"+c.base.CID+"/lineage")
		// An edge is "p>c" in its path's data-edges, p and c the data-n
		// of its ends; the dashed path holds those to or from a yanked
		// release.
		got := browsertest.Eval[struct {
			Nodes, Yanked []string
			Edges, Dashed []string
			Title         string
		}](t, w.tab, `(() => {
			const cid = {};
			for (const a of document.querySelectorAll('svg.lineage a.node')) cid[a.dataset.n] = a.id.slice('node-'.length);
			const edges = (sel) => Array.from(document.querySelectorAll(sel),
				(p) => p.dataset.edges.split(' ').map((e) => e.split('>').map((n) => cid[n]).join(' '))).flat();
			return {
				nodes: Array.from(document.querySelectorAll('svg.lineage a.node'), (a) => a.id),
				yanked: Array.from(document.querySelectorAll('svg.lineage a.node.yanked'), (a) => a.id),
				edges: edges('svg.lineage g.edges path'),
				dashed: edges('svg.lineage g.edges path.yanked'),
				title: document.querySelector('#node-`+c.m1.CID+` > title').textContent};
		})()`)
		var nodes []string
		for _, r := range w.all() {
			nodes = append(nodes, "node-"+r.CID)
		}
		if slices.Sort(got.Nodes); !slices.Equal(got.Nodes, slices.Sorted(slices.Values(nodes))) {
			t.Errorf("nodes %v, want %v", got.Nodes, nodes)
		}
		if want := []string{"node-" + c.dD.CID}; !slices.Equal(got.Yanked, want) {
			t.Errorf("yanked nodes %v, want %v", got.Yanked, want)
		}
		var edges, dashed []string
		for _, r := range w.all() {
			for _, p := range r.Parents() {
				edges = append(edges, p+" "+r.CID)
				if p == c.dD.CID || r.CID == c.dD.CID {
					dashed = append(dashed, p+" "+r.CID)
				}
			}
		}
		slices.Sort(edges)
		if slices.Sort(got.Edges); !slices.Equal(got.Edges, edges) {
			t.Errorf("edges %v\nwant %v", got.Edges, edges)
		}
		if slices.Sort(dashed); len(dashed) == 0 || !slices.Equal(slices.Sorted(slices.Values(got.Dashed)), dashed) {
			t.Errorf("dashed edges %v, want those of the yanked %s: %v", got.Dashed, c.dD.CID, dashed)
		}
		if !strings.Contains(got.Title, "mmlu/accuracy 0.71 (lab-b)") {
			t.Errorf("M1's hover text %q: want its best attested score, lab-b's 0.71", got.Title)
		}
		// A click on a release opens its page.
		browsertest.Eval[bool](t, w.tab, `document.getElementById('node-`+c.dA.CID+`').dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))`)
		w.tab.WaitFor(t, "#release-cid")
		if got := browsertest.Eval[string](t, w.tab, `location.pathname`); got != "/releases/"+c.dA.CID {
			t.Errorf("the click opened %s", got)
		}
	})

	t.Run("ReleasesVerify", func(t *testing.T) {
		for _, r := range append(w.all(), w.odd) {
			w.visit(t, "/releases/"+r.CID)
			checks, verdict := checksOf(t, w.tab)
			expectChecks(t, checks, releaseChecks, nil)
			if verdict != "All 5 checks passed in your browser." {
				t.Errorf("release %s: verdict %q", r.CID, verdict)
			}
		}
	})

	t.Run("ReleaseShows", func(t *testing.T) {
		w.visit(t, "/releases/"+c.m1.CID)
		got := browsertest.Eval[struct {
			Publisher, KeyHint, LogIndex, Method string
			Parents, Children, Inputs, Files     []string
			Attestations                         []string
			Admission                            int
		}](t, w.tab, `({
			publisher: document.getElementById('publisher').textContent,
			keyHint: document.getElementById('key-hint').textContent,
			logIndex: document.getElementById('log-index').textContent,
			method: document.getElementById('merge-method').textContent,
			parents: Array.from(document.querySelectorAll('a.parent'), (a) => a.getAttribute('href')),
			children: Array.from(document.querySelectorAll('a.child'), (a) => a.getAttribute('href')),
			inputs: Array.from(document.querySelectorAll('#provenance tr[data-input]'), (tr) => tr.dataset.input + ' ' + tr.cells[2].textContent),
			files: Array.from(document.querySelectorAll('#files tr[data-potluck-file]'), (tr) => tr.dataset.potluckFile),
			attestations: Array.from(document.querySelectorAll('#attestations tbody tr'), (tr) => Array.from(tr.cells, (td) => td.textContent).slice(0, 4).join(' ')),
			admission: document.querySelectorAll('#admission tr').length})`)
		rel := func(cs ...*potluck.Release) []string {
			var out []string
			for _, r := range cs {
				out = append(out, "/releases/"+r.CID)
			}
			return out
		}
		if got.Publisher != hub.HubOrg || got.KeyHint != c.m1.KeyHint || got.LogIndex != fmt.Sprint(c.m1.Receipt.Index) || got.Method != "task_arithmetic" {
			t.Errorf("M1 shows publisher %q, key %q, log index %q, method %q", got.Publisher, got.KeyHint, got.LogIndex, got.Method)
		}
		if want := rel(c.base, c.dA, c.dB); !slices.Equal(got.Parents, want) {
			t.Errorf("parents %v, want %v", got.Parents, want)
		}
		if want := rel(c.dC, c.dD, c.m2); !slices.Equal(slices.Sorted(slices.Values(got.Children)), slices.Sorted(slices.Values(want))) {
			t.Errorf("children %v, want %v", got.Children, want)
		}
		if want := []string{c.dA.CID + " 1", c.dB.CID + " 1"}; !slices.Equal(got.Inputs, want) {
			t.Errorf("provenance inputs %v, want %v", got.Inputs, want)
		}
		var files []string
		for _, f := range c.m1.Files {
			files = append(files, f.Path)
		}
		if !slices.Equal(got.Files, files) {
			t.Errorf("files %v, want %v", got.Files, files)
		}
		want := []string{"mmlu accuracy 0.634 lab-a", "mmlu accuracy 0.71 lab-b"}
		if !slices.Equal(got.Attestations, want) {
			t.Errorf("attestations %q, want %q", got.Attestations, want)
		}
		if got.Admission != 0 {
			t.Errorf("a merge shows %d admission checks", got.Admission)
		}
	})

	t.Run("AdmissionChecks", func(t *testing.T) {
		w.visit(t, "/releases/"+c.dA.CID)
		got := browsertest.Eval[[]string](t, w.tab, `Array.from(document.querySelectorAll('#admission tbody tr'), (tr) => tr.dataset.check + ' ' + tr.cells[1].textContent)`)
		var want []string
		for _, ch := range c.dA.Checks {
			want = append(want, ch.Name+" passed")
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("admission checks shown %q, want %q", got, want)
		}
	})

	t.Run("YankShownAsText", func(t *testing.T) {
		w.visit(t, "/releases/"+c.dD.CID)
		got := browsertest.Eval[struct {
			Reason  string
			Scripts int
		}](t, w.tab, `({reason: document.getElementById('yank-reason').textContent, scripts: document.scripts.length})`)
		if got.Reason != yankReason || got.Scripts != 2 {
			t.Errorf("yank reason %q with %d scripts on the page; want %q and 2 (the data and release.js)", got.Reason, got.Scripts, yankReason)
		}
		checks, _ := checksOf(t, w.tab)
		expectChecks(t, checks, releaseChecks, nil) // a yanked release still verifies
	})

	t.Run("FileNamedScriptShownAsText", func(t *testing.T) {
		w.visit(t, "/releases/"+w.odd.CID)
		got := browsertest.Eval[struct {
			Text, Href string
			Scripts    int
		}](t, w.tab, `(() => { const a = document.querySelector('#files tr[data-potluck-file="<script>.txt"] a');
			return {text: a ? a.textContent : '', href: a ? a.getAttribute('href') : '', scripts: document.scripts.length}; })()`)
		if got.Text != oddFile || got.Href != "/ipfs/"+w.odd.CID+"/%3Cscript%3E.txt" || got.Scripts != 2 {
			t.Errorf("file row %+v; want the name as text, its gateway link escaped, 2 scripts", got)
		}
		f, _ := w.odd.File(oddFile)
		resp, body := get(t, w.url+got.Href)
		if sum := sha256.Sum256([]byte(body)); resp.StatusCode != http.StatusOK || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("the gateway link: %s, sha256 %x; want the file, sha256 %s", resp.Status, sum, f.SHA256)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox; default-src 'none'") {
			t.Errorf("the gateway serves a release's file under CSP %q, want it sandboxed", csp)
		}
	})

	for _, tc := range []struct {
		name string
		edit func(t *testing.T, page string) string
		fail map[string]string
	}{
		{"TamperedSignature", func(t *testing.T, page string) string {
			return editVerifyData(t, page, "potluck-verify", func(d map[string]any) {
				rel := d["release"].(map[string]any)
				rel["bundle"] = base64.StdEncoding.EncodeToString(flipSignatureByte(t, b64(t, rel["bundle"])))
			})
		}, map[string]string{
			"signature": "the DSSE signature does not verify with the publisher's P-",
			"files":     "not checked: the signature did not verify",
			"entry":     "the log entry records bundle sha256",
		}},
		{"TamperedDigest", func(t *testing.T, page string) string {
			f := c.dA.Files[0]
			return strings.ReplaceAll(page, f.SHA256, otherSHA256)
		}, map[string]string{"files": "file " + c.dA.Files[0].Path + ": sha256 "}},
		{"TamperedInclusionProof", func(t *testing.T, page string) string {
			return editVerifyData(t, page, "potluck-verify", func(d map[string]any) {
				flipProof(t, d["release"].(map[string]any)["receipt"].(map[string]any))
			})
		}, map[string]string{"inclusion": fmt.Sprintf("entry %d's proof leads to root ", c.dA.Receipt.Index)}},
		{"TamperedCheckpoint", func(t *testing.T, page string) string {
			return editVerifyData(t, page, "potluck-verify", func(d map[string]any) {
				flipCheckpoint(t, d["release"].(map[string]any)["receipt"].(map[string]any))
			})
		}, map[string]string{
			"checkpoint": "the checkpoint's signature by the log key potluck-hub+",
			"inclusion":  "not checked: the checkpoint did not verify",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := browsertest.Serve(t, tampered(hub.HTTPHandler(w.hs.h), func(page string) string { return tc.edit(t, page) }))
			w.tab.Navigate(t, url+"/releases/"+c.dA.CID)
			checks, verdict := checksOf(t, w.tab)
			expectChecks(t, checks, releaseChecks, tc.fail)
			if want := fmt.Sprintf("%d of 5 checks failed in your browser.", len(tc.fail)); verdict != want {
				t.Errorf("verdict %q, want %q", verdict, want)
			}
		})
	}

	t.Run("Log", func(t *testing.T) {
		w.visit(t, "/log")
		got := browsertest.Eval[struct {
			Kinds      []string
			Checkpoint string
		}](t, w.tab, `({kinds: Array.from(document.querySelectorAll('table.entries tbody tr'), (tr) => tr.dataset.type),
			checkpoint: document.getElementById('checkpoint').textContent})`)
		for _, k := range []string{"release", "key", "verdict", "attestation", "yank"} {
			if !slices.Contains(got.Kinds, k) {
				t.Errorf("the log page lists no %s entry: %v", k, got.Kinds)
			}
		}
		if want := string(w.hs.h.Info().LogOrigin) + "\n"; !strings.HasPrefix(got.Checkpoint, want) {
			t.Errorf("checkpoint %q", got.Checkpoint)
		}
	})

	t.Run("LogPaging", func(t *testing.T) {
		size := w.hs.logSize()
		_, body := get(t, fmt.Sprintf("%s/log?before=%d", w.url, size-1))
		if n := strings.Count(body, `<tr data-index=`); n != int(min(size-1, 50)) {
			t.Errorf("a log page before %d lists %d entries", size-1, n)
		}
		if !strings.Contains(body, fmt.Sprintf(`<tr data-index="%d"`, size-2)) || strings.Contains(body, fmt.Sprintf(`<tr data-index="%d"`, size-1)) {
			t.Errorf("the page before %d does not start at entry %d", size-1, size-2)
		}
		resp, body := get(t, w.url+"/log?before=0")
		if want := fmt.Sprintf("before &#34;0&#34;: want a log index from 1 to %d", size); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("/log?before=0: %s, want 400 with %q", resp.Status, want)
		}
	})

	t.Run("LogEntryVerifies", func(t *testing.T) {
		w.visit(t, fmt.Sprint("/log/", c.dA.Receipt.Index))
		checks, _ := checksOf(t, w.tab)
		expectChecks(t, checks, []string{"checkpoint", "inclusion"}, nil)
		got := browsertest.Eval[struct {
			Verified, Text string
		}](t, w.tab, `({verified: document.getElementById('potluck-entry-text').dataset.verified ?? '',
			text: document.getElementById('potluck-entry-text').textContent})`)
		if got.Verified != "true" || !strings.Contains(got.Text, `"release": "`+c.dA.CID+`"`) {
			t.Errorf("the entry shown once checked: verified %q, %q", got.Verified, got.Text)
		}
	})

	t.Run("LogEntryTamperedProof", func(t *testing.T) {
		url := browsertest.Serve(t, tampered(hub.HTTPHandler(w.hs.h), func(page string) string {
			return editVerifyData(t, page, "potluck-entry", func(d map[string]any) { flipProof(t, d["receipt"].(map[string]any)) })
		}))
		w.tab.Navigate(t, fmt.Sprint(url, "/log/", c.dA.Receipt.Index))
		checks, _ := checksOf(t, w.tab)
		expectChecks(t, checks, []string{"checkpoint", "inclusion"}, map[string]string{"inclusion": "'s proof leads to root "})
		if v := browsertest.Eval[string](t, w.tab, `document.getElementById('potluck-entry-text').dataset.verified ?? ''`); v != "" {
			t.Errorf("the entry text is marked verified (%q) though its proof failed", v)
		}
	})

	t.Run("Members", func(t *testing.T) {
		w.visit(t, "/members")
		got := browsertest.Eval[[]string](t, w.tab, `Array.from(document.querySelectorAll('.key'), (k) => k.dataset.org + ' ' + k.id + ' ' + k.querySelectorAll('.key-history tbody tr').length)`)
		want := []string{
			orgA + " key-" + w.hs.pubA.Hint() + " 1",
			orgB + " key-" + w.hs.pubB.Hint() + " 1",
			hub.HubOrg + " key-" + w.hs.h.Info().PublicKey.Hint() + " 1",
		}
		if !slices.Equal(got, want) {
			t.Errorf("keys shown %q, want %q", got, want)
		}
	})

	t.Run("NoTokenOrHashOnAnyPage", func(t *testing.T) {
		var secrets []string
		for _, tok := range w.tokens {
			h := hub.HashToken(tok)
			secrets = append(secrets, tok, h, strings.TrimPrefix(h, "sha256:"))
		}
		for _, path := range w.pages() {
			_, body := get(t, w.url+path)
			for _, s := range secrets {
				if strings.Contains(body, s) {
					t.Errorf("%s shows a token or its hash %q", path, s)
				}
			}
		}
	})

	t.Run("EveryPageUnderCSP", func(t *testing.T) {
		if strings.Contains(web.CSP, "unsafe-") || !strings.Contains(web.CSP, "script-src 'self'") {
			t.Errorf("the pages' CSP %q allows inline or eval'd script or style", web.CSP)
		}
		for _, path := range append(w.pages(), "/static/release.js", "/static/site.css") {
			resp, body := get(t, w.url+path)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") != web.CSP || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: %s, CSP %q, nosniff %q", path, resp.Status, resp.Header.Get("Content-Security-Policy"), resp.Header.Get("X-Content-Type-Options"))
			}
			for _, tag := range scriptTag.FindAllString(body, -1) {
				if !strings.Contains(tag, ` src="/static/`) && !strings.Contains(tag, ` type="application/json"`) {
					t.Errorf("%s has an inline script: %s", path, tag)
				}
			}
			if attr := inlineAttr.FindString(body); attr != "" {
				t.Errorf("%s has an inline style or handler: %q", path, attr)
			}
		}
	})

	t.Run("PagesWithoutJavaScript", func(t *testing.T) {
		// What a page shows is in its HTML; only the checks need the script.
		for path, want := range map[string]string{
			"/":                                    `<td class="num" data-count="deltas">4</td>`,
			"/releases/" + c.base.CID + "/lineage": `id="node-` + c.m2.CID + `"`,
			"/releases/" + c.m1.CID:                `<td>mmlu</td><td>accuracy</td><td class="num">0.634</td><td>lab-a</td>`,
			"/releases?org=" + orgB:                `<tr data-release="` + c.dB.CID + `"`,
			"/members":                             `id="key-` + w.hs.pubA.Hint() + `"`,
			"/log/0":                               `<dt>action</dt><dd>add</dd>`,
		} {
			if _, body := get(t, w.url+path); !strings.Contains(body, want) {
				t.Errorf("%s does not hold %s", path, want)
			}
		}
	})

	t.Run("PagesWithScriptsOff", func(t *testing.T) {
		// In a browser with JavaScript off: every page shows what it holds,
		// and a page with checks says that nothing was checked.
		tab := browsertest.Shared(t).Open(t, "about:blank")
		tab.NoScript(t)
		for path, want := range map[string]struct{ selector, text string }{
			"/":                                    {`td[data-count="deltas"]`, "4"},
			"/releases/" + c.base.CID + "/lineage": {`#node-` + c.m2.CID + ` title`, ""},
			"/releases/" + c.m1.CID:                {`#potluck-verdict`, "Your browser checks this release with JavaScript (WebCrypto); without it nothing on this page is checked."},
			"/log/0":                               {`#potluck-checks li[data-check="inclusion"]`, "not checked yet"},
			"/members":                             {`#key-` + w.hs.pubA.Hint(), ""},
			"/search?q=" + orgA:                    {`tr[data-release="` + c.dA.CID + `"]`, ""},
		} {
			tab.Navigate(t, w.url+path)
			got := browsertest.Eval[struct {
				Found bool
				Text  string
			}](t, tab, `(() => { const e = document.querySelector('`+want.selector+`');
				return {found: !!e, text: e ? e.textContent : ''}; })()`)
			if !got.Found || (want.text != "" && got.Text != want.text) {
				t.Errorf("%s with scripts off: %s is %v %q, want %q", path, want.selector, got.Found, got.Text, want.text)
			}
		}
		// The scripts were off indeed: given longer than the checks take here
		// (a page's timers never fire, so the test waits, not the page),
		// the checks never ran.
		tab.Navigate(t, w.url+"/releases/"+c.m1.CID)
		time.Sleep(2 * time.Second)
		if state := browsertest.Eval[string](t, tab, `document.getElementById('potluck-checks').dataset.state ?? 'never'`); state != "never" {
			t.Errorf("the release's checks ran (state %q) with scripts off", state)
		}
	})

	t.Run("Search", func(t *testing.T) {
		f := c.dA.Files[0]
		for _, s := range []struct{ q, path, id string }{
			{c.m2.CID, "/releases/" + c.m2.CID, "release-cid"},
			{f.CID, "/search", "file-hits"},
			{orgA, "/releases", "releases"},
			{w.hs.pubB.Hint(), "/members", "key-" + w.hs.pubB.Hint()},
			{"3", "/log/3", "entry-fields"},
			{c.dB.CID[len(c.dB.CID)-8:], "/search", "releases"},
			{"no-such-thing", "/search", "no-match"},
		} {
			w.tab.Navigate(t, w.url+"/search?q="+s.q)
			got := browsertest.Eval[struct {
				Path string
				Has  bool
			}](t, w.tab, `({path: location.pathname, has: !!(document.getElementById('`+s.id+`') || document.querySelector('table.`+s.id+`'))})`)
			if got.Path != s.path || !got.Has {
				t.Errorf("search %q: at %s (want %s), #%s there: %v", s.q, got.Path, s.path, s.id, got.Has)
			}
		}
		_, body := get(t, w.url+"/search?q="+f.CID)
		if !strings.Contains(body, `<tr data-release="`+c.dA.CID+`">`) {
			t.Errorf("searching file %s does not list release %s", f.CID, c.dA.CID)
		}
	})

	// scripts/screenshots keeps these for the README.
	t.Run("Screenshots", func(t *testing.T) {
		dir := os.Getenv("POTLUCK_SCREENSHOTS")
		if dir == "" {
			dir = t.TempDir()
		}
		tab := browsertest.Shared(t).Open(t, "about:blank")
		// Each is cut below what the README shows (the graph; the checks),
		// wide enough for the whole graph, and small enough to commit.
		for _, s := range []struct {
			name, path, below string
			width             int64
		}{
			{"lineage.png", "/releases/" + c.base.CID + "/lineage", ".lineage-scroll", 1480},
			{"release.png", "/releases/" + c.m1.CID, "section.verify", 1200},
		} {
			tab.Viewport(t, s.width, 800)
			tab.Navigate(t, w.url+s.path)
			quiet(t, tab)
			if s.name == "release.png" {
				checks, _ := checksOf(t, tab)
				expectChecks(t, checks, releaseChecks, nil)
			}
			fit := browsertest.Eval[struct{ Width, Bottom float64 }](t, tab, `(() => { const e = document.querySelector('`+s.below+`');
				return {width: Math.max(e.scrollWidth - e.clientWidth, 0), bottom: e.getBoundingClientRect().bottom + 16}; })()`)
			if fit.Width > 0 {
				t.Errorf("%s: %s is %v pixels too narrow for what it shows", s.name, s.below, fit.Width)
			}
			png := cropPNG(t, tab.Screenshot(t), fit.Bottom)
			if err := os.WriteFile(filepath.Join(dir, s.name), png, 0o644); err != nil {
				t.Fatal(err)
			}
			if len(png) > 200<<10 {
				t.Errorf("%s: %d bytes, more than 200 KiB to commit", s.name, len(png))
			}
			t.Logf("%s: %d bytes", filepath.Join(dir, s.name), len(png))
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		for path, want := range map[string]string{
			"/releases/" + fakeCID(t, "missing"): "hub: not found: release " + fakeCID(t, "missing"),
			"/releases/not-a-cid/lineage":        "hub: not found: release &#34;not-a-cid&#34;: not a CID",
			"/log/100000":                        "log entry 100000: the log has",
		} {
			resp, body := get(t, w.url+path)
			if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, want) {
				t.Errorf("%s: %s, want 404 with %q", path, resp.Status, want)
			}
		}
	})
}

// cropPNG keeps the top of a screenshot, down to y CSS pixels.
func cropPNG(t *testing.T, b []byte, y float64) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	r := img.Bounds()
	r.Max.Y = min(r.Max.Y, r.Min.Y+int(y))
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&out, img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// pages are paths to every kind of page of the web hub.
func (w *webHub) pages() []string {
	c := w.c
	return []string{"/", "/releases", "/releases?include_yanked=true", "/releases/" + c.m1.CID, "/releases/" + c.dD.CID,
		"/releases/" + w.odd.CID, "/releases/" + c.base.CID + "/lineage", "/log", "/log/0", fmt.Sprint("/log/", c.m1.Receipt.Index),
		"/members", "/search?q=" + c.dB.CID[len(c.dB.CID)-8:], "/search?q=" + c.dA.Files[0].CID}
}

var (
	scriptTag  = regexp.MustCompile(`<script\b[^>]*>`)
	inlineAttr = regexp.MustCompile(`<[^>]*\s(style|on[a-z]+)=`)
)

// otherSHA256 is a digest no file of the chain has.
var otherSHA256 = strings.Repeat("0f", 32)

func b64(t *testing.T, v any) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(v.(string))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// flipProof alters a byte of a receipt's first proof hash.
func flipProof(t *testing.T, receipt map[string]any) {
	t.Helper()
	proof := receipt["proof"].([]any)
	h := b64(t, proof[0])
	h[7] ^= 0x10
	proof[0] = base64.StdEncoding.EncodeToString(h)
}

// flipCheckpoint changes the root hash of a receipt's checkpoint, leaving
// its signature.
func flipCheckpoint(t *testing.T, receipt map[string]any) {
	t.Helper()
	lines := strings.SplitN(string(b64(t, receipt["checkpoint"])), "\n", 4)
	root := b64(t, lines[2])
	root[0] ^= 0x01
	lines[2] = base64.StdEncoding.EncodeToString(root)
	receipt["checkpoint"] = base64.StdEncoding.EncodeToString([]byte(strings.Join(lines, "\n")))
}

// tampered serves h, passing each HTML page through edit: what a hub that
// lies, or someone between it and the reader, could serve.
func tampered(h http.Handler, edit func(page string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.String()
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			body = edit(body)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		io.WriteString(w, body)
	})
}

// editVerifyData edits the JSON a page embeds in the script element with
// this id.
func editVerifyData(t *testing.T, page, id string, edit func(d map[string]any)) string {
	t.Helper()
	open := `<script type="application/json" id="` + id + `">`
	i := strings.Index(page, open)
	j := strings.Index(page[i+len(open):], "</script>")
	if i < 0 || j < 0 {
		t.Fatalf("the page has no %s data", id)
	}
	data := page[i+len(open) : i+len(open)+j]
	var d map[string]any
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		t.Fatalf("the page's %s data: %v", id, err)
	}
	edit(d)
	b, err := json.Marshal(d) // escapes <, > and &, as html/template does
	if err != nil {
		t.Fatal(err)
	}
	return page[:i+len(open)] + string(b) + page[i+len(open)+j:]
}
