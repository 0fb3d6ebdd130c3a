package hub

import (
	"context"
	"fmt"
)

// ResumeUpload is UploadStatus for a client resuming session id with the
// upload it means to send: a session that holds another upload (other
// files, another kind or base) is refused, so that resuming with another
// upload's id cannot commit that one in its place.
func (h *Hub) ResumeUpload(ctx context.Context, id string, up Upload) (UploadStatus, error) {
	s, err := h.session(ctx, id)
	if err != nil {
		return UploadStatus{}, err
	}
	if why := sessionDiffers(s.meta, up); why != "" {
		return UploadStatus{}, fmt.Errorf("%w: upload session %s is another upload: %s; run again without --resume to start a new session", ErrBadRequest, id, why)
	}
	return h.uploadStatus(s)
}

// sessionDiffers says how up differs from what the session was opened
// with, or "".
func sessionDiffers(m sessionMeta, up Upload) string {
	switch {
	case up.Kind != m.Kind:
		return fmt.Sprintf("it is a %s, this is a %s", m.Kind, up.Kind)
	case up.Base != m.Base:
		return fmt.Sprintf("its base is %q, this one's %q", m.Base, up.Base)
	case len(up.Files) != len(m.Files):
		return fmt.Sprintf("it holds %d files, this directory has %d", len(m.Files), len(up.Files))
	}
	for i, f := range up.Files {
		g := m.Files[i]
		if f.Path != g.Path || f.Size != g.Size || f.SHA256 != g.SHA256 {
			return fmt.Sprintf("its file %d is %s (%d bytes, sha256 %x), this directory's is %s (%d bytes, sha256 %x)", i, g.Path, g.Size, g.SHA256[:4], f.Path, f.Size, f.SHA256[:4])
		}
	}
	return ""
}
