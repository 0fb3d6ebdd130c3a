//go:build unix

package hub

import "syscall"

// freeBytes is the space free to unprivileged writers on dir's file
// system, or -1 if it cannot be told.
func freeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
