package main

import (
	"fmt"
	"os"

	cid "github.com/ipfs/go-cid"
	"github.com/spf13/cobra"
)

// cacheEnv overrides where pulled releases are cached.
const cacheEnv = "POTLUCK_CACHE_DIR"

// releaseDir returns a local directory holding the release ref names: ref
// itself when it is a directory, else the release with CID ref, pulled
// from the hub into the cache and checked (signature by the hub's or a
// member's key, every file's digest, the log receipt), or the cached copy,
// checked again offline. Directories win: a folder named like a CID is a
// folder. flag names ref in messages ("--base").
func releaseDir(cmd *cobra.Command, hc *hubConn, flag, ref string, quiet bool) (string, error) {
	if st, err := os.Stat(ref); err == nil && st.IsDir() {
		return ref, nil
	}
	if _, err := cid.Decode(ref); err != nil {
		return "", fmt.Errorf("%s %s is neither a directory nor a release CID", flag, ref)
	}
	cache := defaultCacheDir()
	client, err := hc.dial()
	if err != nil {
		return "", err
	}
	defer client.Close()
	keys, err := trustedKeys(cmd, nil, client)
	if err != nil {
		return "", err
	}
	dir, pulled, err := client.Cached(cmd.Context(), cache, ref, keys, progressTo(cmd.ErrOrStderr(), "received", quiet))
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", flag, ref, err)
	}
	if !quiet {
		how := "the cached copy, verified again"
		if pulled {
			how = "pulled from the hub and verified"
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "%s %s: %s (%s)\n", flag, ref, dir, how)
	}
	return dir, nil
}
