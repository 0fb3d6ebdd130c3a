// Package hashcache remembers what reading a local file gave: its CID,
// size and SHA-256, and for a safetensors file the trim statistics of its
// tensors (merge/trimstats), so a local merge run again over the same
// input directories reads each input once, for the merge, instead of once
// more to hash it.
//
// An entry is keyed by the file's device and inode and holds its size,
// modification time and change time (in nanoseconds) when it was read: any
// write, truncation, rename over it or change of its metadata changes one
// of them, and the entry is then ignored and taken again. A file is cached
// only once its last change is older than the file system's time grain
// (freshness), so a change within the grain cannot go unseen. Entries and
// statistics are small files written atomically (a temporary file renamed
// into place), so runs at the same time on the same cache never see half
// an entry; two runs that read the same file write the same entry.
//
// Layout under the cache directory:
//
//	files/<dev>-<ino>.json   an entry: the file's identity and digests
//	stats/<sha256>.stats     the statistics of a file, by its content's SHA-256
package hashcache

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck/merge/trimstats"
	"github.com/potluck-hub/potluck/store"
)

// EnvDir names the environment variable that overrides DefaultDir; the
// value "off" turns the cache off.
const EnvDir = "POTLUCK_CACHE_DIR"

// ErrOff reports a cache turned off ($POTLUCK_CACHE_DIR=off).
var ErrOff = errors.New("hashcache: turned off")

// DefaultDir is $POTLUCK_CACHE_DIR when set, else potluck/hashes under the
// user's cache directory (os.UserCacheDir).
func DefaultDir() (string, error) {
	switch d := os.Getenv(EnvDir); d {
	case "off":
		return "", ErrOff
	case "":
	default:
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "potluck", "hashes"), nil
}

// Cache is a hash cache in a directory.
type Cache struct {
	dir string
}

// Open opens (creating it) the cache in dir.
func Open(dir string) (*Cache, error) {
	for _, sub := range []string{"files", "stats"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("hashcache: %w", err)
		}
	}
	return &Cache{dir: dir}, nil
}

// entry is what the cache keeps of one file.
type entry struct {
	Identity identity `json:"identity"`
	CID      string   `json:"cid"`
	Size     int64    `json:"size"`
	TSize    uint64   `json:"tsize"`
	SHA256   string   `json:"sha256"`
	Stats    bool     `json:"stats"` // stats/<sha256>.stats holds its statistics
	// Unscanned: a safetensors file read without taking its statistics
	// (ScanHashes); a ScanDir that wants them reads it again.
	Unscanned bool `json:"unscanned,omitempty"`
}

// ScanDir is store.ScanDir, each file's hash from the cache when the file
// is unchanged since it was cached (and cached when it is read), and the
// trim statistics of every safetensors file of the directory, taken in the
// same read.
func (c *Cache) ScanDir(dir string) (*store.Dir, *trimstats.Stats, error) {
	stats := trimstats.New()
	d, err := store.ScanDirWith(dir, func(p string) (store.FileInfo, error) {
		info, s, err := c.file(p, true)
		if err == nil && s != nil {
			stats.Merge(s)
		}
		return info, err
	})
	return d, stats, err
}

// ScanHashes is ScanDir without the statistics, for a merge whose method
// makes no magnitude cuts: it costs a hash, not a hash and a histogram,
// when the files are not cached yet.
func (c *Cache) ScanHashes(dir string) (*store.Dir, error) {
	return store.ScanDirWith(dir, func(p string) (store.FileInfo, error) {
		info, _, err := c.file(p, false)
		return info, err
	})
}

// Hash returns the hashes of the file at p: from the cache when the file
// is unchanged since it was cached, else read (and cached) without its
// statistics, as ScanHashes reads it. For a caller that walks a directory
// itself (to hash several files at once, say).
func (c *Cache) Hash(p string) (store.FileInfo, error) {
	info, _, err := c.file(p, false)
	return info, err
}

// Cached returns the hashes of the file at p when the cache holds them for
// the file as it is now, without reading it; ok is false otherwise.
func (c *Cache) Cached(p string) (info store.FileInfo, ok bool) {
	id, err := identify(p)
	if err != nil {
		return store.FileInfo{}, false
	}
	info, _, ok = c.lookup(id, false)
	return info, ok
}

// file returns the file at p's info and, for a safetensors file when
// withStats is set, its statistics.
func (c *Cache) file(p string, withStats bool) (store.FileInfo, *trimstats.Stats, error) {
	id, err := identify(p)
	if errors.Is(err, errNoIdentity) {
		return c.read(p, nil, withStats)
	}
	if err != nil {
		return store.FileInfo{}, nil, err
	}
	if info, s, ok := c.lookup(id, withStats); ok {
		return info, s, nil
	}
	return c.read(p, &id, withStats)
}

