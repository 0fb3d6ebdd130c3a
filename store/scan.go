package store

import (
	"fmt"
	"strings"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck"
)

// Dir is a release directory scanned once: every file it would upload, with
// its SHA-256 and CID, read in one pass per file. Hidden files are left out,
// as `ipfs add -r` leaves them out, and so is the signature model.sig.
type Dir struct {
	Path   string
	Files  []Entry  // regular files only, in path order
	Hidden []string // hidden paths skipped, recorded as ignored when signing
	all    []Entry  // files and directories, for the root CID
}

// ScanDir reads every file of dir once.
func ScanDir(dir string) (*Dir, error) { return ScanDirWith(dir, HashFileAt) }

// ScanDirWith is ScanDir with importFn in place of HashFileAt: a cache
// that remembers what files gave.
func ScanDirWith(dir string, importFn func(path string) (FileInfo, error)) (*Dir, error) {
	entries, hidden, err := Walk(dir, importFn)
	if err != nil {
		return nil, err
	}
	if err := checkNoEmptyDirs(dir, entries); err != nil {
		return nil, err
	}
	d := &Dir{Path: dir, Hidden: hidden}
	for _, e := range entries {
		if e.Path == potluck.SignatureFile {
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
func checkNoEmptyDirs(dir string, entries []Entry) error {
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
func (d *Dir) CID() (cid.Cid, error) { return DirCID(d.all) }

// Describe lists the files as a release does: path, size, SHA-256 and CID.
func (d *Dir) Describe() []potluck.File { return Describe(d.Files) }

// Size is the total size of the files.
func (d *Dir) Size() int64 {
	var n int64
	for _, f := range d.Files {
		n += f.File.Size
	}
	return n
}

// Describe turns walked entries into release files, directories left out.
func Describe(entries []Entry) []potluck.File {
	var files []potluck.File
	for _, e := range entries {
		if !e.Dir {
			files = append(files, e.File.Describe(e.Path))
		}
	}
	return files
}

// Describe is the release file at path with these contents.
func (i FileInfo) Describe(path string) potluck.File {
	return potluck.File{Path: path, Size: i.Size, SHA256: potluck.HexDigest(i.SHA256), CID: i.CID.String()}
}
