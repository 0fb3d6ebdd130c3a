package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/hashcache"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/store"
)

// ChunkSize is the data carried by each upload message (the hub's limit).
const ChunkSize = 4 << 20

// Progress is told how many bytes of how many have been sent; nil is quiet.
type Progress func(sent, total int64)

// Defaults of UploadOptions.
const (
	DefaultRetries = 8
	DefaultBackoff = 250 * time.Millisecond
	maxBackoff     = 5 * time.Second
)

// UploadOptions tune a resumable upload.
type UploadOptions struct {
	// Progress is told the bytes the hub holds as they grow.
	Progress Progress
	// ResumeID continues an earlier session (see OnSession) instead of
	// opening a new one.
	ResumeID string
	// OnSession is told the session's id once it is open, so a caller that
	// itself restarts can resume with ResumeID.
	OnSession func(id string)
	// Retries is how many times in a row a dropped connection is resumed
	// without progress (DefaultRetries if zero, none if negative); the
	// count starts again whenever the hub holds more bytes than before.
	Retries int
	// Backoff is the first wait before resuming, doubled each time up to
	// 5s (DefaultBackoff if zero).
	Backoff time.Duration
	// ChunkSize is the data per message (ChunkSize if zero or larger).
	ChunkSize int
	// Hashed is told, file by file, how many bytes of the directory have
	// been hashed (SHA-256 and CID) before anything is sent.
	Hashed Progress
	// Hashes, when set, remembers what hashing local files gave: a file
	// unchanged since an earlier run hashed it (a base registered, or
	// published against) is not read again. Nil reads every file.
	Hashes *hashcache.Cache
}

// RegisterBase uploads a scanned base model directory with its signature
// bundle (Dir.Bundle) and returns the release the hub recorded. The upload
// resumes by itself after a dropped connection (see Upload).
func (c *Client) RegisterBase(ctx context.Context, dir *store.Dir, bundle []byte, progress Progress) (*potluck.Release, error) {
	return c.Upload(ctx, potluck.KindBase, dir, bundle, "", UploadOptions{Progress: progress})
}

// Publish uploads a scanned delta directory made by MakeDelta, with its
// signature bundle, as a delta of baseCID, resuming after dropped
// connections (see Upload).
func (c *Client) Publish(ctx context.Context, dir *store.Dir, bundle []byte, baseCID string, progress Progress) (*potluck.Release, error) {
	return c.Upload(ctx, potluck.KindDelta, dir, bundle, baseCID, UploadOptions{Progress: progress})
}

// Upload sends a base or a delta through a resumable upload session: the
// hub checks the header and signature first; then the files' bytes go in
// chunks; after a dropped connection or a hub restart Upload asks the hub
// how much it holds and sends only the rest; then the hub admits the
// whole. model.sig is never uploaded as a file: the bundle travels in the
// header.
func (c *Client) Upload(ctx context.Context, kind potluck.Kind, dir *store.Dir, bundle []byte, baseCID string, opts UploadOptions) (*potluck.Release, error) {
	u := &uploader{c: c, dir: dir, opts: opts}
	if u.opts.ChunkSize <= 0 || u.opts.ChunkSize > ChunkSize {
		u.opts.ChunkSize = ChunkSize
	}
	rel, err := u.run(ctx, kind, bundle, baseCID)
	if err != nil {
		if u.id != "" && transient(ctx, err) {
			return nil, fmt.Errorf("node: upload %s (session %s, resumable): %w", dir.Path, u.id, err)
		}
		return nil, fmt.Errorf("node: upload %s: %w", dir.Path, err)
	}
	return rel, nil
}

type uploader struct {
	c    *Client
	dir  *store.Dir
	opts UploadOptions
	id   string
}

