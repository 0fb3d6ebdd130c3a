package storetest

import (
	"context"
	"io"
	"testing"

	"github.com/ipfs/go-test/random"

	"github.com/potluck-hub/potluck/store"
)

// kuboVectors are the CIDs kubo's own tests expect from `ipfs add
// --cid-version=1` of the bytes github.com/ipfs/go-test/cli/random-data
// v0.4.1 writes for these seeds and sizes.
var kuboVectors = []struct {
	seed string
	size int64
	cid  string
}{
	{"41", 5 << 20, "bafybeihy7ngsovmm2dqanlpjeddvs7kshb4bdwrue3pe5nsf6rkn3hg45y"},
	{"42", 100 << 20, "bafybeidwwhjvrpu2j34ppvr2swm2u55ljcuhqzm7s5xd7rlsvlu7ny2rry"},
}

// KuboData returns the bytes `random-data -seed SEED -size SIZE` writes.
func KuboData(seed string, size int64) io.Reader {
	return io.LimitReader(random.NewSeeded(random.StringToSeed(seed)), size)
}

func testKuboVectors(t *testing.T, h Harness) {
	ctx := context.Background()
	s := Open(t, h.New(t))
	for _, v := range kuboVectors {
		info := AddCommit(t, s, KuboData(v.seed, v.size))
		if info.CID.String() != v.cid || info.Size != v.size {
			t.Errorf("seed %s, %d bytes: CID %s (%d bytes), kubo gives %s", v.seed, v.size, info.CID, info.Size, v.cid)
			continue
		}
		vf, err := s.OpenVerified(ctx, info.CID)
		if err != nil {
			t.Fatal(err)
		}
		// Read the last chunk back through the CID check.
		buf := make([]byte, store.ChunkSize)
		if _, err := vf.ReadAt(buf, v.size-store.ChunkSize); err != nil {
			t.Errorf("seed %s: reading the last chunk back: %v", v.seed, err)
		}
		vf.Close()
	}
}