// lookup returns the cached info of the file identified by id, if the
// cache has it and it is whole.
func (c *Cache) lookup(id identity, withStats bool) (store.FileInfo, *trimstats.Stats, bool) {
	b, err := os.ReadFile(c.entryPath(id))
	if err != nil {
		return store.FileInfo{}, nil, false
	}
	var e entry
	if json.Unmarshal(b, &e) != nil || e.Identity != id {
		return store.FileInfo{}, nil, false
	}
	info, err := e.info()
	if err != nil || (withStats && e.Unscanned) {
		return store.FileInfo{}, nil, false
	}
	if !e.Stats || !withStats {
		return info, nil, true
	}
	sb, err := os.ReadFile(c.statsPath(e.SHA256))
	if err != nil {
		return store.FileInfo{}, nil, false
	}
	s, err := trimstats.Parse(sb)
	if err != nil {
		return store.FileInfo{}, nil, false
	}
	return info, s, true
}

func (e *entry) info() (store.FileInfo, error) {
	c, err := cid.Decode(e.CID)
	if err != nil {
		return store.FileInfo{}, err
	}
	sum, err := hex.DecodeString(e.SHA256)
	if err != nil || len(sum) != 32 {
		return store.FileInfo{}, errors.New("hashcache: bad digest")
	}
	info := store.FileInfo{CID: c, Size: e.Size, TSize: e.TSize}
	copy(info.SHA256[:], sum)
	return info, nil
}

// read hashes the file at p (and takes the statistics of a safetensors
// file in the same read), and caches what it gave under id, unless id is
// nil or the file changed while it was read.
func (c *Cache) read(p string, id *identity, withStats bool) (store.FileInfo, *trimstats.Stats, error) {
	reads.Add(1)
	f, err := os.Open(p)
	if err != nil {
		return store.FileInfo{}, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return store.FileInfo{}, nil, err
	}
	var r io.Reader = f
	var fb *trimstats.FileBuilder
	tensors := strings.HasSuffix(p, ".safetensors")
	if tensors && withStats {
		fb = trimstats.NewFileBuilder(st.Size())
		r = io.TeeReader(f, &lenient{w: fb})
	}
	info, err := store.HashFile(r)
	if err != nil {
		return store.FileInfo{}, nil, fmt.Errorf("%s: %w", p, err)
	}
	var s *trimstats.Stats
	if fb != nil {
		s, _ = fb.Stats() // a file that is not valid safetensors has none
	}
	if id == nil {
		return info, s, nil
	}
	if now, err := identify(p); err != nil || now != *id || info.Size != id.Size {
		return info, s, nil // changed while read: not cached
	}
	if time.Since(time.Unix(0, max(id.MtimeNs, id.CtimeNs))) < freshness {
		return info, s, nil // too fresh to tell from a later change: not cached yet
	}
	e := entry{Identity: *id, CID: info.CID.String(), Size: info.Size, TSize: info.TSize, SHA256: hex.EncodeToString(info.SHA256[:]), Stats: s != nil,
		Unscanned: tensors && !withStats}
	if s != nil {
		b, err := s.MarshalBinary()
		if err == nil {
			err = writeAtomic(c.statsPath(e.SHA256), b)
		}
		if err != nil {
			e.Stats = false
		}
	}
	if b, err := json.Marshal(&e); err == nil {
		writeAtomic(c.entryPath(*id), b) // a cache that cannot be written only costs a read next time
	}
	return info, s, nil
}

// freshness is how old a file's last change must be for its entry to be
// kept. File times have a coarse grain (a clock tick, up to seconds on some
// file systems): a file changed, or deleted and another made on its inode
// with its size, within the grain of the time it had when it was read
// would look unchanged. Only a file last changed longer ago than any grain
// is cached, so any later change shows (git's "racily clean" rule); a
// fresher one is read again next time. A variable for tests.
var freshness = 3 * time.Second

// reads counts the files read, for tests.
var reads atomic.Int64

// lenient passes writes on to w until w fails, then drops them: the
// statistics of a file that is not safetensors do not stop its hash.
type lenient struct {
	w      io.Writer
	failed bool
}

func (l *lenient) Write(p []byte) (int, error) {
	if !l.failed {
		if _, err := l.w.Write(p); err != nil {
			l.failed = true
		}
	}
	return len(p), nil
}

func (c *Cache) entryPath(id identity) string {
	return filepath.Join(c.dir, "files", fmt.Sprintf("%x-%x.json", id.Dev, id.Ino))
}

func (c *Cache) statsPath(sha string) string {
	return filepath.Join(c.dir, "stats", sha+".stats")
}

// writeAtomic writes b to path through a temporary file in its directory,
// renamed into place.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// errNoIdentity reports a platform that gives no device and inode: its
// files are read every time.
var errNoIdentity = errors.New("hashcache: no device and inode for the file")

// identity is what tells a file and its version apart: where it lives
// (device, inode) and what it was when last read (size, modification and
// change times in nanoseconds).
type identity struct {
	Dev, Ino         uint64
	Size             int64
	MtimeNs, CtimeNs int64
}
