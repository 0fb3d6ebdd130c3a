package signing

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/potluck-hub/potluck"
)

// SignatureFile is the name the OpenSSF tool gives the bundle inside the
// model directory; DigestDir always skips it, since it cannot sign itself.
const SignatureFile = potluck.SignatureFile

// Resource is one file of a model and its sha256 digest.
type Resource struct {
	// Name is the file's slash-separated path relative to the model
	// directory, e.g. "sub/dir/file", on every operating system.
	Name   string
	Digest [32]byte
}

// RootDigest is the sha256 of the resources' raw digests concatenated in
// order: the statement's subject digest, one value naming the whole model.
// The resources must be in canonical order (see DigestDir).
func RootDigest(rs []Resource) [32]byte {
	h := sha256.New()
	for _, r := range rs {
		h.Write(r.Digest[:])
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// HashFile is the sha256 of a file's contents, read in chunks: model files
// run to many gigabytes and are never held in memory whole.
func HashFile(name string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(name)
	if err != nil {
		return sum, fmt.Errorf("hash file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	// The struct hides os.File's WriterTo so that the 1 MiB buffer is used.
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, make([]byte, 1<<20)); err != nil {
		return sum, fmt.Errorf("hash file %s: %w", name, err)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// DigestDir digests every regular file under dir, as the OpenSSF tool's "files"
// serialization does, and returns them in canonical order (see ComparePaths).
//
// ignorePaths are slash-separated paths relative to dir; each ignores the file
// of that name or the directory and everything below it ("a" ignores "a" and
// "a/b", not "ab"). SignatureFile is always ignored. A symbolic link that is
// not ignored is an error (the format's allow_symlinks is false), as is any
// other non-regular file. dir itself may be a symbolic link.
func DigestDir(dir string, ignorePaths []string) ([]Resource, error) {
	ignore, err := cleanIgnorePaths(append(slices.Clone(ignorePaths), SignatureFile))
	if err != nil {
		return nil, fmt.Errorf("hash dir %s: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("hash dir: %w", err)
	}
	var rs []Resource
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return visit(&rs, root, p, d, ignore)
	})
	if err != nil {
		return nil, fmt.Errorf("hash dir %s: %w", dir, err)
	}
	slices.SortFunc(rs, func(a, b Resource) int { return ComparePaths(a.Name, b.Name) })
	return rs, nil
}

// visit handles one entry of DigestDir's walk.
func visit(rs *[]Resource, root, p string, d fs.DirEntry, ignore []string) error {
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == "." {
		return err
	}
	name := filepath.ToSlash(rel)
	switch {
	case isIgnored(name, ignore) && d.IsDir():
		return filepath.SkipDir
	case isIgnored(name, ignore) || d.IsDir():
		return nil
	case d.Type()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s: symbolic links are not allowed in a signed model", name)
	case !d.Type().IsRegular():
		return fmt.Errorf("%s: not a regular file (%v)", name, d.Type())
	}
	if err := checkName(name); err != nil {
		return err
	}
	sum, err := HashFile(p)
	if err != nil {
		return err
	}
	*rs = append(*rs, Resource{Name: name, Digest: sum})
	return nil
}

// isIgnored reports whether name is one of ignore or lies below one of them.
func isIgnored(name string, ignore []string) bool {
	return ignoredBy(name, ignore) != ""
}

// ignoredBy is the ignore path that covers name, or "".
func ignoredBy(name string, ignore []string) string {
	for _, ig := range ignore {
		if name == ig || strings.HasPrefix(name, ig+"/") {
			return ig
		}
	}
	return ""
}

// cleanIgnorePaths normalizes ignore paths ("./a/" → "a"), drops duplicates
// and refuses those that could not name anything inside the model, or would
// name all of it.
func cleanIgnorePaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		c := path.Clean(filepath.ToSlash(p))
		if p == "" || c == "." || c == ".." || strings.HasPrefix(c, "../") || path.IsAbs(c) {
			return nil, fmt.Errorf("ignore path %q: want a path inside the model directory", p)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// ComparePaths orders slash-separated paths component by component, the order
// of the OpenSSF tool's resources (Python's PurePosixPath order) and of a
// depth-first walk: "a/b" sorts before "a-b" although '-' < '/' in bytes.
func ComparePaths(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		switch {
		case a[i] == b[i]:
			continue
		case a[i] == '/':
			return -1
		case b[i] == '/':
			return 1
		}
		return cmp.Compare(a[i], b[i])
	}
	return cmp.Compare(len(a), len(b))
}

// checkName refuses resource names that could escape the model directory or
// that JSON cannot carry faithfully.
func checkName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return fmt.Errorf("resource name %q: not valid UTF-8", name)
	case name == "" || name == "." || path.IsAbs(name) || path.Clean(name) != name:
		return fmt.Errorf("resource name %q: want a clean relative path", name)
	case name == ".." || strings.HasPrefix(name, "../") || strings.ContainsRune(name, 0):
		return fmt.Errorf("resource name %q: outside the model directory", name)
	}
	return nil
}

// checkResources checks that rs is non-empty, in canonical order, without
// duplicates and with valid names: the shape Sign writes and VerifyBundle
// expects, so the root digest has one meaning.
func checkResources(rs []Resource) error {
	if len(rs) == 0 {
		return fmt.Errorf("no resources: a model needs at least one file")
	}
	for i, r := range rs {
		if err := checkName(r.Name); err != nil {
			return err
		}
		if i > 0 && ComparePaths(rs[i-1].Name, r.Name) >= 0 {
			return fmt.Errorf("resources %q and %q: not in canonical order or duplicated", rs[i-1].Name, r.Name)
		}
	}
	return nil
}
