package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/store"
)

func testCAR(t *testing.T, h Harness) {
	ctx := context.Background()
	src := Open(t, h.New(t))
	big := testgen.Bytes(22, 5*chunk+11)
	fa := AddCommit(t, src, bytes.NewReader(big))
	fb := AddCommit(t, src, bytes.NewReader([]byte("{\"a\":1}\n")))
	root, err := src.PutDir(ctx, []store.Entry{{Path: "model.bin", File: fa}, {Path: "cfg/config.json", File: fb}, {Path: "empty", Dir: true}})
	if err != nil {
		t.Fatal(err)
	}
	var car bytes.Buffer
	if err := src.ExportCAR(ctx, &car, root); err != nil {
		t.Fatal(err)
	}
	dst := Open(t, h.New(t))
	roots, err := dst.ImportCAR(ctx, bytes.NewReader(car.Bytes()))
	if err != nil || len(roots) != 1 || !roots[0].Equals(root) {
		t.Fatalf("import: %v %v", roots, err)
	}
	c, err := dst.Resolve(ctx, root, "model.bin")
	if err != nil || !c.Equals(fa.CID) {
		t.Fatalf("resolve in the imported tree: %v %v", c, err)
	}
	v, err := dst.OpenVerified(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(io.NewSectionReader(v, 0, v.Size()))
	v.Close()
	if !bytes.Equal(got, big) {
		t.Fatal("imported file differs")
	}
	var again bytes.Buffer
	if err := dst.ExportCAR(ctx, &again, root); err != nil || !bytes.Equal(again.Bytes(), car.Bytes()) {
		t.Fatalf("re-export differs from the first export (%v)", err)
	}
	if pins, _ := dst.Pins(ctx); len(pins) != 1 {
		t.Errorf("imported root not pinned: %v", pins)
	}

	// A CAR with one altered byte in a block is refused whole.
	bad := bytes.Clone(car.Bytes())
	i := bytes.Index(bad, big[2*chunk:2*chunk+64])
	bad[i+10] ^= 1
	other := Open(t, h.New(t))
	if _, err := other.ImportCAR(ctx, bytes.NewReader(bad)); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("import of an altered CAR: %v, want ErrCorrupt", err)
	}
	if ok, _ := other.Has(ctx, fa.CID); ok {
		t.Error("altered CAR left a file behind")
	}
}
