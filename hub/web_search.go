package hub

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck"
)

// Search: a release's CID opens its page, a file's CID lists the releases
// that hold it, an org lists its releases, a key hint opens it on the
// members page, a log index opens the entry; part of a release CID (as
// the tables shorten them) lists the releases whose CID has it.

// minCIDPart is the shortest piece of a CID searched for inside CIDs.
const minCIDPart = 6

type searchPage struct {
	frame
	Releases []*potluck.Release
	Files    []fileHit
}

// fileHit is a file a release holds.
type fileHit struct {
	Release string
	potluck.File
}

func (s *site) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	p := searchPage{frame: s.frame("Search")}
	p.Query = q
	if q == "" {
		s.render(w, http.StatusOK, "search", p)
		return
	}
	if to, err := s.searchTarget(q); err != nil {
		s.fail(w, err)
		return
	} else if to != "" {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	var err error
	if _, cerr := cid.Decode(q); cerr == nil {
		p.Files, err = s.filesWithCID(r, q)
	} else if len(q) >= minCIDPart {
		p.Releases, err = s.h.releases.getAll(s.h.releases.g.withCIDPart(q))
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	status := http.StatusOK
	if len(p.Files) == 0 && len(p.Releases) == 0 {
		status = http.StatusNotFound
	}
	s.render(w, status, "search", p)
}

// searchTarget is the page q names alone, if any: a release, a log
// entry, a key, an org's releases.
func (s *site) searchTarget(q string) (string, error) {
	if s.h.held(q) == nil {
		return "/releases/" + q, nil
	}
	if n, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil && n >= 0 && n < s.h.log.Size() {
		return fmt.Sprintf("/log/%d", n), nil
	}
	if ev, err := s.keys.last(strings.ToLower(q)); err != nil {
		return "", err
	} else if ev != nil {
		return "/members#key-" + ev.Key, nil
	}
	org := q == HubOrg
	for _, m := range s.h.members.Load().Orgs() {
		org = org || m.Org == q
	}
	if org || s.h.releases.g.hasPublisher(q) {
		return "/releases?" + url.Values{"org": {q}, "include_yanked": {"true"}}.Encode(), nil
	}
	return "", nil
}

// filesWithCID lists the files with CID c in every release held, yanked
// or not. It reads every release record: searches are rare, listings are
// not.
func (s *site) filesWithCID(r *http.Request, c string) ([]fileHit, error) {
	var out []fileHit
	q := ListQuery{IncludeYanked: true, PageSize: MaxPageSize}
	for {
		p, err := s.h.ListReleases(r.Context(), q)
		if err != nil {
			return nil, err
		}
		for _, rel := range p.Releases {
			for _, f := range rel.Files {
				if f.CID == c {
					out = append(out, fileHit{Release: rel.CID, File: f})
				}
			}
		}
		if p.NextPageToken == "" {
			return out, nil
		}
		q.PageToken = p.NextPageToken
	}
}

// withCIDPart lists the releases whose CID contains part, oldest first, at
// most releasesPageSize of them.
func (g *graph) withCIDPart(part string) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []string
	for _, n := range g.order {
		if strings.Contains(n.cid, part) && len(out) < releasesPageSize {
			out = append(out, n.cid)
		}
	}
	return out
}

// hasPublisher reports whether org published a release the hub holds.
func (g *graph) hasPublisher(org string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	for _, n := range g.order {
		if n.publisher == org {
			return true
		}
	}
	return false
}
