package node

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackEvery is how many bytes a writer lets accumulate before it asks
// the kernel to start writing them to disk.
const writebackEvery = 32 << 20

// writer writes a received file, asking the kernel to start writing back
// each writebackEvery bytes as they accumulate (sync_file_range, which
// does not wait), so that the disk writes while the network receives and
// the fsync at the end waits only for the last bytes.
type writer struct {
	f           *os.File
	fd          int
	off, queued int64
}

func newWriter(f *os.File) *writer { return &writer{f: f, fd: int(f.Fd())} }

func (w *writer) write(p []byte) error {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if err != nil {
		return err
	}
	if w.off-w.queued >= writebackEvery {
		// Advice only: where the file system does not have it, fsync does
		// all the work at the end.
		unix.SyncFileRange(w.fd, w.queued, w.off-w.queued, unix.SYNC_FILE_RANGE_WRITE)
		w.queued = w.off
	}
	return nil
}
