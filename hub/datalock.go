package hub

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// One process at a time works on a data folder: a running hub, or an
// operator's offline command (store add, gc, car export...). Each holds an
// advisory lock on DATA/lock (flock, so a crash frees it) and writes its
// PID and what it is into the file, so that the next one is told who holds
// the folder instead of the store's "resource temporarily unavailable".

// ErrDataHeld reports a data folder another process holds.
var ErrDataHeld = errors.New("hub: data folder in use")

// HolderHub is how a serving hub names itself in the lock.
const HolderHub = "the hub"

// DataLock is a held data folder.
type DataLock struct {
	f *os.File
}

// LockData takes dir for this process; holder says what the process is,
// as another one is told ("the hub", "potluck store add").
func LockData(dir, holder string) (*DataLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("hub: locking the data folder: %w", err)
	}
	if err := flock(f); err != nil {
		b, _ := io.ReadAll(io.LimitReader(f, 256))
		f.Close()
		return nil, heldError(dir, string(b), err)
	}
	// Who holds it is only told to the next one: a failed write leaves
	// the lock held all the same.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+" "+holder+"\n"), 0)
	}
	return &DataLock{f: f}, nil
}

// heldError says who holds dir, from the lock file's "PID holder" line.
func heldError(dir, line string, err error) error {
	if abs, aerr := filepath.Abs(dir); aerr == nil {
		dir = abs
	}
	pid, holder, _ := strings.Cut(strings.TrimSpace(line), " ")
	switch {
	case pid == "":
		return fmt.Errorf("%w: another process holds %s (%v); stop it first", ErrDataHeld, dir, err)
	case holder == "" || holder == HolderHub:
		return fmt.Errorf("%w: the hub at PID %s holds %s; stop it first", ErrDataHeld, pid, dir)
	}
	return fmt.Errorf("%w: %s at PID %s holds %s; let it finish or stop it first", ErrDataHeld, holder, pid, dir)
}

// Release frees the folder.
func (l *DataLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0) // the next holder writes its own line
	err := l.f.Close()  // closing the file drops the lock
	l.f = nil
	return err
}
