package merge

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/store"
)

// describeFiles lists a release directory's files (all but its manifest)
// with their size, SHA-256 and CID. The files are hashed on every core at
// once, largest first: they were just written, so the hashing, not the
// disk, is what the merge's last step waits on, and its cores are idle by
// then.
func describeFiles(dir string) ([]potluck.File, error) {
	entries, err := store.WalkDir(dir, func(p string) (store.FileInfo, error) {
		st, err := os.Stat(p)
		if err != nil {
			return store.FileInfo{}, err
		}
		return store.FileInfo{Size: st.Size()}, nil
	})
	if err != nil {
		return nil, err
	}
	var files []int
	for i, e := range entries {
		if !e.Dir {
			files = append(files, i)
		}
	}
	slices.SortStableFunc(files, func(a, b int) int { return cmp.Compare(entries[b].File.Size, entries[a].File.Size) })
	errs := make([]error, len(entries))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < len(files); k = int(next.Add(1) - 1) {
				e := &entries[files[k]]
				e.File, errs[files[k]] = store.HashFileAt(filepath.Join(dir, filepath.FromSlash(e.Path)))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return DescribeEntries(entries), nil
}

// DescribeEntries turns walked entries into manifest files, leaving out the
// manifest itself and directories.
func DescribeEntries(entries []store.Entry) []potluck.File {
	var files []potluck.File
	for _, f := range store.Describe(entries) {
		if f.Path != potluck.ManifestFile {
			files = append(files, f)
		}
	}
	return files
}
