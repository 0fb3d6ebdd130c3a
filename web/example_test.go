package web_test

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/web"
)

// A hub serves the scripts under /static/ and its pages with the CSP. A
// release page embeds its VerifyData with html/template, which writes it
// as JSON that cannot close the script element, and loads release.js,
// which checks the release in the reader's browser.
func ExampleVerifyData() {
	page := template.Must(template.New("release").Parse(
		`<script type="application/json" id="potluck-verify">{{.}}</script>
<ul id="potluck-checks"></ul>
<script type="module" src="/static/release.js"></script>
`))
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", web.Assets()))
	mux.HandleFunc("/release/{cid}", func(w http.ResponseWriter, r *http.Request) {
		// The hub looks up the release (with its receipt), the key that
		// signed it and its log's origin and key; here, made-up ones.
		page.Execute(w, web.VerifyData{
			Release:   &potluck.Release{CID: r.PathValue("cid"), Publisher: "org-a</script>"},
			LogOrigin: "potluck.hub/log/0123456789abcdef",
		})
	})
	hub := web.WithCSP(mux)

	w := httptest.NewRecorder()
	hub.ServeHTTP(w, httptest.NewRequest("GET", "/release/bafyexample", nil))
	fmt.Println(w.Header().Get("Content-Security-Policy"))
	fmt.Print(w.Body.String())
	// Output:
	// default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'
	// <script type="application/json" id="potluck-verify">{"release":{"cid":"bafyexample","kind":"","publisher":"org-a\u003c/script\u003e","files":null,"bundle":null,"key_hint":"","created":"0001-01-01T00:00:00Z"},"publisher_key":"","log_origin":"potluck.hub/log/0123456789abcdef","log_key":""}</script>
	// <ul id="potluck-checks"></ul>
	// <script type="module" src="/static/release.js"></script>
}
