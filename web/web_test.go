package web_test

import (
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
	if got := browsertest.Eval[string](t, p, `document.documentElement.dataset.inline || ""`); got != "" {
		t.Errorf("the inline canary script ran: the page was not served under the CSP")
	}
	v := browsertest.Eval[[]string](t, p, `window.cspViolations`)
	if len(v) != 1 || !strings.HasPrefix(v[0], "script-src-elem refused inline") {
		t.Errorf("CSP violations %q, want only the inline canary's", v)
	}
	for _, line := range p.Console() {
		if strings.HasPrefix(line, "exception") {
			t.Errorf("page console: %s", line)
		}
	}
}
