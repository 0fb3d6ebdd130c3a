package node

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// ChunkSize is the data carried by each upload message (the hub's limit).
const ChunkSize = 4 << 20

// Progress is told how many bytes of how many have been sent; nil is quiet.
type Progress func(sent, total int64)

// RegisterBase uploads a scanned base model directory with its signature
// bundle (Dir.Bundle) and returns the release the hub recorded.
func (c *Client) RegisterBase(ctx context.Context, dir *potluck.Dir, bundle []byte, progress Progress) (*hubv1.Release, error) {
	stream, err := c.hub.RegisterBase(ctx)
	if err != nil {
		return nil, err
	}
	send := func(h *hubv1.UploadHeader, ch *hubv1.Chunk) error {
		if h != nil {
			return stream.Send(&hubv1.RegisterBaseRequest{Msg: &hubv1.RegisterBaseRequest_Header{Header: h}})
		}
		return stream.Send(&hubv1.RegisterBaseRequest{Msg: &hubv1.RegisterBaseRequest_Chunk{Chunk: ch}})
	}
	if err := upload(dir, bundle, "", send, progress); err != nil {
		return nil, finishErr(stream.CloseAndRecv, err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, fmt.Errorf("node: register base %s: %w", dir.Path, err)
	}
	return resp.GetRelease(), nil
}

// Publish uploads a scanned delta directory made by MakeDelta, with its
// signature bundle, as a delta of baseCID.
func (c *Client) Publish(ctx context.Context, dir *potluck.Dir, bundle []byte, baseCID string, progress Progress) (*hubv1.Release, error) {
	stream, err := c.hub.Publish(ctx)
	if err != nil {
		return nil, err
	}
	send := func(h *hubv1.UploadHeader, ch *hubv1.Chunk) error {
		if h != nil {
			return stream.Send(&hubv1.PublishRequest{Msg: &hubv1.PublishRequest_Header{Header: h}})
		}
		return stream.Send(&hubv1.PublishRequest{Msg: &hubv1.PublishRequest_Chunk{Chunk: ch}})
	}
	if err := upload(dir, bundle, baseCID, send, progress); err != nil {
		return nil, finishErr(stream.CloseAndRecv, err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, fmt.Errorf("node: publish %s: %w", dir.Path, err)
	}
	return resp.GetRelease(), nil
}

// finishErr: when Send fails because the hub refused the upload, the hub's
// reason comes from CloseAndRecv; report that rather than a bare EOF.
func finishErr[T any](closeAndRecv func() (T, error), err error) error {
	if err == io.EOF {
		if _, herr := closeAndRecv(); herr != nil {
			return fmt.Errorf("node: upload refused: %w", herr)
		}
	}
	return fmt.Errorf("node: upload: %w", err)
}

// upload sends the header (files, bundle) and then every file's bytes.
// model.sig is never uploaded as a file: the bundle travels in the header.
func upload(d *potluck.Dir, bundle []byte, baseCID string, send func(*hubv1.UploadHeader, *hubv1.Chunk) error, progress Progress) error {
	header := &hubv1.UploadHeader{Bundle: bundle, BaseCid: baseCID}
	for _, e := range d.Files {
		header.Files = append(header.Files, &hubv1.FileEntry{Path: e.Path, Size: uint64(e.File.Size), Sha256: e.File.SHA256[:], Cid: e.File.CID.String()})
	}
	if err := send(header, nil); err != nil {
		return err
	}
	var sent int64
	total := d.Size()
	for i, e := range d.Files {
		n, err := sendFile(filepath.Join(d.Path, filepath.FromSlash(e.Path)), uint32(i), send, func(n int64) {
			if progress != nil {
				progress(sent+n, total)
			}
		})
		if err != nil {
			return err
		}
		sent += n
	}
	return nil
}

func sendFile(path string, index uint32, send func(*hubv1.UploadHeader, *hubv1.Chunk) error, progress func(int64)) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var off int64
	for {
		// A fresh buffer per message: gRPC may hold a sent message.
		buf := make([]byte, ChunkSize)
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			if err := send(nil, &hubv1.Chunk{FileIndex: index, Offset: uint64(off), Data: buf[:n]}); err != nil {
				return off, err
			}
			off += int64(n)
			progress(off)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
}
