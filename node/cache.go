package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck/signing"
)

// Cached returns a directory holding a release under cacheDir (as
// cacheDir/CID): the copy already there, checked again offline (signature by
// a trusted key over exactly its files, manifest, kept log receipt and
// provenance, and its CID), or else the release pulled from the hub and
// checked as Pull checks it. pulled says which. A cached copy that fails
// its checks is replaced by a fresh pull. Several processes may ask for the
// same release at once: the directory appears whole or not at all, and the
// one that loses the race to write it uses the winner's.
func (c *Client) Cached(ctx context.Context, cacheDir, release string, trusted []*signing.PublicKey, progress Progress) (dir string, pulled bool, err error) {
	if parsed, err := cid.Decode(release); err != nil || parsed.String() != release {
		return "", false, fmt.Errorf("node: %q is not a release CID (as the hub prints them: bafy...)", release)
	}
	dir = filepath.Join(cacheDir, release)
	verr := c.checkCached(dir, release, trusted)
	if verr == nil {
		return dir, false, nil
	}
	if !errors.Is(verr, os.ErrNotExist) {
		if err := discard(dir); err != nil {
			return "", false, fmt.Errorf("node: the cached copy of %s at %s does not verify (%v), and cannot be removed: %w", release, dir, verr, err)
		}
	}
	if _, err := c.Pull(ctx, release, dir, trusted, progress); err != nil {
		if c.checkCached(dir, release, trusted) == nil {
			return dir, false, nil // another process pulled it meanwhile
		}
		return "", false, err
	}
	return dir, true, nil
}

// checkCached verifies a cached release directory offline; an error
// wrapping os.ErrNotExist means there is none.
func (c *Client) checkCached(dir, release string, trusted []*signing.PublicKey) error {
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	rep, err := VerifyDirWith(dir, trusted, VerifyOptions{LogKey: c.LogKey})
	if err != nil {
		return err
	}
	if rep.CID != release {
		return fmt.Errorf("%w: %s holds %s", ErrVerify, dir, rep.CID)
	}
	return nil
}

// discard removes a directory, renaming it out of the way first so that
// no reader ever sees it half removed.
func discard(dir string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".discard-")
	if err != nil {
		return err
	}
	if err := os.Rename(dir, filepath.Join(tmp, "old")); err != nil && !errors.Is(err, os.ErrNotExist) {
		os.Remove(tmp)
		return err
	}
	return os.RemoveAll(tmp)
}
