package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck"
)

// ErrNotFound reports a release the hub does not hold.
var ErrNotFound = errors.New("hub: not found")

// releases is the hub's index of releases: one JSON file each, written
// atomically (temp file, fsync, rename), so a crash leaves a release
// recorded whole or not at all. It is small: one record per release.
type releases struct {
	dir string
	mu  sync.Mutex
}

func openReleases(dir string) (*releases, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &releases{dir: dir}, nil
}

func (rs *releases) path(c string) string { return filepath.Join(rs.dir, c+".json") }

func (rs *releases) get(c string) (*potluck.Release, error) {
	if _, err := cid.Decode(c); err != nil {
		return nil, fmt.Errorf("%w: release %q: not a CID: %v", ErrNotFound, c, err)
	}
	b, err := os.ReadFile(rs.path(c))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: release %s", ErrNotFound, c)
	}
	if err != nil {
		return nil, err
	}
	var r potluck.Release
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("hub: release record %s: %w", c, err)
	}
	return &r, nil
}

// put records r unless a release with its CID exists, and returns the
// recorded one: publishing the same bytes twice is not an error.
func (rs *releases) put(r *potluck.Release) (*potluck.Release, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if old, err := rs.get(r.CID); err == nil {
		return old, nil
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(rs.dir, ".tmp-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err = errors.Join(err, tmp.Sync(), tmp.Close()); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), rs.path(r.CID)); err != nil {
		return nil, err
	}
	return r, nil
}

// list returns the releases matching kind and base ("" matches any),
// oldest first.
func (rs *releases) list(kind potluck.Kind, base string) ([]*potluck.Release, error) {
	ents, err := os.ReadDir(rs.dir)
	if err != nil {
		return nil, err
	}
	var out []*potluck.Release
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		r, err := rs.get(name)
		if err != nil {
			return nil, err
		}
		if (kind == "" || r.Kind == kind) && (base == "" || r.Base == base) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].CID < out[j].CID
	})
	return out, nil
}
