package store

import (
	"context"
	"errors"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	cid "github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	ipld "github.com/ipfs/go-ipld-format"
)

// Blockstore is the store seen as a read-only boxo blockstore, for the IPFS
// gateway and anything else that speaks blocks. Every block it returns was
// re-hashed against its CID (Store.Block); writes are refused, since the
// store takes files, not loose blocks.
type Blockstore struct{ s *Store }

// Blockstore returns the store as a read-only block store.
func (s *Store) Blockstore() *Blockstore { return &Blockstore{s: s} }

// ErrReadOnly reports a write through the read-only Blockstore.
var ErrReadOnly = errors.New("store: the block view is read-only; add files with Store.Add")

// Get returns a block, checked. Absent blocks are ipld.ErrNotFound, which
// boxo's gateway turns into 404.
func (b *Blockstore) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	blk, err := b.s.Block(ctx, c)
	if errors.Is(err, ErrNotFound) {
		return nil, ipld.ErrNotFound{Cid: c}
	}
	return blk, err
}

// Has reports whether the index knows the block (or the backend the file
// or tree it roots), without reading it.
func (b *Blockstore) Has(ctx context.Context, c cid.Cid) (bool, error) {
	_, err := b.GetSize(ctx, c)
	if ipld.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// GetSize returns a block's size from the index.
func (b *Blockstore) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	n, err := b.s.blockSize(ctx, c)
	if errors.Is(err, ds.ErrNotFound) && b.s.load(ctx, c) == nil {
		n, err = b.s.blockSize(ctx, c)
	}
	if errors.Is(err, ds.ErrNotFound) {
		return 0, ipld.ErrNotFound{Cid: c}
	}
	return n, err
}

func (s *Store) blockSize(ctx context.Context, c cid.Cid) (int, error) {
	n, err := s.db.GetSize(ctx, nodeKey(c))
	if !errors.Is(err, ds.ErrNotFound) {
		return n, err
	}
	entry, err := s.db.Get(ctx, leafKey(c))
	if err != nil {
		return 0, err
	}
	_, _, size, err := decodeLeaf(entry)
	if err != nil {
		return 0, fmt.Errorf("%w: leaf index of %s: %v", ErrCorrupt, c, err)
	}
	return int(size), nil
}

// Put refuses: see ErrReadOnly.
func (b *Blockstore) Put(context.Context, blocks.Block) error { return ErrReadOnly }

// PutMany refuses: see ErrReadOnly.
func (b *Blockstore) PutMany(context.Context, []blocks.Block) error { return ErrReadOnly }

// DeleteBlock refuses: files go by Unpin and GC.
func (b *Blockstore) DeleteBlock(context.Context, cid.Cid) error { return ErrReadOnly }

// AllKeysChan lists no keys: the gateway never enumerates, and a hub's
// blocks are not for listing one by one.
func (b *Blockstore) AllKeysChan(context.Context) (<-chan cid.Cid, error) {
	ch := make(chan cid.Cid)
	close(ch)
	return ch, nil
}
