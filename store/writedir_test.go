package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/store"
)

func TestWriteDir(t *testing.T) {
	noPartial := func(t *testing.T, dir string) {
		t.Helper()
		left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".release.partial-*"))
		if len(left) > 0 {
			t.Errorf("partial directories left: %v", left)
		}
	}
	t.Run("writes", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "release")
		err := store.WriteDir(dir, func(tmp string) error {
			if _, err := os.Stat(dir); err == nil {
				t.Error("dir exists before fill returns")
			}
			return os.WriteFile(filepath.Join(tmp, "f"), []byte("x"), 0o644)
		})
		if b, rerr := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(b) != "x" {
			t.Errorf("WriteDir: %v; f holds %q (%v)", err, b, rerr)
		}
		noPartial(t, dir)
	})
	t.Run("fill fails", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "release")
		boom := errors.New("boom")
		err := store.WriteDir(dir, func(tmp string) error {
			os.WriteFile(filepath.Join(tmp, "f"), []byte("x"), 0o644)
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("WriteDir: %v, want fill's error", err)
		}
		if _, err := os.Lstat(dir); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed fill", dir)
		}
		noPartial(t, dir)
	})
	t.Run("exists", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "release")
		writeScanTree(t, dir, map[string]string{"keep": "mine"})
		err := store.WriteDir(dir, func(string) error { t.Error("fill called"); return nil })
		if err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("WriteDir over an existing directory: %v, want an error naming it", err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "keep")); string(b) != "mine" {
			t.Errorf("existing directory changed: keep holds %q", b)
		}
		noPartial(t, dir)
	})
}
