package hub

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	car "github.com/ipld/go-car/v2"

	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/store"
)

const chunk = store.ChunkSize

// gatewayFixture is a store holding a two-file release, served by the
// gateway alone (the rest of the hub is not needed for it).
type gatewayFixture struct {
	st      *store.Store
	dir     string
	srv     *httptest.Server
	root    store.FileInfo // the release directory (CID only)
	file    store.FileInfo
	content []byte
}

func newGatewayFixture(t *testing.T) *gatewayFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &gatewayFixture{st: st, dir: dir, content: testgen.Bytes(50, 4*chunk+77)}
	f.file = addBytes(t, st, f.content)
	cfg := addBytes(t, st, []byte("{}\n"))
	root, err := st.PutDir(ctx, []store.Entry{{Path: "model.safetensors", File: f.file}, {Path: "config.json", File: cfg}})
	if err != nil {
		t.Fatal(err)
	}
	f.root.CID = root
	f.srv = httptest.NewServer(GatewayHandler(&Hub{store: st}))
	t.Cleanup(f.srv.Close)
	return f
}

func addBytes(t *testing.T, st *store.Store, b []byte) store.FileInfo {
	t.Helper()
	s, err := st.Add(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s.Info
}

func (f *gatewayFixture) get(t *testing.T, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestGatewayCARReimportsByteForByte(t *testing.T) {
	ctx := context.Background()
	f := newGatewayFixture(t)
	resp, body := f.get(t, "/ipfs/"+f.root.CID.String()+"?format=car")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.ipld.car; version=1; order=dfs; dups=n" {
		t.Fatalf("CAR: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	var ours bytes.Buffer
	if err := f.st.ExportCAR(ctx, &ours, f.root.CID); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, ours.Bytes()) {
		t.Errorf("gateway CAR (%d bytes) differs from `potluck car export` (%d bytes)", len(body), ours.Len())
	}
	other, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ImportCAR(ctx, bytes.NewReader(body)); err != nil {
		t.Fatalf("re-import: %v", err)
	}
	v, err := other.OpenVerified(ctx, f.file.CID)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	got, _ := io.ReadAll(io.NewSectionReader(v, 0, v.Size()))
	if !bytes.Equal(got, f.content) {
		t.Fatal("re-imported file differs from the original")
	}
}

func TestGatewayRawRangeAndEntityBytes(t *testing.T) {
	f := newGatewayFixture(t)
	leaf, _ := store.HashFile(bytes.NewReader(f.content[chunk : 2*chunk]))
	resp, body := f.get(t, "/ipfs/"+leaf.CID.String()+"?format=raw")
	if resp.StatusCode != 200 || !bytes.Equal(body, f.content[chunk:2*chunk]) {
		t.Errorf("raw leaf: %s, %d bytes", resp.Status, len(body))
	}
	resp, body = f.get(t, "/ipfs/"+f.file.CID.String(), "Accept", "application/vnd.ipld.raw")
	if resp.StatusCode != 200 || len(body) == 0 || len(body) > 1000 {
		t.Errorf("raw root node: %s, %d bytes", resp.Status, len(body))
	}
	size := int64(len(f.content))
	for _, r := range [][2]int64{{0, 0}, {0, chunk - 1}, {chunk - 1, chunk}, {chunk, 3*chunk + 5}, {size - 1, size - 1}, {0, size - 1}} {
		resp, body = f.get(t, "/ipfs/"+f.root.CID.String()+"/model.safetensors", "Range", fmt.Sprintf("bytes=%d-%d", r[0], r[1]))
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, f.content[r[0]:r[1]+1]) {
			t.Errorf("Range %v: %s, %d bytes", r, resp.Status, len(body))
		}
	}
	resp, _ = f.get(t, "/ipfs/"+f.file.CID.String(), "Range", fmt.Sprintf("bytes=%d-", size))
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("Range past the end: %s, want 416", resp.Status)
	}
	// entity-bytes: a CAR with just the blocks for bytes [chunk+1, 2*chunk+1].
	resp, body = f.get(t, fmt.Sprintf("/ipfs/%s?format=car&dag-scope=entity&entity-bytes=%d:%d", f.file.CID, chunk+1, 2*chunk+1))
	if resp.StatusCode != 200 {
		t.Fatalf("entity-bytes CAR: %s", resp.Status)
	}
	br, err := car.NewBlockReader(bytes.NewReader(body)) // checks every block's hash
	if err != nil {
		t.Fatal(err)
	}
	var leaves int
	for {
		b, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Cid().Prefix().Codec == 0x55 {
			leaves++
		}
	}
	if leaves != 2 {
		t.Errorf("entity-bytes CAR has %d leaves, want the 2 the range touches", leaves)
	}
}

func TestGatewayRefusesAlteredBytes(t *testing.T) {
	f := newGatewayFixture(t)
	p := filepath.Join(f.dir, "files", f.file.CID.String())
	os.Chmod(p, 0o644)
	fh, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteAt([]byte{f.content[2*chunk+3] ^ 1}, 2*chunk+3)
	fh.Close()
	leaf, _ := store.HashFile(bytes.NewReader(f.content[2*chunk : 3*chunk]))
	if resp, _ := f.get(t, "/ipfs/"+leaf.CID.String()+"?format=raw"); resp.StatusCode == 200 {
		t.Error("altered leaf served with 200")
	}
	_, body := f.get(t, "/ipfs/"+f.file.CID.String())
	if bytes.Contains(body, f.content[2*chunk:2*chunk+64]) || bytes.Equal(body, f.content) {
		t.Error("altered chunk's bytes reached the client")
	}
	_, body = f.get(t, "/ipfs/"+f.root.CID.String()+"?format=car")
	other, _ := store.Open(t.TempDir(), store.Options{})
	defer other.Close()
	if _, err := other.ImportCAR(context.Background(), bytes.NewReader(body)); err == nil {
		t.Error("CAR over altered bytes imported cleanly")
	}
}
