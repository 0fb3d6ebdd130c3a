package hub

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/web"
)

// The hub's web view: server-rendered pages (pages/*.html, html/template,
// so every value is escaped) over the same hub functions the JSON API
// calls, served on the HTTP listener under web.CSP, with the scripts of
// package web under /static/:
//
//	GET /                          bases with their counts, recent log entries, merge jobs
//	GET /releases                  releases, a page at a time (kind, org, base, yanked)
//	GET /releases/CID              a release, checked in the browser (release.js)
//	GET /releases/CID/lineage      its lineage as a graph (package lineage)
//	GET /log                       the checkpoint and the entries, newest first
//	GET /log/N                     entry N with its inclusion proof, checked in the browser (entry.js)
//	GET /members                   member orgs, their keys and the keys' history in the log
//	GET /search?q=                 a release or file CID, an org, a key hint or a log index
//	GET /jobs.json                 the merge jobs the home page lists, for jobs.js
//
// Pages need no script but where the browser checks what they show, and
// the merge jobs' progress, which a script refreshes.

//go:embed pages/*.html
var pageFiles embed.FS

// pages holds one template set per page: the layout and the page's body.
var pages = func() map[string]*template.Template {
	names := []string{"home", "releases", "release", "lineage", "log", "entry", "members", "search", "login", "error"}
	out := make(map[string]*template.Template, len(names))
	for _, n := range names {
		out[n] = template.Must(template.New(n).Funcs(pageFuncs).ParseFS(pageFiles, "pages/layout.html", "pages/"+n+".html"))
	}
	return out
}()

var pageFuncs = template.FuncMap{
	"when":     func(t time.Time) string { return when(t) },
	"short":    shortCID,
	"size":     sizeText,
	"fileURL":  fileURL,
	"pathURL":  url.PathEscape,
	"window":   windowText,
	"kindName": func(k potluck.Kind) string { return kindClass(k) },
}

// site serves the pages of one hub.
type site struct {
	h    *Hub
	keys *keyHistory
}

// webRoutes adds the web view's pages and assets to mux.
func webRoutes(mux *http.ServeMux, h *Hub) {
	s := &site{h: h, keys: &keyHistory{log: h.log}}
	mux.Handle("GET /static/", web.WithCSP(http.StripPrefix("/static/", web.Assets())))
	for pattern, fn := range map[string]http.HandlerFunc{
		"GET /{$}":                    s.home,
		"GET /releases":               s.releaseList,
		"GET /releases/{cid}":         s.release,
		"GET /releases/{cid}/lineage": s.lineage,
		"GET /log":                    s.logPage,
		"GET /log/{index}":            s.entry,
		"GET /members":                s.membersPage,
		"GET /search":                 s.search,
		"GET /login":                  s.loginForm,
		"POST /login":                 s.login,
		"POST /logout":                s.logout,
	} {
		mux.Handle(pattern, web.WithCSP(fn))
	}
	mux.HandleFunc("GET /jobs.json", s.jobsJSON)
}

// frame is what the layout shows around every page.
type frame struct {
	Title       string
	Query       string // the search box's text
	Version     string
	LogKey      string
	MembersOnly bool // offer to sign out
}

func (s *site) frame(title string) frame {
	return frame{Title: title, Version: potluck.Version, LogKey: s.h.log.VerifierKey(), MembersOnly: s.h.opts.Access.MembersOnlyReads}
}

// wantsPage reports whether a request is a browser's for a page, which is
// sent to /login rather than refused.
func wantsPage(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// gatewayCSP keeps what the gateway serves from running as part of the
// hub's pages: a release may hold an HTML file, and the gateway serves it
// from the pages' origin. Sandboxed, it runs no script, in an origin of
// its own.
const gatewayCSP = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'"

func sandboxed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", gatewayCSP)
		h.ServeHTTP(w, r)
	})
}

// render writes page name with data, or the error page if it cannot; it
// renders into a buffer first, so a failure never sends half a page.
func (s *site) render(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := pages[name].ExecuteTemplate(&b, "layout", data); err != nil {
		s.h.logger.Error("web page", "page", name, "error", err)
		if name != "error" {
			s.fail(w, fmt.Errorf("rendering the %s page: %w", name, err))
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

type errorPage struct {
	frame
	Status  int
	Message string
}

// fail renders the error page for err, with the status the JSON API gives
// it.
func (s *site) fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errorsIsNotFound(err):
		code = http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		code = http.StatusBadRequest
	}
	s.render(w, code, "error", errorPage{frame: s.frame(http.StatusText(code)), Status: code, Message: err.Error()})
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// shortCID is a CID cut to its start and end, for tables; pages give the
// whole CID in a title or a link.
func shortCID(c string) string {
	if len(c) <= 20 {
		return c
	}
	return c[:10] + "…" + c[len(c)-6:]
}

func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// fileURL is where the gateway serves a file of a release:
// /ipfs/RELEASE/PATH, each element of the path escaped.
func fileURL(release, path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return "/ipfs/" + url.PathEscape(release) + "/" + strings.Join(parts, "/")
}

// windowText says when a key may sign.
func windowText(w potluck.KeyWindow) string {
	var parts []string
	if !w.NotBefore.IsZero() {
		parts = append(parts, "from "+when(w.NotBefore))
	}
	if !w.NotAfter.IsZero() {
		parts = append(parts, "until "+when(w.NotAfter))
	}
	if !w.Revoked.IsZero() {
		parts = append(parts, "revoked at "+when(w.Revoked))
	}
	if len(parts) == 0 {
		return "no bounds"
	}
	return strings.Join(parts, ", ")
}

func kindClass(k potluck.Kind) string {
	switch k {
	case potluck.KindBase, potluck.KindDelta, potluck.KindMerge:
		return string(k)
	}
	return "other"
}
