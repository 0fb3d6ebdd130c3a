package hub

import (
	"github.com/potluck-hub/potluck"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// This file converts the hub's own request types from hubv1 messages;
// the shared vocabulary (releases, receipts, verdicts, jobs) converts in
// internal/wire, used by the hub and the node alike.

func uploadFromProto(kind potluck.Kind, h *hubv1.UploadHeader) Upload {
	up := Upload{Kind: kind, Bundle: h.GetBundle(), Base: h.GetBaseCid()}
	for _, f := range h.GetFiles() {
		uf := UploadFile{Path: f.GetPath(), Size: int64(f.GetSize()), CID: f.GetCid()}
		if len(f.GetSha256()) == 32 && f.GetSize() <= 1<<62 {
			copy(uf.SHA256[:], f.GetSha256())
		} else {
			uf.Size = -1 // refused by the header check, naming the file
		}
		up.Files = append(up.Files, uf)
	}
	return up
}

func receivedToProto(r []int64) []uint64 {
	out := make([]uint64, len(r))
	for i, n := range r {
		out[i] = uint64(n)
	}
	return out
}
