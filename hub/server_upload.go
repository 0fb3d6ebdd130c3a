package hub

import (
	"context"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// StartUpload opens a resumable upload session, or says where one stands.
func (s *Server) StartUpload(ctx context.Context, req *hubv1.StartUploadRequest) (*hubv1.StartUploadResponse, error) {
	var st UploadStatus
	var err error
	if id := req.GetUploadId(); id != "" && req.GetHeader() != nil {
		st, err = s.h.ResumeUpload(ctx, id, uploadFromProto(wire.KindOf(req.GetKind()), req.GetHeader()))
	} else if id != "" {
		st, err = s.h.UploadStatus(ctx, id)
	} else {
		if req.GetHeader() == nil {
			return nil, status.Error(codes.InvalidArgument, "start upload: a header or an upload id is needed")
		}
		kind := wire.KindOf(req.GetKind())
		st, err = s.h.StartUpload(ctx, uploadFromProto(kind, req.GetHeader()))
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.StartUploadResponse{UploadId: st.ID, Received: receivedToProto(st.Received), ExpiresUnix: st.Expires.Unix()}, nil
}

// UploadChunks writes a stream of chunks into a session.
func (s *Server) UploadChunks(stream hubv1.HubService_UploadChunksServer) error {
	first, err := stream.Recv()
	if err == io.EOF {
		return status.Error(codes.InvalidArgument, "upload chunks: the stream is empty")
	}
	if err != nil {
		return err
	}
	src := &sessionSource{id: first.GetUploadId(), first: first, recv: stream.Recv}
	st, err := s.h.WriteUpload(stream.Context(), src.id, src)
	if err != nil {
		return toStatus(err)
	}
	return stream.SendAndClose(&hubv1.UploadChunksResponse{Received: receivedToProto(st.Received)})
}

// CommitUpload admits a complete session.
func (s *Server) CommitUpload(ctx context.Context, req *hubv1.CommitUploadRequest) (*hubv1.CommitUploadResponse, error) {
	r, err := s.h.CommitUpload(ctx, req.GetUploadId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.CommitUploadResponse{Release: wire.Release(r)}, nil
}

// sessionSource turns UploadChunks messages into chunks, refusing any that
// name another session than the stream's first.
type sessionSource struct {
	id    string
	first *hubv1.UploadChunksRequest
	recv  func() (*hubv1.UploadChunksRequest, error)
}

func (s *sessionSource) Next() (Chunk, error) {
	m := s.first
	s.first = nil
	if m == nil {
		var err error
		if m, err = s.recv(); err != nil {
			return Chunk{}, err
		}
	}
	c := m.GetChunk()
	if m.GetUploadId() != s.id || c == nil {
		return Chunk{}, status.Error(codes.InvalidArgument, "upload chunks: every message must carry a chunk of the stream's session")
	}
	return Chunk{File: int(c.GetFileIndex()), Offset: int64(c.GetOffset()), Data: c.GetData()}, nil
}

// uploadFromProto converts an upload header; the shared vocabulary
// (releases, receipts, verdicts, jobs) converts in internal/wire.
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
