package hub

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// HTTPHandler serves the hub's HTTP endpoints: /healthz, and the release
// index and graph as JSON under /v1/releases (releaseRoutes), the
// transparency log under /log/ (logRoutes), and the
// IPFS gateway at /ipfs/CID (GatewayHandler), Prometheus metrics at
// /metrics, the gRPC listener's certificate fingerprint at /v1/tls, and the
// web view's pages (webRoutes: / and the pages it links).
//
// With members-only reads, everything but /healthz, /metrics, /v1/tls and
// the web view's login page and assets needs a member's token as
// "Authorization: Bearer TOKEN", or in the cookie /login sets; a browser
// asking for a page without one is sent to /login.
func HTTPHandler(h *Hub) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h.MetricsHandler())
	mux.HandleFunc("GET /v1/tls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"fingerprint": h.TLS().fingerprint()}, nil)
	})
	logRoutes(mux, h)
	mux.Handle("/ipfs/", sandboxed(GatewayHandler(h)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	releaseRoutes(mux, h)
	webRoutes(mux, h)
	return h.httpAccess(mux)
}

// httpAccess applies members-only reads to the HTTP endpoints.
func (h *Hub) httpAccess(next http.Handler) http.Handler {
	if !h.opts.Access.MembersOnlyReads {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if public(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		tok, ok := requestToken(r)
		if _, err := h.TokenCaller(tok); !ok || err != nil {
			w.Header().Set("WWW-Authenticate", "Bearer")
			if wantsPage(r) {
				http.Redirect(w, r, "/login?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
				return
			}
			http.Error(w, "this hub serves members only: send a member's token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		code := http.StatusInternalServerError
		if errorsIsNotFound(err) {
			code = http.StatusNotFound
		} else if errors.Is(err, ErrBadRequest) {
			code = http.StatusBadRequest
		}
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
