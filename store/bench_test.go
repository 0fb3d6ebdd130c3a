package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"

	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"

	"github.com/potluck-hub/potluck/internal/testgen"
)

// BenchmarkHashFile measures CID + SHA-256 of 64 MiB in memory: the hashing
// cost of an import, with no disk.
func BenchmarkHashFile(b *testing.B) {
	content := testgen.Bytes(21, 64<<20)
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		if _, err := HashFile(bytes.NewReader(content)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddCommit measures a whole import of 64 MiB into a local store:
// staging file, sidecar, commit.
func BenchmarkAddCommit(b *testing.B) {
	content := testgen.Bytes(22, 64<<20)
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(int64(len(content)))
	i := 0
	for b.Loop() {
		content[0] = byte(i) // a new file each time
		i++
		st, err := s.Add(bytes.NewReader(content))
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Commit(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashFileSerial is the same 64 MiB through boxo's stock importer
// (one goroutine hashes every chunk, as kubo's `ipfs add` does, plus the
// file's SHA-256 in the same goroutine), for comparison with HashFile's
// parallel pipeline. The CIDs must agree.
func BenchmarkHashFileSerial(b *testing.B) {
	content := testgen.Bytes(21, 64<<20)
	want, err := HashFile(bytes.NewReader(content))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		h := sha256.New()
		params := helpers.DagBuilderParams{
			RawLeaves: true, CidBuilder: merkledag.V1CidPrefix(),
			Maxlinks: helpers.DefaultLinksPerBlock, Dagserv: &sinkDAG{sink: discard{}},
		}
		db, err := params.New(chunker.NewSizeSplitter(io.TeeReader(bytes.NewReader(content), h), ChunkSize))
		if err != nil {
			b.Fatal(err)
		}
		root, err := balanced.Layout(db)
		if err != nil || !root.Cid().Equals(want.CID) {
			b.Fatalf("stock importer: %v, CID %s, pipeline %s", err, root.Cid(), want.CID)
		}
	}
}
