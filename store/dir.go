package store

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	cid "github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// maxDirLinkBytes is kubo's threshold (boxo's HAMTShardingSize) past which
// `ipfs add -r` turns a directory into a HAMT shard. Model directories never
// come near it; we refuse such a directory rather than give a CID kubo
// would not.
const maxDirLinkBytes = 256 * 1024

// Entry is one member of a directory tree: a file and its imported info, or
// a directory (needed only for empty ones; parents are implied by paths).
type Entry struct {
	Path string // slash-separated, relative to the tree's root
	Dir  bool
	File FileInfo
}

// CheckPath reports whether p can name a file inside a release: relative,
// slash-separated, clean, with no empty, "." or ".." component and no hidden
// (dot) component, since `ipfs add -r` skips hidden files; and printable:
// valid UTF-8 without control characters (a newline, an ANSI escape) or
// bidirectional controls (U+202E), which would make a listing or a
// terminal show another name than the file's.
func CheckPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return fmt.Errorf("%w: path %q is not a clean relative path", ErrInvalid, p)
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("%w: path %q is not valid UTF-8", ErrInvalid, p)
	}
	if i := strings.IndexFunc(p, unprintable); i >= 0 {
		r, _ := utf8.DecodeRuneInString(p[i:])
		return fmt.Errorf("%w: path %q contains the control character %U at byte %d: rename the file", ErrInvalid, p, r, i)
	}
	for _, part := range strings.Split(p, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, ".") {
			return fmt.Errorf("%w: path %q has a hidden or relative component %q", ErrInvalid, p, part)
		}
		if strings.ContainsAny(part, "\\\x00") {
			return fmt.Errorf("%w: path %q contains a backslash or NUL", ErrInvalid, p)
		}
	}
	return nil
}

// unprintable reports a control character (C0, DEL, C1) or a bidirectional
// formatting character: the embeddings and overrides U+202A–U+202E, the
// isolates U+2066–U+2069, the marks U+200E, U+200F and U+061C.
func unprintable(r rune) bool {
	return unicode.IsControl(r) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c
}

type treeNode struct {
	file     *FileInfo
	children map[string]*treeNode
}

// buildDir builds the UnixFS directories `ipfs add -r --cid-version=1` makes
// over entries, handing every directory node to put, children first. It
// returns the root directory's node.
func buildDir(entries []Entry, put func(ipld.Node) error) (ipld.Node, error) {
	root := &treeNode{children: map[string]*treeNode{}}
	for _, e := range entries {
		if err := root.insert(e); err != nil {
			return nil, err
		}
	}
	return root.build("", put)
}

func (t *treeNode) insert(e Entry) error {
	if err := CheckPath(e.Path); err != nil {
		return err
	}
	parts := strings.Split(e.Path, "/")
	cur := t
	for i, name := range parts {
		if cur.file != nil {
			return fmt.Errorf("%w: %q is both a file and a directory", ErrInvalid, strings.Join(parts[:i], "/"))
		}
		next, ok := cur.children[name]
		last := i == len(parts)-1
		switch {
		case !ok && last && !e.Dir:
			f := e.File
			cur.children[name] = &treeNode{file: &f}
			return nil
		case !ok:
			next = &treeNode{children: map[string]*treeNode{}}
			cur.children[name] = next
		case last:
			if !e.Dir || next.file != nil {
				return fmt.Errorf("%w: path %q appears twice", ErrInvalid, e.Path)
			}
		}
		cur = next
	}
	return nil
}

func (t *treeNode) build(at string, put func(ipld.Node) error) (ipld.Node, error) {
	nd := merkledag.NodeWithData(unixfs.FolderPBData())
	if err := nd.SetCidBuilder(merkledag.V1CidPrefix()); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(t.children))
	for name := range t.children {
		names = append(names, name)
	}
	sort.Strings(names)
	linkBytes := 0
	for _, name := range names {
		child := t.children[name]
		c, tsize, err := child.link(path.Join(at, name), put)
		if err != nil {
			return nil, err
		}
		linkBytes += len(name) + c.ByteLen()
		if linkBytes > maxDirLinkBytes {
			return nil, fmt.Errorf("%w: directory %q has too many entries for a basic UnixFS directory", ErrInvalid, at)
		}
		if err := nd.AddRawLink(name, &ipld.Link{Name: name, Cid: c, Size: tsize}); err != nil {
			return nil, err
		}
	}
	if err := put(nd); err != nil {
		return nil, err
	}
	return nd, nil
}

func (t *treeNode) link(at string, put func(ipld.Node) error) (cid.Cid, uint64, error) {
	if t.file != nil {
		return t.file.CID, t.file.TSize, nil
	}
	nd, err := t.build(at, put)
	if err != nil {
		return cid.Undef, 0, err
	}
	size, err := nd.Size()
	return nd.Cid(), size, err
}

// DirCID returns the root CID of the directory over entries, storing nothing.
func DirCID(entries []Entry) (cid.Cid, error) {
	nd, err := buildDir(entries, func(ipld.Node) error { return nil })
	if err != nil {
		return cid.Undef, err
	}
	return nd.Cid(), nil
}

// HashDir returns the root CID `ipfs add -r --cid-version=1 dir` prints,
// storing nothing. Like kubo it skips hidden files and directories; a
// symbolic link or other special file is an error.
func HashDir(dir string) (cid.Cid, error) {
	entries, err := WalkDir(dir, HashFileAt)
	if err != nil {
		return cid.Undef, err
	}
	return DirCID(entries)
}

// HashFileAt imports the file at p with HashFile.
func HashFileAt(p string) (FileInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return FileInfo{}, err
	}
	defer f.Close()
	info, err := HashFile(f)
	if err != nil {
		return FileInfo{}, fmt.Errorf("%s: %w", p, err)
	}
	return info, nil
}

// WalkDir lists dir as `ipfs add -r` sees it (hidden names skipped), calling
// importFn for every regular file. Entries come in path order.
func WalkDir(dir string, importFn func(path string) (FileInfo, error)) ([]Entry, error) {
	entries, _, err := Walk(dir, importFn)
	return entries, err
}

// Walk is WalkDir that also returns the hidden paths it skipped (relative,
// slash-separated), so a signer can record them as ignored.
func Walk(dir string, importFn func(path string) (FileInfo, error)) (entries []Entry, hidden []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(d.Name(), ".") {
			hidden = append(hidden, rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			entries = append(entries, Entry{Path: rel, Dir: true})
		case d.Type().IsRegular():
			info, err := importFn(p)
			if err != nil {
				return err
			}
			entries = append(entries, Entry{Path: rel, File: info})
		default:
			return fmt.Errorf("%w: %s is not a regular file or directory", ErrInvalid, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: walk %s: %w", dir, err)
	}
	return entries, hidden, nil
}
