package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/lineage"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/web"
)

// The release pages: a listing, one release with everything the hub knows
// of it (checked in the browser by release.js), and its lineage as a
// graph.

// releasesPageSize is how many releases the listing shows unless asked.
const releasesPageSize = 100

type releasesPage struct {
	frame
	Q        ListQuery
	Releases []*potluck.Release
	Next     string // the next page's URL, if any
}

func (s *site) releaseList(w http.ResponseWriter, r *http.Request) {
	q, err := httpListQuery(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	if q.PageSize == 0 {
		q.PageSize = releasesPageSize
	}
	p, err := s.h.ListReleases(r.Context(), q)
	if err != nil {
		s.fail(w, err)
		return
	}
	page := releasesPage{frame: s.frame("Releases"), Q: q, Releases: p.Releases}
	if p.NextPageToken != "" {
		v := r.URL.Query()
		v.Set("page_token", p.NextPageToken)
		page.Next = "/releases?" + v.Encode()
	}
	s.render(w, http.StatusOK, "releases", page)
}

// verifyChecks are the checks release.js runs (verify.js's checks), each
// listed on the page before it runs.
var verifyChecks = []string{"signature", "files", "checkpoint", "inclusion", "entry"}

type releasePage struct {
	frame
	*potluck.ReleaseDetail
	Parents []string
	Key     keyView
	Merge   *mergeView // a merge's provenance
	Verify  web.VerifyData
	Checks  []string
	Cmd     commands
}

// keyView is the key that signed a release, as the log last stated it.
type keyView struct {
	Hint, Org, Role, PEM string
	Window               potluck.KeyWindow
	LogIndex             int64  // of its newest key entry; -1 if the log never named it
	AtRelease            string // whether it could sign when the release was made, and why not
}

// mergeView is a merge's provenance, as the hub signed it.
type mergeView struct {
	Method, Engine, Recipe string
	Base                   potluck.ProvenanceRef
	Inputs                 []potluck.ProvenanceRef
	Err                    string // why the provenance could not be read
}

// commands are the command lines a reader copies to fetch and check the
// release themselves.
type commands struct {
	Pull, Verify, Audit, CAR string
	Hub                      string // the gRPC address assumed in them
}

func (s *site) release(w http.ResponseWriter, r *http.Request) {
	d, err := s.h.ReleaseDetail(r.Context(), r.PathValue("cid"))
	if err != nil {
		s.fail(w, err)
		return
	}
	key, err := s.keyOf(d.KeyHint)
	if err != nil {
		s.fail(w, err)
		return
	}
	if err := key.Window.Check(d.Created); err != nil {
		key.AtRelease = "not valid when the release was made: " + err.Error()
	} else {
		key.AtRelease = "valid when the release was made"
	}
	p := releasePage{frame: s.frame(string(d.Kind) + " " + d.CID), ReleaseDetail: d, Parents: parentsOf(d.Release), Key: key,
		Verify: web.VerifyData{Release: d.Release, PublisherKey: key.PEM, LogOrigin: s.h.log.Origin(), LogKey: s.h.log.VerifierKey()},
		Checks: verifyChecks, Cmd: commandsFor(r, d.Release, s.h.log.VerifierKey())}
	if d.Kind == potluck.KindMerge {
		p.Merge = s.provenance(d.Release)
	}
	s.render(w, http.StatusOK, "release", p)
}

// keyOf finds a signing key by its hint: in the log's key entries, which
// keep keys since removed from the members file, else among the current
// members and the hub's own key.
func (s *site) keyOf(hint string) (keyView, error) {
	k := keyView{Hint: hint, LogIndex: -1}
	ev, err := s.keys.last(hint)
	if err != nil {
		return k, err
	}
	if ev != nil {
		k.Org, k.Role, k.PEM, k.Window, k.LogIndex = ev.Org, ev.Role, ev.PublicKey, ev.Window(), ev.Index
		return k, nil
	}
	if hub := s.h.key.Public(); hub.Hint() == hint {
		k.Org, k.Role, k.PEM = HubOrg, RoleHub, string(hub.PEM)
		return k, nil
	}
	for _, o := range s.h.members.Load().Orgs() {
		for _, mk := range o.Keys {
			if mk.Key.Hint() == hint {
				k.Org, k.Role, k.PEM, k.Window = mk.Org, mk.Role, string(mk.Key.PEM), mk.KeyWindow
			}
		}
	}
	return k, nil
}

// provenance reads a merge's provenance, checking the hub's signature on
// it.
func (s *site) provenance(r *potluck.Release) *mergeView {
	payload, _, err := signing.VerifyStatement(r.Provenance, []*signing.PublicKey{s.h.key.Public()})
	if err != nil {
		return &mergeView{Err: err.Error()}
	}
	var st potluck.ProvenanceStatement
	if err := json.Unmarshal(payload, &st); err != nil || st.PredicateType != potluck.ProvenanceType {
		return &mergeView{Err: fmt.Sprintf("the hub's statement is not a merge provenance (%q, %v)", st.PredicateType, err)}
	}
	var recipe struct {
		Method string `json:"merge_method"`
	}
	json.Unmarshal(st.Predicate.Recipe, &recipe)
	return &mergeView{Method: recipe.Method, Engine: st.Predicate.Engine, Recipe: indentJSON(st.Predicate.Recipe),
		Base: st.Predicate.Base, Inputs: st.Predicate.Inputs}
}

// commandsFor writes the commands for release r as a reader of this page
// would type them: the gRPC address is assumed to be the page's host on
// the default port.
func commandsFor(r *http.Request, rel *potluck.Release, logKey string) commands {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	hub := net.JoinHostPort(host, "7420")
	dir := "./" + shortDir(rel.CID)
	car := (&url.URL{Scheme: scheme, Host: r.Host, Path: "/ipfs/" + rel.CID, RawQuery: "format=car"}).String()
	return commands{Hub: hub,
		Pull:   fmt.Sprintf("potluck node pull %s --out %s --hub %s", rel.CID, dir, hub),
		Verify: fmt.Sprintf("potluck verify %s --hub %s --log-key '%s'", dir, hub, logKey),
		Audit:  fmt.Sprintf("potluck verify %s --hub %s --log-key '%s'", rel.CID, hub, logKey),
		CAR:    fmt.Sprintf("curl -fo %s.car '%s'", shortDir(rel.CID), car),
	}
}

func shortDir(c string) string {
	if len(c) > 16 {
		return c[len(c)-16:]
	}
	return c
}

type lineagePage struct {
	frame
	Root          string
	Nodes, Yanked int
	SVG           template.HTML
}

func (s *site) lineage(w http.ResponseWriter, r *http.Request) {
	l, err := s.h.Lineage(r.Context(), r.PathValue("cid"))
	if err != nil {
		s.fail(w, err)
		return
	}
	var svg bytes.Buffer
	if err := lineage.WriteSVG(&svg, *l, lineage.SVGOptions{}); err != nil {
		s.fail(w, err)
		return
	}
	p := lineagePage{frame: s.frame("Lineage of " + l.Root), Root: l.Root, Nodes: len(l.Nodes),
		SVG: template.HTML(svg.String())} // WriteSVG escapes every string it writes
	for _, n := range l.Nodes {
		if n.Yanked {
			p.Yanked++
		}
	}
	s.render(w, http.StatusOK, "lineage", p)
}
