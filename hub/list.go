package hub

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/potluck-hub/potluck"
)

// Listing pages: oldest first, ties by CID, each page ending with a token
// that names its last release's place in that order, so a release
// published while a client pages through appears once, on a later page,
// and none is repeated or skipped.

// Page sizes of a listing.
const (
	DefaultPageSize = 500
	MaxPageSize     = 5000
)

// ErrBadRequest reports a request whose arguments make no sense (an unknown
// kind, a page token this hub never gave, a yank without a reason).
var ErrBadRequest = errors.New("hub: bad request")

// ListQuery selects releases; empty fields match all.
type ListQuery struct {
	Kind          potluck.Kind
	Base          string // releases against this base
	Org           string // releases published by this org
	IncludeYanked bool   // yanked releases are left out unless set
	// PageSize is at most how many releases to return: 0 means
	// DefaultPageSize, more than MaxPageSize means MaxPageSize.
	PageSize int
	// PageToken is the NextPageToken of the previous page; empty for the
	// first.
	PageToken string
}

// ListPage is one page of releases.
type ListPage struct {
	Releases []*potluck.Release `json:"releases"`
	// NextPageToken asks for the next page; empty on the last.
	NextPageToken string `json:"next_page_token"`
}

// ParseKind reads a release kind as listings take it: "" for any.
func ParseKind(s string) (potluck.Kind, error) {
	switch k := potluck.Kind(s); k {
	case "", potluck.KindBase, potluck.KindDelta, potluck.KindMerge:
		return k, nil
	}
	return "", fmt.Errorf("%w: kind %q: want base, delta or merge (or none for every kind)", ErrBadRequest, s)
}

// ListReleases returns one page of the releases q selects, oldest first.
func (h *Hub) ListReleases(_ context.Context, q ListQuery) (*ListPage, error) {
	if _, err := ParseKind(string(q.Kind)); err != nil {
		return nil, err
	}
	pq := pageQuery{kind: q.Kind, base: q.Base, org: q.Org, includeYanked: q.IncludeYanked, size: q.PageSize}
	switch {
	case q.PageSize < 0:
		return nil, fmt.Errorf("%w: page size %d: want 0 (the default, %d) to %d", ErrBadRequest, q.PageSize, DefaultPageSize, MaxPageSize)
	case q.PageSize == 0:
		pq.size = DefaultPageSize
	case q.PageSize > MaxPageSize:
		pq.size = MaxPageSize
	}
	if q.PageToken != "" {
		c, err := parsePageToken(q.PageToken)
		if err != nil {
			return nil, err
		}
		pq.after = c
	}
	cids, more := h.releases.g.page(pq)
	rs, err := h.releases.getAll(cids)
	if err != nil {
		return nil, err
	}
	p := &ListPage{Releases: rs}
	if more {
		last := rs[len(rs)-1]
		p.NextPageToken = pageToken(cursor{created: last.Created, cid: last.CID})
	}
	return p, nil
}

// pageToken encodes a cursor: its time to the nanosecond and its CID.
func pageToken(c cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.created.UTC().Format(time.RFC3339Nano) + " " + c.cid))
}

func parsePageToken(s string) (*cursor, error) {
	bad := fmt.Errorf("%w: page token %q is not one this hub gave: list again from the first page", ErrBadRequest, s)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	ts, c, ok := strings.Cut(string(b), " ")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || c == "" {
		return nil, bad
	}
	return &cursor{created: t, cid: c}, nil
}
