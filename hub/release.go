package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck"
)

// ErrNotFound reports a release the hub does not hold.
var ErrNotFound = errors.New("hub: not found")

// releases is the hub's index of releases: one JSON file each, written
// atomically (temp file, fsync, rename), so a crash leaves a release
// recorded whole or not at all. It is small: one record per release. The
// release graph (graph.go) indexes the records in memory: built from them
// on open, updated by every write.
type releases struct {
	dir string
	mu  sync.Mutex // one write at a time
	g   *graph
}

func openReleases(dir string) (*releases, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	rs := &releases{dir: dir, g: newGraph()}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ns []*relNode
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		n, err := rs.readNode(name)
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	rs.g.load(ns)
	return rs, nil
}

// readNode reads what the graph needs of release c's record, leaving its
// files and signatures undecoded.
func (rs *releases) readNode(c string) (*relNode, error) {
	b, err := os.ReadFile(rs.path(c))
	if err != nil {
		return nil, err
	}
	var head struct {
		potluck.Release
		Files   json.RawMessage `json:"files"`
		Bundle  json.RawMessage `json:"bundle"`
		Receipt *struct {
			Entry []byte `json:"entry"`
		} `json:"receipt"`
		Provenance json.RawMessage `json:"provenance"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("hub: release record %s: %w", c, err)
	}
	if head.CID != c {
		return nil, fmt.Errorf("hub: release record %s names release %q", c, head.CID)
	}
	r := head.Release
	if head.Receipt != nil {
		r.Receipt = &potluck.Receipt{Entry: head.Receipt.Entry}
	}
	return nodeOf(&r), nil
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
	return r, rs.write(r)
}

// replace rewrites the record of a release the index holds (to add its
// yank).
func (rs *releases) replace(r *potluck.Release) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.write(r)
}

// remove drops a release's record.
func (rs *releases) remove(c string) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err := os.Remove(rs.path(c)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	rs.g.remove(c)
	return nil
}

// write stores r's record atomically, then indexes it. The caller holds mu.
func (rs *releases) write(r *potluck.Release) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(rs.dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err = errors.Join(err, tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), rs.path(r.CID)); err != nil {
		return err
	}
	rs.g.set(r)
	return nil
}

// list returns the releases matching kind and base ("" matches any),
// yanked or not, oldest first (ties by CID).
func (rs *releases) list(kind potluck.Kind, base string) ([]*potluck.Release, error) {
	return rs.getAll(rs.g.filter(kind, base))
}

// getAll reads the records of cids, in order.
func (rs *releases) getAll(cids []string) ([]*potluck.Release, error) {
	out := make([]*potluck.Release, 0, len(cids))
	for _, c := range cids {
		r, err := rs.get(c)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
