package hub

import (
	"encoding/hex"
	"net/http"
	"strconv"
)

// logRoutes serves the transparency log over HTTP, for auditors without a
// gRPC client:
//
//	GET /log/checkpoint                               the signed checkpoint (text)
//	GET /log/entries?start=N&count=M                  entries as a JSON list of strings
//	GET /log/proof/inclusion?index=N&size=M           hex hashes, one per line
//	GET /log/proof/consistency?first=M&second=N       hex hashes, one per line
func logRoutes(mux *http.ServeMux, h *Hub) {
	mux.HandleFunc("GET /log/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(h.log.Checkpoint())
	})
	mux.HandleFunc("GET /log/entries", func(w http.ResponseWriter, r *http.Request) {
		start, count := intParam(r, "start"), intParam(r, "count")
		if start < 0 || count < 1 || count > maxEntriesPerCall {
			http.Error(w, "start >= 0 and 1 <= count <= 1000", http.StatusBadRequest)
			return
		}
		var out []string
		for i := start; i < start+count; i++ {
			e, err := h.log.Entry(i)
			if err != nil {
				break
			}
			out = append(out, string(e))
		}
		writeJSON(w, out, nil)
	})
	mux.HandleFunc("GET /log/proof/inclusion", func(w http.ResponseWriter, r *http.Request) {
		p, err := h.log.InclusionProof(intParam(r, "index"), intParam(r, "size"))
		writeHashes(w, hashesToBytes(p), err)
	})
	mux.HandleFunc("GET /log/proof/consistency", func(w http.ResponseWriter, r *http.Request) {
		p, err := h.log.ConsistencyProof(intParam(r, "first"), intParam(r, "second"))
		writeHashes(w, hashesToBytes(p), err)
	})
}

func intParam(r *http.Request, name string) int64 {
	n, err := strconv.ParseInt(r.URL.Query().Get(name), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func writeHashes(w http.ResponseWriter, hs [][]byte, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, h := range hs {
		w.Write([]byte(hex.EncodeToString(h) + "\n"))
	}
}
