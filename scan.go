package potluck

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// Dir is a release directory scanned once: every file it would upload, with
// its SHA-256 and CID, read in one pass per file. Hidden files are left out,
// as `ipfs add -r` leaves them out, and so is the signature model.sig.
type Dir struct {
	Path   string
	Files  []store.Entry // regular files only, in path order
	Hidden []string      // hidden paths skipped, recorded as ignored when signing
	all    []store.Entry // files and directories, for the root CID
}

// ScanDir reads every file of dir once.
func ScanDir(dir string) (*Dir, error) {
	entries, hidden, err := store.Walk(dir, store.HashFileAt)
	if err != nil {
		return nil, err
	}
	if err := checkNoEmptyDirs(dir, entries); err != nil {
		return nil, err
	}
	d := &Dir{Path: dir, Hidden: hidden}
	for _, e := range entries {
		if e.Path == signing.SignatureFile {
			continue
		}
		d.all = append(d.all, e)
		if !e.Dir {
			d.Files = append(d.Files, e)
		}
	}
	return d, nil
}

// checkNoEmptyDirs refuses a directory holding an empty subdirectory: a
// release is its files, so the hub could not reproduce the CID `ipfs add -r`
// gives a tree with an empty folder in it.
func checkNoEmptyDirs(dir string, entries []store.Entry) error {
	for _, e := range entries {
		if !e.Dir {
			continue
		}
		empty := true
		for _, f := range entries {
			if !f.Dir && strings.HasPrefix(f.Path, e.Path+"/") {
				empty = false
				break
			}
		}
		if empty {
			return fmt.Errorf("%s: %q is an empty directory; a release holds files only: remove it", dir, e.Path)
		}
	}
	return nil
}

// CID is the root CID the hub will give the release: `ipfs add -r
// --cid-version=1` of the directory without model.sig.
func (d *Dir) CID() (cid.Cid, error) { return store.DirCID(d.all) }

// Size is the total size of the files.
func (d *Dir) Size() int64 {
	var n int64
	for _, f := range d.Files {
		n += f.File.Size
	}
	return n
}

// Resources are the files as the OpenSSF model-signing format lists them.
func (d *Dir) Resources() []signing.Resource {
	res := make([]signing.Resource, len(d.Files))
	for i, f := range d.Files {
		res[i] = signing.Resource{Name: f.Path, Digest: f.File.SHA256}
	}
	slices.SortFunc(res, func(a, b signing.Resource) int { return signing.ComparePaths(a.Name, b.Name) })
	return res
}

// Bundle signs the directory's files, recording its hidden paths as
// ignored, so the OpenSSF tool verifies the same set.
func (d *Dir) Bundle(s *signing.Signer) ([]byte, error) {
	return signing.Sign(s, filepath.Base(d.Path), d.Resources(), d.Hidden)
}

// WriteDir creates the release directory dir, which must not exist, by
// having fill write a hidden sibling directory that is then renamed into
// place: dir appears whole or not at all, and on error nothing is left.
func WriteDir(dir string, fill func(tmp string) error) error {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("%s already exists", dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".partial-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := fill(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp made it 0700
		return err
	}
	return os.Rename(tmp, dir)
}
