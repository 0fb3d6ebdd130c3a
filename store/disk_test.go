package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck/store"
	"github.com/potluck-hub/potluck/store/storetest"
)

// TestDiskConformance runs the backend conformance suite on local disk.
func TestDiskConformance(t *testing.T) {
	roots := map[store.Backend]string{}
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) store.Backend {
			dir := t.TempDir()
			b, err := store.NewDiskBackend(dir)
			if err != nil {
				t.Fatal(err)
			}
			roots[b] = dir
			return b
		},
		Alter: func(t *testing.T, b store.Backend, key string, off int64) {
			p := filepath.Join(roots[b], filepath.FromSlash(key))
			os.Chmod(p, 0o644)
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			one := make([]byte, 1)
			if _, err := f.ReadAt(one, off); err != nil {
				t.Fatal(err)
			}
			one[0] ^= 0x40
			if _, err := f.WriteAt(one, off); err != nil {
				t.Fatal(err)
			}
		},
	})
}
