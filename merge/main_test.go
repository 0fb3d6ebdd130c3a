package merge_test

import (
	"os"
	"testing"

	"github.com/potluck-hub/potluck/internal/hashcache"
)

// TestMain keeps the tests' local merges off the user's hash cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "potluck-hashcache-")
	if err != nil {
		panic(err)
	}
	os.Setenv(hashcache.EnvDir, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
