package testmodel

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ReadFiles reads every regular file under dir but hidden ones, by slash
// path.
func ReadFiles(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	return out, err
}

// SameFiles compares two model directories file by file (hidden files left
// out): it returns how many files want holds, and an error naming every
// file missing from got, added in it, or holding other bytes.
func SameFiles(want, got string) (int, error) {
	w, err := ReadFiles(want)
	if err != nil {
		return 0, err
	}
	g, err := ReadFiles(got)
	if err != nil {
		return 0, err
	}
	var diffs []string
	for _, p := range slices.Sorted(maps.Keys(w)) {
		if b, ok := g[p]; !ok {
			diffs = append(diffs, p+": missing")
		} else if !bytes.Equal(b, w[p]) {
			diffs = append(diffs, fmt.Sprintf("%s: %d bytes, not the %d of %s", p, len(b), len(w[p]), want))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(g)) {
		if _, ok := w[p]; !ok {
			diffs = append(diffs, p+": not in "+want)
		}
	}
	if len(diffs) > 0 {
		return len(w), fmt.Errorf("%s differs from %s: %s", got, want, strings.Join(diffs, "; "))
	}
	return len(w), nil
}
