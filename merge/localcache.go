package merge

import (
	"errors"

	"github.com/potluck-hub/potluck/internal/hashcache"
	"github.com/potluck-hub/potluck/merge/trimstats"
	"github.com/potluck-hub/potluck/store"
)

// A local merge hashes every input directory, to record each input's CID.
// It does so through the hash cache (internal/hashcache), which remembers
// what each unchanged file gave and takes the trim statistics of every
// shard in the same read: run again over the same inputs, a merge reads
// each input once, and its magnitude cuts need no reading pass of their
// own even when the inputs carry no potluck.stats.

// scanLocal scans a model directory, through the hash cache (in
// hashcache.DefaultDir) when cached is set and the cache opens, and returns
// the directory's hashes and, through the cache and when withStats is set,
// its shards' trim statistics (a method without magnitude cuts does not
// pay for a histogram of every input). Only directories a user names go through the cache: a
// release pulled from a hub, and one recomputed for verification, is
// hashed afresh.
func scanLocal(dir string, cached, withStats bool) (*store.Dir, *trimstats.Stats, error) {
	var c *hashcache.Cache
	cacheDir, err := hashcache.DefaultDir()
	if err == nil && cached {
		c, err = hashcache.Open(cacheDir)
	}
	if !cached {
		err = errNoCache
	}
	if err != nil {
		d, err := store.ScanDir(dir)
		return d, nil, err
	}
	if !withStats {
		d, err := c.ScanHashes(dir)
		return d, nil, err
	}
	return c.ScanDir(dir)
}

var errNoCache = errors.New("merge: no hash cache")

// withScanStats gives m the trim statistics a scan took, unless it has a
// sidecar of its own.
func withScanStats(m *Model, s *trimstats.Stats) {
	if s != nil && m.trim == nil {
		m.WithStats(statsSet{s})
	}
}

// statsSet is a trimstats.Stats as a TensorStats.
type statsSet struct{ s *trimstats.Stats }

func (t statsSet) Stats(tensor string) (*trimstats.Histogram, bool) { return t.s.Histogram(tensor) }
