package hub_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/store"
)

// A damaged release record hides nothing else: the hub serves the other
// releases, names the damaged one, and rebuilds it at start from its log
// entry and its files in the store; publishing the same signed bytes
// again (the same bundle) restores its signature bundle.

// damagedHub is a hub holding a base and a delta on it (made in dir).
func damagedHub(t *testing.T) (*harness, *potluck.Release, *potluck.Release, string) {
	hs := newHarness(t)
	_, base, delta, _ := hs.baseAndDelta(t)
	return hs, base, delta, filepath.Join(hs.dir, "da")
}

// truncateRecord cuts release c's record in half.
func (hs *harness) truncateRecord(c string) {
	p := filepath.Join(hs.data, "releases", c+".json")
	b, err := os.ReadFile(p)
	if err != nil {
		hs.t.Fatal(err)
	}
	if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
		hs.t.Fatal(err)
	}
}

func TestDamagedReleaseRecord(t *testing.T) {
	t.Run("WhileServing", func(t *testing.T) {
		hs, base, delta, _ := damagedHub(t)
		hs.truncateRecord(delta.CID)
		if got := hs.mustList(); !slices.Equal(got, []string{base.CID}) {
			t.Errorf("listed %v, want the base %s alone", got, base.CID)
		}
		_, err := hs.client.Release(context.Background(), delta.CID)
		st := grpcStatus(t, err)
		want := "release record " + delta.CID + " cannot be read"
		if st.Code() != codes.DataLoss || !strings.Contains(st.Message(), want) ||
			!strings.Contains(st.Message(), "the hub rebuilds it from its store and log when it next starts") {
			t.Errorf("get: %v %q; want DataLoss saying %q and how it is rebuilt", st.Code(), st.Message(), want)
		}
	})
	t.Run("RebuiltAtStart", func(t *testing.T) {
		hs, base, delta, dir := damagedHub(t)
		hs.stop()
		hs.truncateRecord(delta.CID)
		hs.start()
		if got, want := hs.mustList(), sortedOf(base.CID, delta.CID); !slices.Equal(got, want) {
			t.Fatalf("listed %v, want %v", got, want)
		}
		got, err := hs.client.Release(context.Background(), delta.CID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Files, delta.Files) || got.Base != base.CID || got.Publisher != orgA ||
			got.KeyHint != delta.KeyHint || !got.Created.Equal(delta.Created) || got.Receipt.Index != delta.Receipt.Index {
			t.Errorf("rebuilt %+v\nwant %+v", got, delta)
		}
		if len(got.Bundle) != 0 {
			t.Errorf("rebuilt with a bundle of %d bytes; the log holds only its digest", len(got.Bundle))
		}
		if _, err := os.Stat(filepath.Join(hs.data, "damaged", delta.CID+".json")); err != nil {
			t.Errorf("the damaged record is not kept: %v", err)
		}
		hs.checkLedger()
		scan, err := store.ScanDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		again, err := hs.client.Publish(context.Background(), scan, delta.Bundle, base.CID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bundle, delta.Bundle) {
			t.Errorf("publishing again gives a bundle of %d bytes, want the first one (%d bytes)", len(again.Bundle), len(delta.Bundle))
		}
	})
	t.Run("NotLogged", func(t *testing.T) {
		hs, base, delta, _ := damagedHub(t)
		hs.stop()
		// A record no log entry names (copied in by hand, say): nothing to
		// rebuild it from; the hub starts, serves the others and names it.
		stray := base.CID[:len(base.CID)-4] + "aaaa"
		if err := os.WriteFile(filepath.Join(hs.data, "releases", stray+".json"), []byte(`{"cid":`), 0o644); err != nil {
			t.Fatal(err)
		}
		hs.start()
		if got, want := hs.mustList(), sortedOf(base.CID, delta.CID); !slices.Equal(got, want) {
			t.Errorf("listed %v, want %v", got, want)
		}
	})
}

func sortedOf(cids ...string) []string {
	slices.Sort(cids)
	return cids
}