func (u *uploader) run(ctx context.Context, kind potluck.Kind, bundle []byte, baseCID string) (*potluck.Release, error) {
	u.id = u.opts.ResumeID
	header := &hubv1.UploadHeader{Bundle: bundle, BaseCid: baseCID}
	for _, e := range u.dir.Files {
		header.Files = append(header.Files, &hubv1.FileEntry{Path: e.Path, Size: uint64(e.File.Size), Sha256: e.File.SHA256[:], Cid: e.File.CID.String()})
	}
	if u.id != "" {
		// The hub refuses a session that holds another upload.
		req := &hubv1.StartUploadRequest{UploadId: u.id, Kind: wire.Kind(kind), Header: header}
		if err := u.retry(ctx, func() (bool, error) { _, err := u.c.hub.StartUpload(ctx, req); return false, err }); err != nil {
			return nil, err
		}
	} else {
		req := &hubv1.StartUploadRequest{Kind: wire.Kind(kind), Header: header}
		err := u.retry(ctx, func() (bool, error) {
			resp, err := u.c.hub.StartUpload(ctx, req)
			u.id = resp.GetUploadId()
			return false, err
		})
		if err != nil {
			return nil, err
		}
		if u.opts.OnSession != nil {
			u.opts.OnSession(u.id)
		}
	}
	var resp *hubv1.CommitUploadResponse
	err := u.retry(ctx, func() (bool, error) {
		progressed, err := u.send(ctx)
		if err != nil {
			return progressed, err
		}
		resp, err = u.c.hub.CommitUpload(ctx, &hubv1.CommitUploadRequest{UploadId: u.id})
		return false, err
	})
	if err != nil {
		return nil, err
	}
	return wire.ReleaseOf(resp.GetRelease())
}

// retry calls f until it succeeds, fails for good, or fails Retries times
// in a row without progress, waiting longer each time.
func (u *uploader) retry(ctx context.Context, f func() (progressed bool, err error)) error {
	retries, wait := u.opts.Retries, u.opts.Backoff
	if retries == 0 {
		retries = DefaultRetries
	}
	if wait <= 0 {
		wait = DefaultBackoff
	}
	for failed := 0; ; failed++ {
		progressed, err := f()
		if err == nil || !transient(ctx, err) {
			return err
		}
		if progressed {
			failed, wait = 0, u.opts.Backoff
			if wait <= 0 {
				wait = DefaultBackoff
			}
		}
		if failed >= retries {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, maxBackoff)
	}
}

// Resumable reports whether a failed upload may go on with its session id
// (--resume): the connection dropped, the hub restarted, or the caller
// stopped; not a refusal.
func Resumable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.Aborted, codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}

// transient: a dropped connection, a hub restarting, a resume point moved;
// not a refusal, and not the caller giving up.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.Aborted, codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}

// send asks the hub what it holds and streams the rest, reporting whether
// the hub holds more than when it was asked.
func (u *uploader) send(ctx context.Context) (bool, error) {
	st, err := u.c.hub.StartUpload(ctx, &hubv1.StartUploadRequest{UploadId: u.id})
	if err != nil {
		return false, err
	}
	have := st.GetReceived()
	if len(have) != len(u.dir.Files) {
		return false, fmt.Errorf("the hub holds %d files of session %s, the directory has %d", len(have), u.id, len(u.dir.Files))
	}
	var held, total int64
	for i, e := range u.dir.Files {
		held += int64(have[i])
		total += e.File.Size
	}
	u.progress(held, total)
	if held == total {
		return false, nil
	}
	stream, err := u.c.hub.UploadChunks(ctx)
	if err != nil {
		return false, err
	}
	sent := held
	for i, e := range u.dir.Files {
		if int64(have[i]) == e.File.Size {
			continue
		}
		path := filepath.Join(u.dir.Path, filepath.FromSlash(e.Path))
		err := u.sendFile(path, i, int64(have[i]), func(c *hubv1.Chunk) error {
			if err := stream.Send(&hubv1.UploadChunksRequest{UploadId: u.id, Chunk: c}); err != nil {
				return err
			}
			sent += int64(len(c.Data))
			u.progress(sent, total)
			return nil
		})
		if err == io.EOF { // the hub ended the stream: its reason comes with the close
			break
		}
		if err != nil {
			stream.CloseSend()
			return sent > held, err
		}
	}
	_, err = stream.CloseAndRecv()
	return sent > held, err
}

func (u *uploader) progress(sent, total int64) {
	if u.opts.Progress != nil {
		u.opts.Progress(sent, total)
	}
}

// sendFile sends a file's bytes from off in chunks.
func (u *uploader) sendFile(path string, index int, off int64, send func(*hubv1.Chunk) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	for {
		// A fresh buffer per message: gRPC may hold a sent message.
		buf := make([]byte, u.opts.ChunkSize)
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			if err := send(&hubv1.Chunk{FileIndex: uint32(index), Offset: uint64(off), Data: buf[:n]}); err != nil {
				return err
			}
			off += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
