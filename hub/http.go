package hub

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/potluck-hub/potluck"
)

// HTTPHandler serves the hub's HTTP endpoints: /healthz, and the release
// index as JSON at /v1/releases (?kind=base|delta|merge&base=CID) and
// /v1/releases/CID, the transparency log under /log/ (logRoutes), and the
// IPFS gateway at /ipfs/CID (GatewayHandler), Prometheus metrics at
// /metrics and the gRPC listener's certificate fingerprint at /v1/tls.
//
// With members-only reads, everything but /healthz, /metrics and /v1/tls
// needs a member's token as "Authorization: Bearer TOKEN".
func HTTPHandler(h *Hub) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h.MetricsHandler())
	mux.HandleFunc("GET /v1/tls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"fingerprint": h.TLS().fingerprint()}, nil)
	})
	logRoutes(mux, h)
	mux.Handle("/ipfs/", GatewayHandler(h))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /v1/releases", func(w http.ResponseWriter, r *http.Request) {
		rs, err := h.List(r.Context(), potluck.Kind(r.URL.Query().Get("kind")), r.URL.Query().Get("base"))
		writeJSON(w, rs, err)
	})
	mux.HandleFunc("GET /v1/releases/{cid}", func(w http.ResponseWriter, r *http.Request) {
		rel, err := h.Release(r.Context(), r.PathValue("cid"))
		writeJSON(w, rel, err)
	})
	return h.httpAccess(mux)
}

// httpAccess applies members-only reads to the HTTP endpoints.
func (h *Hub) httpAccess(next http.Handler) http.Handler {
	if !h.opts.Access.MembersOnlyReads {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/metrics", "/v1/tls":
			next.ServeHTTP(w, r)
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if _, err := h.TokenCaller(tok); !ok || err != nil {
			w.Header().Set("WWW-Authenticate", "Bearer")
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
		}
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
