//go:build !linux

package store

import "os"

// start has nothing to do where direct I/O is not used.
func (w *stageWriter) start() {}

// write writes bufs at the writer's offset.
func (w *stageWriter) write(bufs [][]byte) error {
	for _, b := range bufs {
		if _, err := w.f.WriteAt(b, w.off); err != nil {
			return err
		}
		w.off += int64(len(b))
	}
	return nil
}

// openStaged opens a staged data file for a commit's upload.
func openStaged(name string, _ int64) (stagedFile, error) { return os.Open(name) }

func (r *blockReader) pread(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }
