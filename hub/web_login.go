package hub

import (
	"net/http"
	"net/url"
	"strings"
)

// On a hub with members-only reads every page needs a member's token, and
// a browser sends no Authorization header of its own: a member gives the
// token once, on /login, and the browser keeps it in a cookie that only
// this hub's pages get (HttpOnly, SameSite=Strict, Secure over TLS) and
// sends it with every page. Without members-only reads pages need none.

// TokenCookie is the cookie that carries a member's token for the pages.
const TokenCookie = "potluck_token"

// requestToken is the bearer token a request carries: its Authorization
// header, else its token cookie.
func requestToken(r *http.Request) (string, bool) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return tok, true
	}
	if c, err := r.Cookie(TokenCookie); err == nil && c.Value != "" {
		return c.Value, true
	}
	return "", false
}

// public reports whether a path is served to anyone, members-only reads
// or not: health, metrics, the TLS fingerprint, the login page and the
// pages' scripts and style, which hold no data.
func public(path string) bool {
	switch path {
	case "/healthz", "/metrics", "/v1/tls", "/login", "/logout":
		return true
	}
	return strings.HasPrefix(path, "/static/")
}

type loginPage struct {
	frame
	Next, Message string
}

func (s *site) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", loginPage{frame: s.frame("Sign in"), Next: localPath(r.URL.Query().Get("next"))})
}

// login checks the token a member typed and keeps it in the cookie.
func (s *site) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "sign in from this hub's own login page", http.StatusForbidden)
		return
	}
	next := localPath(r.PostFormValue("next"))
	tok := strings.TrimSpace(r.PostFormValue("token"))
	if _, err := s.h.TokenCaller(tok); err != nil {
		s.render(w, http.StatusUnauthorized, "login", loginPage{frame: s.frame("Sign in"), Next: next,
			Message: "That token is no member's: paste a token your operator made with `potluck hub token`."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout forgets the cookie.
func (s *site) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "sign out from this hub's own pages", http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: TokenCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// sameOrigin refuses a form posted from another site: a browser names the
// page's origin in the Origin header of every POST.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true // not a browser's cross-site form
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// localPath keeps a redirect on this hub: a path, never a URL elsewhere.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}
