// Package web holds what the hub's web pages run in the browser: the
// scripts that check a release there, with WebCrypto and without trusting
// the server (static/verify.js and the modules it imports), the script
// that runs them on a release page (static/release.js), the data such a
// page embeds for them (VerifyData), and the Content-Security-Policy they
// are written to run under (CSP).
//
// A release page embeds its VerifyData and loads release.js:
//
//	<script type="application/json" id="potluck-verify">{{.Verify}}</script>
//	<p id="potluck-verdict"></p>
//	<ul id="potluck-checks"></ul>
//	<script type="module" src="/static/release.js"></script>
//
// html/template writes a Go value inside a JSON script element as JSON,
// escaped so that it cannot end the element; release.js reads it, runs the
// checks and fills the list, one item per check, passed or failed with the
// reason. Files the page lists, marked data-potluck-file="PATH"
// data-sha256="HEX", are the ones checked against the signature. The
// scripts need a secure context for WebCrypto: HTTPS, or localhost.
package web

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/potluck-hub/potluck"
)

// CSP is the Content-Security-Policy of the hub's pages. The scripts here
// need no inline script, no eval and no inline style.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

// Static holds the scripts: verify.js, the checks (it imports bytes.js,
// der.js, bundle.js, files.js and tlog.js from beside it), release.js,
// which runs them on a release page, and checks.css, an optional style
// for the list it fills. Serve them together under one prefix, such as
// /static/.
var Static fs.FS = mustSub(static, "static")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // dir is embedded above
	}
	return sub
}

// Assets serves Static; mount it with its prefix stripped:
// mux.Handle("/static/", http.StripPrefix("/static/", web.Assets())).
// Scripts are served as text/javascript, which module scripts require.
func Assets() http.Handler {
	return http.FileServerFS(Static)
}

// WithCSP serves h with the CSP header and nosniff, so that a browser
// runs only the scripts the hub serves and only as the types it names.
func WithCSP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", CSP)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// VerifyData is what a release page embeds for release.js: the release as
// the hub keeps it (its files, the bundle's exact bytes and the log
// receipt: entry, index, proof and signed checkpoint) and the keys to
// check it with. The browser recomputes every check from these; the page
// should also show the keys' fingerprints, so that a reader can compare
// them with keys learnt elsewhere, since the hub serves both.
type VerifyData struct {
	Release *potluck.Release `json:"release"`
	// PublisherKey is the PEM public key that signed the release (a
	// member's, or the hub's for a merge): signing.PublicKey.PEM.
	PublisherKey string `json:"publisher_key"`
	// LogOrigin and LogKey are the log's origin line and its signed-note
	// verifier key (translog.Log.Origin and VerifierKey).
	LogOrigin string `json:"log_origin"`
	LogKey    string `json:"log_key"`
}
