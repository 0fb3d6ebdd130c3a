//go:build unix

package hub

import (
	"os"

	"golang.org/x/sys/unix"
)

// flock takes an exclusive advisory lock on f without waiting; the kernel
// drops it when the process ends, however it ends.
func flock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			return err
		}
	}
}
