package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	cid "github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// ChunkSize is the size of every raw leaf but the last: kubo's default
// fixed-size chunker.
const ChunkSize = 262144

// FileInfo describes a file imported as UnixFS.
type FileInfo struct {
	CID    cid.Cid
	Size   int64    // bytes of content
	TSize  uint64   // cumulative size of the file's DAG, as a directory link records it
	SHA256 [32]byte // digest of the content, for manifests and signatures
}

// blockSink receives the blocks of an import in the order the importer makes
// them: raw leaves in file order, interior nodes after their children.
type blockSink interface {
	leaf(c cid.Cid, size int) error
	node(n ipld.Node) error
}

// discard keeps nothing: it serves HashFile and HashDir.
type discard struct{}

func (discard) leaf(cid.Cid, int) error { return nil }
func (discard) node(ipld.Node) error    { return nil }

// HashFile returns the CID `ipfs add --cid-version=1` gives the bytes of r,
// storing nothing. It reads r once, in 256 KiB pieces.
func HashFile(r io.Reader) (FileInfo, error) {
	return importFile(r, discard{}, nil)
}

// importFile chunks r and builds kubo's balanced DAG, handing each block to
// sink and, if data is not nil, writing the bytes to data (stagefile.go)
// while the next chunks are hashed (see pipeline).
func importFile(r io.Reader, sink blockSink, data *os.File) (FileInfo, error) {
	p := newPipeline(r)
	defer p.close()
	var sw *stageWriter
	if data != nil {
		sw = newStageWriter(data, p.free)
		p.spent = sw.put
	}
	info, err := layout(p, sink)
	if sw != nil {
		p.flush()
		err = errors.Join(err, sw.finish())
	}
	if err != nil {
		return FileInfo{}, fmt.Errorf("store: import: %w", err)
	}
	return info, nil
}

// layout builds the DAG over the pipeline's chunks.
func layout(p *pipeline, sink blockSink) (FileInfo, error) {
	root, tsize, err := buildDAG(p, p, sink)
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{CID: root, Size: p.n, TSize: tsize, SHA256: p.digest()}, nil
}

// buildDAG runs boxo's balanced layout over the chunks split hands out,
// taking their leaves' CIDs from leaves, and returns the root's CID and the
// DAG's cumulative size.
func buildDAG(split chunker.Splitter, leaves leafFinder, sink blockSink) (cid.Cid, uint64, error) {
	params := helpers.DagBuilderParams{
		RawLeaves:  true,
		CidBuilder: hashedBuilder{prefix: merkledag.V1CidPrefix(), p: leaves},
		Maxlinks:   helpers.DefaultLinksPerBlock,
		Dagserv:    &sinkDAG{sink: sink},
	}
	db, err := params.New(split)
	if err != nil {
		return cid.Undef, 0, err
	}
	root, err := balanced.Layout(db)
	if err != nil {
		return cid.Undef, 0, err
	}
	tsize, err := root.Size()
	if err != nil {
		return cid.Undef, 0, err
	}
	return root.Cid(), tsize, nil
}

// sinkDAG adapts a blockSink to the ipld.DAGService the importer writes to.
// The importer only adds; reads are never asked of it.
type sinkDAG struct{ sink blockSink }

var errWriteOnly = errors.New("store: import sink is write-only")

func (d *sinkDAG) Add(_ context.Context, n ipld.Node) error {
	if raw, ok := n.(*merkledag.RawNode); ok {
		return d.sink.leaf(raw.Cid(), len(raw.RawData()))
	}
	return d.sink.node(n)
}

func (d *sinkDAG) AddMany(ctx context.Context, ns []ipld.Node) error {
	for _, n := range ns {
		if err := d.Add(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (d *sinkDAG) Get(context.Context, cid.Cid) (ipld.Node, error) { return nil, errWriteOnly }

func (d *sinkDAG) GetMany(context.Context, []cid.Cid) <-chan *ipld.NodeOption {
	ch := make(chan *ipld.NodeOption, 1)
	ch <- &ipld.NodeOption{Err: errWriteOnly}
	close(ch)
	return ch
}

func (d *sinkDAG) Remove(context.Context, cid.Cid) error       { return nil }
func (d *sinkDAG) RemoveMany(context.Context, []cid.Cid) error { return nil }
