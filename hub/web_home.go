package hub

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/potluck-hub/potluck"
)

// The home page: the bases and what was built on each, the merge jobs and
// the newest log entries.

// recentEntries is how many log entries the home page lists.
const recentEntries = 12

// jobsShownFor is how long the home page lists a finished merge job.
const jobsShownFor = time.Hour

type homePage struct {
	frame
	Bases            []baseRow
	Jobs             []jobRow
	Recent           []entryRow
	Releases, Yanked int
	LogSize          int64
	Orgs             int
}

// baseRow is a base with counts of the releases built on it.
type baseRow struct {
	CID, Publisher string
	Created        time.Time
	Yanked         bool
	builtOn
}

func (s *site) home(w http.ResponseWriter, r *http.Request) {
	p := homePage{frame: s.frame("Home"), LogSize: s.h.log.Size(), Orgs: len(s.h.members.Load().Orgs()), Jobs: s.h.recentJobs()}
	bases, err := s.h.ListReleases(r.Context(), ListQuery{Kind: potluck.KindBase, IncludeYanked: true, PageSize: MaxPageSize})
	if err != nil {
		s.fail(w, err)
		return
	}
	for _, b := range bases.Releases {
		p.Bases = append(p.Bases, baseRow{CID: b.CID, Publisher: b.Publisher, Created: b.Created, Yanked: b.Yank != nil,
			builtOn: s.h.releases.g.builtOn(b.CID)})
	}
	p.Releases, p.Yanked = s.h.releases.g.count()
	if p.Recent, err = s.entries(max(0, p.LogSize-recentEntries), p.LogSize); err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, http.StatusOK, "home", p)
}

// builtOn counts the releases built on one, directly or not.
type builtOn struct {
	Deltas, Merges, Yanks int
	Orgs                  int // publishers of those releases, the hub left out
}

func (g *graph) builtOn(c string) builtOn {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var b builtOn
	orgs := map[string]bool{}
	for _, n := range g.walk(c, g.down) {
		switch n.kind {
		case potluck.KindDelta:
			b.Deltas++
		case potluck.KindMerge:
			b.Merges++
		}
		if n.yanked {
			b.Yanks++
		}
		if n.publisher != HubOrg {
			orgs[n.publisher] = true
		}
	}
	b.Orgs = len(orgs)
	return b
}

// count is how many releases the graph holds, and how many are yanked.
func (g *graph) count() (all, yanked int) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	for _, n := range g.order {
		if n.yanked {
			yanked++
		}
	}
	return len(g.order), yanked
}

// jobRow is a merge job as the home page and /jobs.json show it: no
// recipe, which its org may not have published yet.
type jobRow struct {
	ID      string           `json:"id"`
	Org     string           `json:"org,omitempty"`
	State   potluck.JobState `json:"state"`
	Done    int              `json:"tensors_done"`
	Total   int              `json:"tensors_total"`
	Release string           `json:"release,omitempty"`
	Error   string           `json:"error,omitempty"`
	Created time.Time        `json:"created"`
}

// recentJobs lists the merge jobs queued or running and those finished in
// the last jobsShownFor, newest first.
func (h *Hub) recentJobs() []jobRow {
	since := h.opts.Now().Add(-jobsShownFor)
	h.jobs.mu.Lock()
	defer h.jobs.mu.Unlock()
	var out []jobRow
	for _, j := range h.jobs.byID {
		if j.rec.State.Final() && j.rec.Updated.Before(since) {
			continue
		}
		m := h.snapshot(j)
		row := jobRow{ID: m.ID, Org: j.rec.Org, State: m.State, Done: m.Done, Total: m.Total, Error: j.rec.Error, Created: j.rec.Created}
		if m.Release != nil {
			row.Release = m.Release.CID
		}
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b jobRow) int { return cmp.Or(b.Created.Compare(a.Created), cmp.Compare(a.ID, b.ID)) })
	return out
}

// jobsJSON serves recentJobs for jobs.js.
func (s *site) jobsJSON(w http.ResponseWriter, r *http.Request) {
	jobs := s.h.recentJobs()
	if jobs == nil {
		jobs = []jobRow{}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, map[string]any{"jobs": jobs}, nil)
}
