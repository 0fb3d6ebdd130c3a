package signing

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestHashFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	content := strings.Repeat("0123456789abcdef", 200_000) // 3.2 MB, several buffers
	writeFile(t, path, content)
	got, err := HashFile(path)
	if err != nil || got != sha256.Sum256([]byte(content)) {
		t.Errorf("HashFile = %x, %v; want %x", got, err, sha256.Sum256([]byte(content)))
	}
}

func TestHashDirIgnore(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a/b", "ab", "c/d/e", "c/f", "model.sig", "x"} {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), name)
	}
	rs, err := DigestDir(dir, []string{"./a/", "c/d", "x"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
		if want := sha256.Sum256([]byte(r.Name)); r.Digest != want {
			t.Errorf("%s: digest %x, want %x", r.Name, r.Digest, want)
		}
	}
	if want := []string{"ab", "c/f"}; !slices.Equal(names, want) {
		t.Errorf("names %q, want %q (a path ignores itself and below, not siblings sharing a prefix)", names, want)
	}
}

func TestHashDirBadIgnorePaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "f"), "f")
	for _, ig := range []string{"", ".", "..", "../f", "/etc"} {
		if _, err := DigestDir(dir, []string{ig}); err == nil {
			t.Errorf("ignore path %q: no error", ig)
		}
	}
}

func TestHashDirSymlinks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "real"), "data")
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	if _, err := DigestDir(dir, nil); err == nil || !strings.Contains(err.Error(), "link") {
		t.Errorf("symlink in model: got %v, want an error naming it", err)
	}
	if rs, err := DigestDir(dir, []string{"link"}); err != nil || len(rs) != 1 || rs[0].Name != "real" {
		t.Errorf("ignored symlink: got %v, %v", rs, err)
	}
	// The model directory itself may be reached through a link.
	alias := filepath.Join(t.TempDir(), "alias")
	if err := os.Symlink(dir, alias); err != nil {
		t.Fatal(err)
	}
	if rs, err := DigestDir(alias, []string{"link"}); err != nil || len(rs) != 1 {
		t.Errorf("linked model dir: got %v, %v", rs, err)
	}
}

func TestComparePaths(t *testing.T) {
	// The order Python's sorted() gives PurePosixPath values, as the OpenSSF tool sorts.
	want := []string{"a", "a/b", "a/b/c", "a-b", "a.b/c", "ab", "b"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, ComparePaths)
	if !slices.Equal(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
}

func TestCheckResources(t *testing.T) {
	d := sha256.Sum256(nil)
	bad := [][]Resource{
		nil,
		{{"b", d}, {"a", d}},
		{{"a", d}, {"a", d}},
		{{"../etc/passwd", d}},
		{{"/abs", d}},
		{{"a//b", d}},
		{{".", d}},
		{{"\xff", d}},
	}
	for _, rs := range bad {
		if err := checkResources(rs); err == nil {
			t.Errorf("checkResources(%q): no error", rs)
		}
	}
	if err := checkResources([]Resource{{"a/b", d}, {"a-b", d}}); err != nil {
		t.Errorf("canonical order refused: %v", err)
	}
}
