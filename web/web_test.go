package web_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/internal/browsertest"
	"github.com/potluck-hub/potluck/web"
)

// The tests share one headless Chromium (see browsertest.Shared); its
// start takes about a second here, each page a few tens of milliseconds.
func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// serve serves the scripts as the hub will (web.Assets under /static/),
// the test helpers under /testdata/, and the test's own routes, every
// response under web.CSP.
func serve(t *testing.T, routes map[string]http.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", web.Assets()))
	mux.Handle("/testdata/", http.StripPrefix("/testdata/", http.FileServerFS(os.DirFS("testdata"))))
	for p, h := range routes {
		mux.Handle(p, h)
	}
	return browsertest.Serve(t, web.WithCSP(mux))
}

// checkCSP checks that the page ran under the CSP and broke none of it:
// its inline canary script was refused, and nothing else was.
func checkCSP(t *testing.T, p *browsertest.Page) {
	t.Helper()
	got := browsertest.Eval[struct {
		Inline     string
		Violations []string
	}](t, p, `({inline: document.documentElement.dataset.inline || "", violations: window.cspViolations})`)
	if got.Inline != "" {
		t.Errorf("the inline canary script ran: the page was not served under the CSP")
	}
	if v := got.Violations; len(v) != 1 || !strings.HasPrefix(v[0], "script-src-elem refused inline") {
		t.Errorf("CSP violations %q, want only the inline canary's", v)
	}
	for _, line := range p.Console() {
		if strings.HasPrefix(line, "exception") {
			t.Errorf("page console: %s", line)
		}
	}
}

// A call of one of verify.js's exports, run by testdata/unit.js.
type call struct {
	Fn   string `json:"fn"`
	Args []any  `json:"args"`
}

// b64 is bytes in a call: unit.js passes a Uint8Array.
type b64 []byte

func (b b64) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"$b64": base64.StdEncoding.EncodeToString(b)})
}

// bigint is a decimal number in a call: unit.js passes a BigInt.
type bigint string

func (b bigint) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"$big": string(b)})
}

// result is what a check resolves to; unit.js writes bytes as hex and
// BigInts as decimal strings.
type result struct {
	OK       bool   `json:"ok"`
	Reason   string `json:"reason"`
	Threw    string `json:"threw"`
	Size     string `json:"size"`
	RootHash string `json:"rootHash"`
	KeyHint  string `json:"keyHint"`
}

// runCalls runs calls in the browser, under the CSP, and returns each
// one's JSON result in order.
func runCalls(t *testing.T, calls []call) []json.RawMessage {
	t.Helper()
	body, err := json.Marshal(calls)
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, map[string]http.Handler{
		"/calls.json": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}),
	})
	p := browsertest.Shared(t).Open(t, url+"/testdata/unit.html")
	p.WaitFor(t, `body[data-state="done"]`)
	checkCSP(t, p)
	var out []json.RawMessage
	if err := json.Unmarshal([]byte(browsertest.Eval[string](t, p, `window.unitResults`)), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(calls) {
		t.Fatalf("%d results for %d calls", len(out), len(calls))
	}
	return out
}

// results decodes check results, failing the test for any call that threw.
func results(t *testing.T, raw []json.RawMessage) []result {
	t.Helper()
	out := make([]result, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatalf("result %d: %v: %s", i, err, r)
		}
		if out[i].Threw != "" {
			t.Errorf("call %d threw: %s", i, out[i].Threw)
		}
	}
	return out
}
