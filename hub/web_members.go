package hub

import (
	"net/http"
	"slices"

	"github.com/potluck-hub/potluck"
)

// The members page: each org, its keys with when they may sign, and each
// key's history as the log records it. A members file also lists token
// hashes; this page never shows them, nor anything derived from them.

type membersPage struct {
	frame
	Orgs []orgView
	Hub  keyRow // the hub's own key, which signs merges
	// Gone are keys the log names that no member holds now.
	Gone []keyRow
}

type orgView struct {
	Org, Role string
	Keys      []keyRow
}

type keyRow struct {
	Org, Hint, PEM string
	Window         potluck.KeyWindow
	Now            string // whether it may sign now, and why not
	History        []keyEvent
}

func (s *site) membersPage(w http.ResponseWriter, r *http.Request) {
	if err := s.keys.update(); err != nil {
		s.fail(w, err)
		return
	}
	now := s.h.opts.Now()
	held := map[string]bool{}
	row := func(org, hint, pem string, win potluck.KeyWindow) keyRow {
		held[hint] = true
		k := keyRow{Org: org, Hint: hint, PEM: pem, Window: win, Now: "may sign now"}
		if err := win.Check(now); err != nil {
			k.Now = "may not sign now: " + err.Error()
		}
		k.History, _ = s.keys.events(hint)
		return k
	}
	p := membersPage{frame: s.frame("Members")}
	hub := s.h.key.Public()
	p.Hub = row(HubOrg, hub.Hint(), string(hub.PEM), potluck.KeyWindow{})
	for _, o := range s.h.members.Load().Orgs() {
		ov := orgView{Org: o.Org, Role: o.Role}
		for _, k := range o.Keys {
			ov.Keys = append(ov.Keys, row(o.Org, k.Key.Hint(), string(k.Key.PEM), k.KeyWindow))
		}
		p.Orgs = append(p.Orgs, ov)
	}
	for _, hint := range s.keys.hints() {
		if held[hint] {
			continue
		}
		if ev, _ := s.keys.last(hint); ev != nil {
			p.Gone = append(p.Gone, row(ev.Org, hint, ev.PublicKey, ev.Window()))
		}
	}
	s.render(w, http.StatusOK, "members", p)
}

// hints lists every key the log has named, sorted.
func (k *keyHistory) hints() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]string, 0, len(k.byHint))
	for h := range k.byHint {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}
