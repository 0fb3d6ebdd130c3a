package merge

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

// writeShard writes one safetensors file at dir/rel with the given tensors,
// fill writing tensor i's bytes to w in order, and returns the tensors as a
// manifest records them (absolute byte ranges and SHA-256 of each).
// hashed, when not nil, is told the whole file's hashes, taken as it was
// written.
func writeShard(ctx context.Context, dir, rel string, specs []safetensors.TensorSpec, metadata map[string]string,
	hashed func(rel string, info store.FileInfo), fill func(i int, dt safetensors.DType, w io.Writer) error) (_ []potluck.Tensor, err error) {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	defer f.Close()
	var file io.Writer = f
	if hashed != nil {
		h := store.NewHashWriter()
		defer func() {
			if err != nil {
				h.Abandon()
				return
			}
			var info store.FileInfo
			if info, err = h.Sum(); err != nil {
				err = fmt.Errorf("merge: shard %s: hashing: %w", rel, err)
				return
			}
			hashed(rel, info)
		}()
		file = io.MultiWriter(f, h)
	}
	bw := bufio.NewWriterSize(file, 1<<20)
	hw := &hashingWriter{w: bw, tensor: sha256.New()}
	w, err := safetensors.NewWriter(hw, specs, metadata)
	if err != nil {
		return nil, fmt.Errorf("merge: shard %s: %w", rel, err)
	}
	infos := w.Tensors()
	out := make([]potluck.Tensor, len(infos))
	for i, info := range infos {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hw.tensor.Reset()
		if err := fill(i, info.DType, w); err != nil {
			return nil, err
		}
		var sum [32]byte
		copy(sum[:], hw.tensor.Sum(nil))
		out[i] = potluck.Tensor{
			Name: info.Name, DType: string(info.DType), Shape: info.Shape, File: rel,
			Offset: info.Start, Length: info.Size(), SHA256: potluck.HexDigest(sum), Encoding: "dense",
		}
	}
	if err := errors.Join(w.Close(), bw.Flush(), f.Sync()); err != nil {
		return nil, fmt.Errorf("merge: shard %s: %w", rel, err)
	}
	return out, nil
}

// hashingWriter hashes the current tensor's bytes as they pass.
type hashingWriter struct {
	w      io.Writer
	tensor hash.Hash
}

func (h *hashingWriter) Write(p []byte) (int, error) {
	h.tensor.Write(p)
	return h.w.Write(p)
}
