//go:build !unix

package hub

import "os"

// flock is a no-op where flock(2) does not exist: the store's own lock
// still refuses a second process, less helpfully.
func flock(*os.File) error { return nil }
