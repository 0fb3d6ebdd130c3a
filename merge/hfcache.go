package merge

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/potluck-hub/potluck/store"
)

// A recipe may name a model as mergekit users do, org/name or
// org/name@revision, and find it in the local Hugging Face cache, with no
// network: HUB/models--org--name/snapshots/COMMIT, the commit read from
// refs/REVISION (refs/main without one) or given as the revision itself.
// A snapshot's files are links into the cache's blobs; the model is read,
// and its CID computed, through them, as if its files were there.

// repoRE matches org/name[@revision].
var repoRE = regexp.MustCompile(`^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$`)

func looksLikeRepo(ref string) bool { return repoRE.MatchString(ref) }

// commitRE matches a full commit hash.
var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// hfSnapshot returns the directory of ref's snapshot in the cache hub, or
// an error that names what is missing and where it looked.
func hfSnapshot(hub, ref string) (string, error) {
	repo, rev, _ := strings.Cut(ref, "@")
	dir := filepath.Join(hub, "models--"+strings.ReplaceAll(repo, "/", "--"))
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("model %s: no such directory, and not in the Hugging Face cache: %s does not exist (download it first, e.g. huggingface-cli download %s)", ref, dir, repo)
	}
	if rev == "" {
		rev = "main"
	}
	commit := rev
	refFile := filepath.Join(dir, "refs", rev)
	if b, err := os.ReadFile(refFile); err == nil {
		commit = strings.TrimSpace(string(b))
	} else if !commitRE.MatchString(rev) {
		return "", fmt.Errorf("model %s: the Hugging Face cache has no revision %q: %s does not exist", ref, rev, refFile)
	}
	snap := filepath.Join(dir, "snapshots", commit)
	if st, err := os.Stat(snap); err != nil || !st.IsDir() {
		return "", fmt.Errorf("model %s: revision %s is not in the Hugging Face cache: %s does not exist", ref, commit, snap)
	}
	return snap, nil
}

// linkedDir is a model directory whose files may be links to files
// elsewhere (a Hugging Face snapshot): it is read through them.
type linkedDir string

// entries walks the directory as store.WalkDir does (hidden names
// skipped), following links to regular files.
func (d linkedDir) entries() ([]store.Entry, error) {
	var out []store.Entry
	err := filepath.WalkDir(string(d), func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == string(d) {
			return err
		}
		rel, _ := filepath.Rel(string(d), p)
		rel = filepath.ToSlash(rel)
		switch st, err := os.Stat(p); {
		case strings.HasPrefix(e.Name(), "."):
			if e.IsDir() {
				return filepath.SkipDir
			}
		case err != nil:
			return err
		case e.IsDir():
			out = append(out, store.Entry{Path: rel, Dir: true})
		case st.Mode().IsRegular():
			info, err := store.HashFileAt(p)
			if err != nil {
				return err
			}
			out = append(out, store.Entry{Path: rel, File: info})
		default:
			return fmt.Errorf("%s is not a regular file or directory", p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("merge: %s: %w", d, err)
	}
	return out, nil
}

// Files lists the directory's files, links followed, model.sig left out.
func (d linkedDir) Files() ([]string, error) {
	entries, err := d.entries()
	var out []string
	for _, e := range entries {
		if !e.Dir && e.Path != "model.sig" {
			out = append(out, e.Path)
		}
	}
	return out, err
}

// Open opens a file of the directory, through a link if it is one.
func (d linkedDir) Open(p string) (ReaderAtCloser, int64, error) {
	return DirSource(d).Open(p)
}

// cid is the CID of the directory with its links replaced by their files.
func (d linkedDir) cid() (string, error) {
	entries, err := d.entries()
	if err != nil {
		return "", err
	}
	var kept []store.Entry
	for _, e := range entries {
		if e.Path != "model.sig" {
			kept = append(kept, e)
		}
	}
	c, err := store.DirCID(kept)
	if err != nil {
		return "", err
	}
	return c.String(), nil
}
