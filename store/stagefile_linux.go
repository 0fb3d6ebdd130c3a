package store

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// start turns on direct I/O where the file system has it; where not, the
// writes go through the page cache.
func (w *stageWriter) start() {
	w.control(func(fd int) error {
		w.direct = setDirect(fd, true) == nil
		return nil
	})
}

// write writes bufs at the writer's offset in as few calls as it can. Every
// chunk but the file's last is 256 KiB, so only that one can leave a tail
// that direct I/O cannot write: the tail is written through the page cache.
func (w *stageWriter) write(bufs [][]byte) error {
	return w.control(func(fd int) error {
		last := bufs[len(bufs)-1]
		cut := len(last) - len(last)%dioAlign
		if !w.direct || cut == len(last) {
			return w.pwritev(fd, bufs)
		}
		head := append(bufs[:len(bufs)-1:len(bufs)-1], last[:cut])
		if err := w.pwritev(fd, head); err != nil {
			return err
		}
		if err := w.plain(fd); err != nil {
			return err
		}
		return w.pwritev(fd, [][]byte{last[cut:]})
	})
}

// pwritev writes bufs whole. A direct write the file system refuses
// (EINVAL: alignment) is retried through the page cache.
func (w *stageWriter) pwritev(fd int, bufs [][]byte) error {
	bufs = append([][]byte(nil), bufs...) // advanced below; the caller's stay whole
	for {
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
		if len(bufs) == 0 {
			return nil
		}
		n, err := unix.Pwritev(fd, bufs, w.off)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EINVAL) && w.direct {
			if err = w.plain(fd); err == nil {
				continue
			}
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return unix.EIO
		}
		w.off += int64(n)
		for n > 0 {
			m := min(n, len(bufs[0]))
			n -= m
			if bufs[0] = bufs[0][m:]; len(bufs[0]) == 0 {
				bufs = bufs[1:]
			}
		}
		if len(bufs) > 0 && w.direct && w.off%dioAlign != 0 {
			if err := w.plain(fd); err != nil { // a short write left the rest unaligned
				return err
			}
		}
	}
}

// plain turns direct I/O off for the rest of the file.
func (w *stageWriter) plain(fd int) error {
	w.direct = false
	return setDirect(fd, false)
}

func setDirect(fd int, on bool) error {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if on {
		fl |= unix.O_DIRECT
	} else {
		fl &^= unix.O_DIRECT
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl)
	return err
}

// control runs fn with the file's descriptor.
func (w *stageWriter) control(fn func(fd int) error) error {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return err
	}
	if cerr := rc.Control(func(fd uintptr) { err = fn(int(fd)) }); cerr != nil {
		return cerr
	}
	return err
}

// openStaged opens a staged data file of size bytes for a commit's upload:
// with direct I/O where the file system has it, through the page cache
// where not.
func openStaged(name string, size int64) (stagedFile, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return os.Open(name)
	}
	return &blockReader{f: f, size: size}, nil
}

// pread reads len(p) bytes at off, or to the end of the file. A direct read
// the file system refuses (EINVAL) is retried through the page cache.
func (r *blockReader) pread(p []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(p, off)
	if errors.Is(err, unix.EINVAL) {
		if rc, cerr := r.f.SyscallConn(); cerr == nil {
			rc.Control(func(fd uintptr) { setDirect(int(fd), false) })
			n, err = r.f.ReadAt(p, off)
		}
	}
	return n, err
}
