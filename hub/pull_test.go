package hub_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
)

// Pull hashes each file as its bytes arrive: what it writes must be the
// release's bytes, and bytes the hub serves wrong (a stored file altered
// on the hub's disk, same size) must be refused, naming the file, with no
// directory (nor a partial one) left behind.
func TestPullChecksBytesAsTheyArrive(t *testing.T) {
	t.Run("Intact", func(t *testing.T) {
		hs := newHarness(t)
		m, base := hs.registeredBase(t)
		out := filepath.Join(t.TempDir(), "pulled")
		if _, err := hs.client.Pull(context.Background(), base.CID, out, []*signing.PublicKey{hs.pubA}, nil); err != nil {
			t.Fatal(err)
		}
		for _, f := range base.Files {
			want, err := os.ReadFile(filepath.Join(m.base, f.Path))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(out, f.Path))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("pulled %s: %d bytes differ from the %d registered", f.Path, len(got), len(want))
			}
		}
	})
	t.Run("AlteredOnTheHub", func(t *testing.T) {
		hs := newHarness(t)
		_, base := hs.registeredBase(t)
		var big string
		var size int64
		for _, f := range base.Files {
			if f.Size > size {
				big, size = f.CID, f.Size
			}
		}
		stored := storedObject(t, hs.data, big)
		b, err := os.ReadFile(stored)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 1
		if err := os.WriteFile(stored, b, 0o644); err != nil {
			t.Fatal(err)
		}
		parent := t.TempDir()
		out := filepath.Join(parent, "pulled")
		_, err = hs.client.Pull(context.Background(), base.CID, out, []*signing.PublicKey{hs.pubA}, nil)
		if !errors.Is(err, node.ErrVerify) || !strings.Contains(err.Error(), big) {
			t.Fatalf("pull of a release whose file %s the hub serves altered: %v; want ErrVerify naming its CID", big, err)
		}
		if left := dirNames(t, parent); len(left) != 0 {
			t.Errorf("a refused pull left %v in %s", left, parent)
		}
	})
}

// storedObject finds the file under the hub's data folder that holds the
// stored file cid (files/<cid>; nodes/<cid> holds its DAG).
func storedObject(t *testing.T, data, cid string) string {
	t.Helper()
	var found string
	filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == cid && filepath.Base(filepath.Dir(p)) == "files" {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no stored object named %s under %s", cid, data)
	}
	return found
}
