//go:build !linux

package hashcache

import "fmt"

// identify has no identity to give on this platform: files are read every
// time.
func identify(p string) (identity, error) { return identity{}, fmt.Errorf("%w: %s", errNoIdentity, p) }
