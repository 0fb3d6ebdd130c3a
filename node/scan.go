package node

import (
	"cmp"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/potluck-hub/potluck/internal/hashcache"
	"github.com/potluck-hub/potluck/store"
)

// A release is hashed (SHA-256 and CID of every file) before anything is
// signed or sent. A scanner does it with as little reading as it can: a
// file whose hashes are known already (the delta files MakeDelta hashed
// for its manifest, unchanged since) or cached (Hashes: an unchanged base
// hashed by an earlier register-base or publish) is not read, and the
// files that must be read are read several at a time, one per core.

// maxHashers bounds the files hashed at once: each holds store's hashing
// window (8 MiB) in memory.
const maxHashers = 4

// scanner hashes a directory's files.
type scanner struct {
	cache    *hashcache.Cache // nil: no cache
	known    knownFiles       // nil: none
	progress Progress         // told the bytes hashed of all; nil is quiet
}

// knownFiles are hashes taken earlier, by absolute path, each valid while
// its file keeps the size and modification time it had then.
type knownFiles map[string]knownFile

type knownFile struct {
	info  store.FileInfo
	mtime time.Time
}

// knownAt stats the files of dir whose hashes are given, to record them
// as known.
func knownAt(dir string, files []store.Entry) (knownFiles, error) {
	k := make(knownFiles, len(files))
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		k[p] = knownFile{info: f.File, mtime: st.ModTime()}
	}
	return k, nil
}

// moved is k after its files' directory from was renamed to to.
func (k knownFiles) moved(from, to string) knownFiles {
	out := make(knownFiles, len(k))
	for p, f := range k {
		if rel, err := filepath.Rel(from, p); err == nil {
			out[filepath.Join(to, rel)] = f
		}
	}
	return out
}

// scan is store.ScanDir through the scanner. The files are listed first
// by store's own rules (sizes only, nothing read), so hidden files and
// model.sig count as the scan counts them; then hashed, the biggest
// first, on as many goroutines as there are cores (up to maxHashers); then
// the directory is assembled from the hashes.
func (s scanner) scan(dir string) (*store.Dir, error) {
	listed, err := store.ScanDirWith(dir, func(path string) (store.FileInfo, error) {
		st, err := os.Stat(path)
		if err != nil {
			return store.FileInfo{}, err
		}
		return store.FileInfo{Size: st.Size()}, nil
	})
	if err != nil {
		return nil, err
	}
	files := slices.Clone(listed.Files)
	slices.SortFunc(files, func(a, b store.Entry) int { return cmp.Compare(b.File.Size, a.File.Size) })
	total := listed.Size()
	var mu sync.Mutex
	var done int64
	hashed := make(map[string]store.FileInfo, len(files))
	if s.progress != nil {
		s.progress(0, total)
	}
	var first error
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), maxHashers, len(files)) {
		wg.Go(func() {
			for p := range work {
				info, err := s.hash(p)
				mu.Lock()
				first = cmp.Or(first, err)
				if err == nil {
					hashed[p] = info
					done = min(done+info.Size, total) // model.sig is hashed, not counted
					if s.progress != nil {
						s.progress(done, total)
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, f := range files {
		work <- filepath.Join(dir, filepath.FromSlash(f.Path))
	}
	close(work)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return store.ScanDirWith(dir, func(path string) (store.FileInfo, error) {
		if info, ok := hashed[path]; ok {
			return info, nil
		}
		return store.HashFileAt(path) // model.sig, or a file new since the listing
	})
}

// hash hashes the file at p, unless its hashes are known or cached.
func (s scanner) hash(p string) (store.FileInfo, error) {
	if k, ok := s.known[p]; ok {
		if st, err := os.Stat(p); err == nil && st.Size() == k.info.Size && st.ModTime().Equal(k.mtime) {
			return k.info, nil
		}
	}
	if s.cache != nil {
		return s.cache.Hash(p)
	}
	return store.HashFileAt(p)
}

// cachedCID is the CID of the release dir holds when the cache holds every
// one of its files as it is now; ok is false otherwise (nothing is read).
func cachedCID(c *hashcache.Cache, dir string) (root string, ok bool) {
	if c == nil {
		return "", false
	}
	all := true
	d, err := store.ScanDirWith(dir, func(path string) (store.FileInfo, error) {
		info, hit := c.Cached(path)
		all = all && hit
		return info, nil
	})
	if err != nil || !all {
		return "", false
	}
	r, err := d.CID()
	if err != nil {
		return "", false
	}
	return r.String(), true
}
