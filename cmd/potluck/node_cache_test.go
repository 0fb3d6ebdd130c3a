package main

import (
	"os"
	"testing"
)

// TestMain keeps the tests off the user's caches ($POTLUCK_CACHE_DIR: the
// hash cache that register-base and publish keep, the releases pulled):
// the tests share a fresh one.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "potluck-cmd-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv(cacheEnv, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
