package hub

import (
	"fmt"
	"net/http"
	"strconv"
)

// releaseRoutes serves the release index and graph as JSON:
//
//	GET /v1/releases?kind=&base=&org=&include_yanked=&page_size=&page_token=
//	    a page of releases, oldest first: {"releases": [...], "next_page_token": "..."}
//	GET /v1/releases/CID           the release, with "children" and "attestations"
//	GET /v1/releases/CID/lineage   its ancestors, itself and its descendants
//
// Lists are [] when empty, never null; a bad parameter is a 400 that says
// what is allowed.
func releaseRoutes(mux *http.ServeMux, h *Hub) {
	mux.HandleFunc("GET /v1/releases", func(w http.ResponseWriter, r *http.Request) {
		q, err := httpListQuery(r)
		if err != nil {
			writeJSON(w, nil, err)
			return
		}
		p, err := h.ListReleases(r.Context(), q)
		writeJSON(w, p, err)
	})
	mux.HandleFunc("GET /v1/releases/{cid}", func(w http.ResponseWriter, r *http.Request) {
		d, err := h.ReleaseDetail(r.Context(), r.PathValue("cid"))
		writeJSON(w, d, err)
	})
	mux.HandleFunc("GET /v1/releases/{cid}/lineage", func(w http.ResponseWriter, r *http.Request) {
		l, err := h.Lineage(r.Context(), r.PathValue("cid"))
		writeJSON(w, l, err)
	})
}

// httpListQuery reads a listing's query parameters.
func httpListQuery(r *http.Request) (ListQuery, error) {
	v := r.URL.Query()
	k, err := ParseKind(v.Get("kind"))
	if err != nil {
		return ListQuery{}, err
	}
	q := ListQuery{Kind: k, Base: v.Get("base"), Org: v.Get("org"), PageToken: v.Get("page_token")}
	if s := v.Get("include_yanked"); s != "" {
		if q.IncludeYanked, err = strconv.ParseBool(s); err != nil {
			return ListQuery{}, fmt.Errorf("%w: include_yanked %q: want true or false", ErrBadRequest, s)
		}
	}
	if s := v.Get("page_size"); s != "" {
		if q.PageSize, err = strconv.Atoi(s); err != nil {
			return ListQuery{}, fmt.Errorf("%w: page_size %q: want a number from 0 (the default, %d) to %d", ErrBadRequest, s, DefaultPageSize, MaxPageSize)
		}
	}
	return q, nil
}
