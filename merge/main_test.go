package merge_test

import (
	"os"
	"testing"

	"github.com/potluck-hub/potluck/internal/hashcache"
)

// TestMain keeps the tests' local merges off the user's hash cache: on a
// fresh one, or TestBenchReport's shared one in its children.
func TestMain(m *testing.M) {
	if c := os.Getenv(benchCacheEnv); c != "" {
		os.Setenv(hashcache.EnvDir, c)
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "potluck-hashcache-")
	if err != nil {
		panic(err)
	}
	os.Setenv(hashcache.EnvDir, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
