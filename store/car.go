package store

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ipfs/boxo/ipld/merkledag"
	cid "github.com/ipfs/go-cid"
	car "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
)

// ExportCAR writes the DAG under root as a CARv1 with root as its only root,
// blocks in depth-first order, each block once: the order `ipfs dag export`
// and the trustless gateway use, so a file's leaves come in file order.
// Every block is re-hashed as it is read (Store.Block): altered bytes stop
// the export with ErrCorrupt rather than reach the CAR.
func (s *Store) ExportCAR(ctx context.Context, w io.Writer, root cid.Cid) error {
	// Hide any Seek: go-car would try to seek a pipe that an *os.File
	// stdout only pretends to be able to seek.
	out, err := storage.NewWritable(struct{ io.Writer }{w}, []cid.Cid{root}, car.WriteAsCarV1(true))
	if err != nil {
		return fmt.Errorf("store: car export %s: %w", root, err)
	}
	seen := map[cid.Cid]bool{}
	var walk func(c cid.Cid) error
	walk = func(c cid.Cid) error {
		if seen[c] {
			return nil
		}
		seen[c] = true
		blk, err := s.Block(ctx, c)
		if err != nil {
			return err
		}
		if err := out.Put(ctx, c.KeyString(), blk.RawData()); err != nil {
			return err
		}
		if c.Type() != cid.DagProtobuf {
			return nil
		}
		nd, err := merkledag.DecodeProtobuf(blk.RawData())
		if err != nil {
			return fmt.Errorf("%w: node %s: %v", ErrCorrupt, c, err)
		}
		for _, l := range nd.Links() {
			if err := walk(l.Cid); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return fmt.Errorf("store: car export %s: %w", root, err)
	}
	return out.Finalize()
}

// ImportCAR reads a CAR (v1 or v2), checks every block against its CID, and
// stores each root it names: a UnixFS file or directory tree laid out as
// kubo lays it out by default (256 KiB chunks, raw leaves, balanced). The
// blocks are spooled to local disk first, so any block order will do and
// memory holds only their index; each file is then re-imported from its
// leaves, and its CID must come out as the root's. Roots are pinned.
func (s *Store) ImportCAR(ctx context.Context, r io.Reader) ([]cid.Cid, error) {
	br, err := car.NewBlockReader(r, car.WithTrustedCAR(true))
	if err != nil {
		return nil, fmt.Errorf("%w: car: %v", ErrInvalid, err)
	}
	sp, err := newSpool(s)
	if err != nil {
		return nil, err
	}
	defer sp.close()
	for {
		blk, err := br.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: car: %v", ErrInvalid, err)
		}
		sum, err := blk.Cid().Prefix().Sum(blk.RawData())
		if err != nil || !sum.Equals(blk.Cid()) {
			return nil, fmt.Errorf("%w: car block %s hashes to %s", ErrCorrupt, blk.Cid(), sum)
		}
		if err := sp.put(blk.Cid(), blk.RawData()); err != nil {
			return nil, err
		}
	}
	for _, root := range br.Roots {
		if err := sp.store(ctx, root); err != nil {
			return nil, fmt.Errorf("store: car import %s: %w", root, err)
		}
		if err := s.Pin(ctx, root); err != nil {
			return nil, err
		}
	}
	return br.Roots, nil
}
