package store

import (
	"fmt"
	"os"
	"path/filepath"
)

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
