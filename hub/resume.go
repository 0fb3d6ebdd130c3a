package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/potluck-hub/potluck"
)

// UploadStatus is where an upload session stands.
type UploadStatus struct {
	ID       string
	Received []int64 // bytes held of each declared file
	Expires  time.Time
}

// StartUpload opens a resumable upload session after the checks that need
// no bytes (header, signature, caller, base): a refusal here is judged and
// logged as a commit's would be. The session is bound to the caller's org.
func (h *Hub) StartUpload(ctx context.Context, up Upload) (UploadStatus, error) {
	if err := h.admitBeforeBytes(ctx, up); err != nil {
		return UploadStatus{}, err
	}
	caller := ""
	if c := CallerFrom(ctx); c != nil {
		caller = c.Org
	}
	s, err := h.uploads.create(up, caller)
	if err != nil {
		return UploadStatus{}, err
	}
	h.logger.Info("upload session opened", "id", s.id, "kind", up.Kind, "files", len(up.Files), "org", caller)
	return h.uploadStatus(s)
}

// UploadStatus says how many bytes of each file an open session holds.
func (h *Hub) UploadStatus(ctx context.Context, id string) (UploadStatus, error) {
	s, err := h.session(ctx, id)
	if err != nil {
		return UploadStatus{}, err
	}
	return h.uploadStatus(s)
}

func (h *Hub) uploadStatus(s *session) (UploadStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return UploadStatus{}, fmt.Errorf("%w: upload session %s (expired or refused)", ErrNotFound, s.id)
	}
	return UploadStatus{ID: s.id, Received: append([]int64(nil), s.state.Received...), Expires: s.state.Touched.Add(h.uploads.ttl)}, nil
}

// session finds an open session the caller may use: one opened by its org
// (or by a caller with no token, when tokens are optional).
func (h *Hub) session(ctx context.Context, id string) (*session, error) {
	s, err := h.uploads.get(id)
	if err != nil {
		return nil, err
	}
	if s.meta.Caller != "" {
		if c := CallerFrom(ctx); c == nil || c.Org != s.meta.Caller {
			return nil, fmt.Errorf("%w: upload session %s belongs to %q", ErrForbidden, id, s.meta.Caller)
		}
	}
	return s, nil
}

// WriteUpload stores the chunks src yields into session id until io.EOF,
// then checkpoints what it holds. Memory stays at one chunk: each is
// written to the session's part file before the next is read.
func (h *Hub) WriteUpload(ctx context.Context, id string, src ChunkSource) (UploadStatus, error) {
	s, err := h.session(ctx, id)
	if err != nil {
		return UploadStatus{}, err
	}
	for err == nil {
		var c Chunk
		if c, err = src.Next(); err == nil {
			if err = s.write(c, h.opts.Now()); err == nil {
				h.metrics.uploadBytes.Add(float64(len(c.Data)))
			}
		}
	}
	if perr := s.pause(h.opts.Now()); perr != nil {
		return UploadStatus{}, errors.Join(err, perr)
	}
	if err != io.EOF {
		return UploadStatus{}, err
	}
	return h.uploadStatus(s)
}

// CommitUpload admits a complete session: every check, and nothing visible
// unless all pass. A refused session is dropped; one that failed for
// another reason (the hub stopping) stays, to be committed again.
// Committing a committed session returns its release.
func (h *Hub) CommitUpload(ctx context.Context, id string) (*potluck.Release, error) {
	s, err := h.session(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return nil, fmt.Errorf("%w: upload session %s", ErrNotFound, id)
	}
	if s.state.Release != "" {
		return h.releases.get(s.state.Release)
	}
	for i, f := range s.meta.Files {
		if n := s.state.Received[i]; n != f.Size {
			return nil, fmt.Errorf("%w: file %q has %d of its %d bytes", ErrIncomplete, f.Path, n, f.Size)
		}
	}
	if err := s.checkpoint(h.opts.Now()); err != nil {
		return nil, err
	}
	s.closeParts()
	up := Upload{Kind: s.meta.Kind, Files: s.meta.Files, Bundle: s.meta.Bundle, Base: s.meta.Base}
	r, err := h.admit(ctx, up, s)
	if judged(err) {
		h.uploads.drop(s)
	}
	if err != nil {
		return nil, err
	}
	s.state.Release = r.CID
	if err := s.checkpoint(h.opts.Now()); err != nil {
		h.logger.Warn("recording a committed upload session", "id", id, "error", err)
	}
	for i := range s.meta.Files {
		os.Remove(s.part(i))
	}
	return r, nil
}
