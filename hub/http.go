package hub

import (
	"encoding/json"
	"net/http"

	"github.com/potluck-hub/potluck"
)

// HTTPHandler serves the hub's HTTP endpoints: /healthz, and the release
// index as JSON at /v1/releases (?kind=base|delta|merge&base=CID) and
// /v1/releases/CID, the transparency log under /log/ (logRoutes), and the
// IPFS gateway at /ipfs/CID (GatewayHandler).
func HTTPHandler(h *Hub) http.Handler {
	mux := http.NewServeMux()
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
	return mux
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
