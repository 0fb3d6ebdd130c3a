package store

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
)

// FuzzImportCAR feeds ImportCAR arbitrary bytes, starting from real CARs of
// a small file and a directory. A CAR is what a stranger hands the hub's
// gateway tooling, so any input must give a stored root that reads back
// byte for byte, or an error (ErrInvalid or ErrCorrupt for bad CARs), never
// a panic and never a root that does not verify.
func FuzzImportCAR(f *testing.F) {
	src, _ := openStore(f)
	ctx := context.Background()
	small := addCommit(f, src, testgen.Bytes(1, 300<<10)) // two leaves
	var buf bytes.Buffer
	if err := src.ExportCAR(ctx, &buf, small.CID); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	tiny := addCommit(f, src, []byte("hello"))
	root, err := src.PutDir(ctx, []Entry{{Path: "a.txt", File: tiny}, {Path: "b/c.bin", File: small}})
	if err != nil {
		f.Fatal(err)
	}
	buf.Reset()
	if err := src.ExportCAR(ctx, &buf, root); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte{})
	// One store for every input of this process: opening one costs far
	// more than an import, and what earlier inputs left in it must not
	// make a bad CAR pass either.
	dst, _ := openStore(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		roots, err := dst.ImportCAR(ctx, bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotFound) {
				t.Logf("import error of no known kind (allowed, but worth a look): %v", err)
			}
			return
		}
		for _, r := range roots {
			var out bytes.Buffer
			if err := dst.ExportCAR(ctx, &out, r); err != nil {
				t.Fatalf("root %s was imported but cannot be exported: %v", r, err)
			}
		}
	})
}
